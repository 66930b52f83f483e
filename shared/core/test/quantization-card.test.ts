import { describe, expect, it } from 'vitest';
import { type CardInput, type CardLayer, writeQuantizationCard } from '../src/index.js';

const layers: CardLayer[] = [
  {
    name: 'stem_conv',
    op: 'conv2d',
    weightBits: 8,
    activationBits: 8,
    activationRange: { min: 0, max: 6.25 },
    weightMaxAbsError: 0.00123,
    activationSqnrDb: 38.46,
    accumulator: {
      requestedBits: 16,
      bits: 16,
      reason: '3 channel(s) narrowed to as few as ±100 levels',
      worstCase: 30_000,
      observed: 4096,
      overflows: 0,
      maxLevel: 127,
      requestedMaxLevel: 127,
      clippedChannels: 3,
    },
  },
  {
    name: 'block1_conv2',
    op: 'conv2d',
    weightBits: 4,
    activationBits: 4,
    activationRange: { min: -3.5, max: 4 },
    weightMaxAbsError: 0.0456,
    activationSqnrDb: Number.POSITIVE_INFINITY,
    accumulator: {
      requestedBits: 16,
      bits: 32,
      reason: 'channel 5 would need fewer than 4 levels to fit 16 bits',
      worstCase: 1_048_576,
      observed: 70_000,
      overflows: 0,
      maxLevel: 7,
      requestedMaxLevel: 7,
      clippedChannels: 0,
    },
  },
  {
    name: 'block1_add',
    op: 'add',
    weightBits: null,
    activationBits: 8,
    activationRange: { min: 0, max: 9 },
    weightMaxAbsError: null,
    activationSqnrDb: null,
    accumulator: null,
  },
  {
    name: 'dense',
    op: 'dense',
    weightBits: 8,
    activationBits: null,
    activationRange: null,
    weightMaxAbsError: 0.0021,
    activationSqnrDb: null,
    accumulator: {
      requestedBits: 16,
      bits: 16,
      reason: 'fits without clipping',
      worstCase: 20_000,
      observed: null,
      overflows: null,
      maxLevel: 100,
      requestedMaxLevel: 127,
      clippedChannels: 2,
    },
  },
];

function input(overrides: Partial<CardInput> = {}): CardInput {
  return {
    run: { id: 'run-42', dfqVersion: '0.1.0', startedAt: '2025-01-01T00:00:00Z', backend: 'wasm', seed: 7 },
    model: { name: 'resnet8_fmnist', params: 78_426, bytesFp32: 313_704, layers: 33 },
    scheme: {
      weights: { granularity: 'per-channel', symmetric: true, bits: 4 },
      activations: { granularity: 'per-tensor', symmetric: false, bits: 4 },
      firstLayer: { name: 'stem_conv', weightBits: 8, inputBits: 8 },
      lastLayer: { name: 'dense', weightBits: 8, inputBits: 8 },
      keptFloat: [],
      residualInputs: { bits: 8, tensors: ['block_b_conv'] },
      layerBits: { block1_conv2: { weightBits: 6 } },
      foldedBatchNorm: { stem_bn: 'stem_conv', block1_bn2: 'block1_conv2' },
      unfoldedBatchNorm: [],
      fusedActivations: { stem_relu: 'stem_conv' },
    },
    weightQuantizer: {
      method: 'pmf',
      rounding: 'argmax',
      training: {
        projection: 'softmax',
        steps: 400,
        batchSize: 64,
        images: 64,
        learningRate: 0.005,
        beta: { start: 1, end: 300 },
        distillationLoss: 'KL(fp32 || student), T = 4',
        lossInitial: 0.4213,
        lossFinal: 0.0321,
        changedFromNearest: 0.031,
        blocks: null,
      },
    },
    calibration: {
      synthesis: 'direct',
      synthesisFrom: 'option',
      images: 64,
      iterations: 200,
      realData: false,
      rangeEstimator: 'mse',
      sizing: 'small model: auto is 64 images x 200 iterations',
      memory: 'batches of 64, estimated synthesis peak 420 MiB of a 8000 MiB budget',
    },
    fineTuning: { kind: 'none' },
    mixedPrecision: null,
    layers,
    evaluation: { dataset: 'fashion-mnist/t10k', samples: 10_000 },
    results: {
      fp32Accuracy: 0.9172,
      fakeQuantAccuracy: 0.9031,
      integerAccuracy: 0.9029,
      integerAgreement: 0.9987,
      tfjsUint8Accuracy: 0.9168,
      onnxRuntimeAccuracy: 0.9027,
      onnxRuntimeAgreement: 0.9981,
      onnxRuntimeMsPerImage: { int8: 0.12, fp32: 0.2 },
      quantizedBytes: 45_000,
      tfjsUint8Bytes: 78_426,
    },
    timings: [
      { stage: 'synthesis', seconds: 41.27 },
      { stage: 'calibration', seconds: 3.5 },
      { stage: 'quantization', seconds: null },
    ],
    peakRssBytes: 512 * 1024 * 1024,
    ...overrides,
  };
}

/** The markdown table row of a layer, split into its cells. */
function rowOf(markdown: string, layer: string): string[] {
  const line = markdown.split('\n').find((l) => l.startsWith(`| ${layer} |`));
  expect(line, layer).toBeDefined();
  return (line as string).split(' | ').map((c) => c.replace(/^\| | \|$/g, ''));
}

describe('writeQuantizationCard', () => {
  it('renders one row per layer with its bits, range, error and accumulator figures', () => {
    const { markdown } = writeQuantizationCard(input());
    expect(rowOf(markdown, 'stem_conv')).toEqual([
      'stem_conv',
      'conv2d',
      '8',
      '8',
      '[0, 6.25]',
      '0.00123',
      '38.5',
      '16',
      '±127',
      '30,000',
      '4,096',
      // Headroom against the worst case: log2(32767 / 30000).
      '0.1',
      '0',
    ]);
    const fallback = rowOf(markdown, 'block1_conv2');
    expect(fallback.slice(2, 9)).toEqual(['4', '4', '[-3.5, 4]', '0.0456', '∞', '32', '±7']);
    // log2((2^31 - 1) / 2^20) = 11.0 spare bits on the 32-bit accumulator.
    expect(fallback.slice(9)).toEqual(['1,048,576', '70,000', '11.0', '0']);
    // No weights, no accumulator: "does not apply", not "not measured".
    expect(rowOf(markdown, 'block1_add')).toEqual([
      'block1_add',
      'add',
      '—',
      '8',
      '[0, 9]',
      '—',
      'not measured',
      '—',
      '—',
      '—',
      '—',
      '—',
      '—',
    ]);
    expect(rowOf(markdown, 'dense').slice(7)).toEqual([
      '16',
      '±100 of ±127, 2 ch narrowed',
      '20,000',
      'not measured',
      '0.7',
      'not measured',
    ]);
  });

  it('states the choices, the data and the measured figures', () => {
    const { markdown } = writeQuantizationCard(input());
    for (const text of [
      '# Quantization card: resnet8_fmnist',
      'run run-42',
      '| 4-bit symmetric per-channel |',
      '| 4-bit asymmetric per-tensor |',
      'stem_conv: W8, input A8',
      '| layers kept in float | none |',
      '| per-layer bits | block1_conv2: W6 |',
      'dense: W8, input A8',
      'stem_bn → stem_conv, block1_bn2 → block1_conv2',
      'stem_relu → stem_conv',
      '16-bit requested; 2 layers at 16, 1 layer at 32; fell back to 32: block1_conv2 (channel 5 would need fewer than 4 levels to fit 16 bits)',
      '| weight rounding | argmax |',
      '| fine-tuning | none |',
      '| method | PMF |',
      '| projection | softmax |',
      '| training | 400 steps, batch 64, 64 synthetic images |',
      '| learning rate | 0.005 |',
      '| β schedule | 1 → 300, geometric over the steps |',
      'KL(fp32 \\|\\| student), T = 4',
      '| loss first → last step | 0.4213 → 0.0321 |',
      "| residual-add inputs | block_b_conv: A8 (only adds read them; every layer's input keeps A4) |",
      '| weights moved off round-to-nearest | 3.10% |',
      '| direct | 64 | 200 | no real data | mse |',
      'Sizing: small model: auto is 64 images x 200 iterations. Memory: batches of 64, estimated synthesis peak 420 MiB of a 8000 MiB budget.',
      'top-1 on 10,000 images of fashion-mnist/t10k, read for evaluation only',
      '| FP32 | 91.72% | — | 313,704 B (306.4 KiB) | 1× |',
      '| fake-quantized (simulated) | 90.31% | -1.41 pt |',
      '| integer executor | 90.29% | -1.43 pt | 45,000 B (43.9 KiB) | 6.97× |',
      '| stock TF.js, uint8 weights manifest (float compute) | 91.68% | -0.04 pt | 78,426 B (76.6 KiB) | 4.00× |',
      '| ONNX QDQ under ONNX Runtime (int8 weights, uint8 activations) | 90.27% | -1.45 pt | 45,000 B (43.9 KiB) | 6.97× |',
      "Integer executor's agreement with the fake-quantized model: 99.87%; ONNX Runtime's: 99.81% (ONNX Runtime CPU, 0.120 ms per image int8 vs 0.200 ms FP32).",
      'Accumulator overflows: 0 (not measured in 1 layer: dense).',
      '| synthesis | 41.3 s |',
      '| quantization | not measured |',
      '| peak memory (RSS) | 536,870,912 B (512.0 MiB) |',
    ]) {
      expect(markdown).toContain(text);
    }
  });

  it('says "not measured" for every missing figure and never invents one', () => {
    const { markdown, json } = writeQuantizationCard(
      input({
        evaluation: null,
        results: {
          fp32Accuracy: null,
          fakeQuantAccuracy: null,
          integerAccuracy: null,
          integerAgreement: null,
          tfjsUint8Accuracy: null,
          onnxRuntimeAccuracy: null,
          onnxRuntimeAgreement: null,
          onnxRuntimeMsPerImage: null,
          quantizedBytes: null,
          tfjsUint8Bytes: null,
        },
        layers: layers.map((l) =>
          l.accumulator ? { ...l, accumulator: { ...l.accumulator, overflows: null } } : l,
        ),
        peakRssBytes: null,
        fineTuning: { kind: 'distillation', images: 256, steps: 500, loss: 'KD T=20', learningRate: null },
      }),
    );
    expect(markdown).toContain('No evaluation set was given: accuracies are not measured.');
    expect(markdown).toContain('| FP32 | not measured | — | 313,704 B (306.4 KiB) | 1× |');
    expect(markdown).toContain(
      '| integer executor | not measured | not measured | not measured | not measured |',
    );
    expect(markdown).toContain(
      "Integer executor's agreement with the fake-quantized model: not measured; ONNX Runtime's: not measured.",
    );
    expect(markdown).toContain('Accumulator overflows: not measured.');
    expect(markdown).toContain('| peak memory (RSS) | not measured |');
    expect(markdown).toContain('data-free distillation on 256 synthetic images, 500 steps, KD T=20');
    expect(markdown).not.toMatch(/NaN|undefined|null/);
    expect(json.derived).toMatchObject({ totalOverflows: null, fakeQuantDrop: null, compression: null });
  });

  it('flags real calibration data and an untrained quantizer', () => {
    const { markdown } = writeQuantizationCard(
      input({
        calibration: {
          synthesis: 'real',
          synthesisFrom: 'option',
          images: 64,
          iterations: 0,
          realData: true,
          rangeEstimator: 'minmax',
          sizing: 'images and iterations as asked',
          memory: 'batches of 64',
        },
        weightQuantizer: { method: 'rtn', rounding: 'round-half-even', training: null },
      }),
    );
    expect(markdown).toContain('REAL training images (baseline, not data-free)');
    expect(markdown).toContain('| training | none (post-training rounding) |');
    expect(markdown).toContain('| weight rounding | round-half-even |');
  });

  it('says when --synth auto chose the images, and for which quantizer', () => {
    const base = input();
    const auto = writeQuantizationCard(
      input({ calibration: { ...base.calibration, synthesis: 'zeroq', synthesisFrom: 'auto' } }),
    ).markdown;
    expect(auto).toContain(
      `| zeroq (--synth auto: the images ${base.weightQuantizer.method} measured best on) |`,
    );
    expect(writeQuantizationCard(base).markdown).not.toContain('--synth auto');
  });

  it('states the mixed-precision choice, its budget and the measurements behind it', () => {
    const mixed = {
      bits: { stem_conv: 8, block1_conv2: 4 },
      layers: [
        {
          layer: 'stem_conv',
          bits: 8,
          parameters: 144,
          kl: { 2: 0.06, 4: 2e-4, 8: 4e-7 },
          hessianTracePerWeight: 0.05,
        },
        {
          layer: 'block1_conv2',
          bits: 4,
          parameters: 2304,
          kl: { 2: 0.02, 4: 1e-4, 8: 3e-7 },
          hessianTracePerWeight: 1e-3,
        },
      ],
      budgetBytes: 1300.5,
      bytes: 1296,
      uniformBytes: { w4: 1224, w8: 2448, fp32: 9792 },
      bops: 2.5e7,
      uniformBops: { w4: 2.0e7, w8: 4.0e7 },
      budgetBops: 3.0e7,
      images: 16,
      estimatedKl: 1.004e-4,
      agreement: 0.9921,
      searched: [],
      frontier: [],
      solver: 'HiGHS',
      seconds: 3,
    };
    const { markdown } = writeQuantizationCard(input({ mixedPrecision: mixed }));
    expect(markdown).toContain('## Mixed precision');
    expect(markdown).toContain('Weights 1,296 bytes against a budget of 1,300 (uniform W4 1,224, W8 2,448');
    expect(markdown).toContain('agrees with FP32 on 99.21%');
    expect(markdown).toContain('Bit operations per image 2.500e+7 against a budget of 3.000e+7');
    expect(markdown).toContain('measured on 16 synthetic images held out of calibration');
    expect(markdown).toContain('| block1_conv2 | 2,304 | 4 | 2.00e-2 | 1.00e-4 | 3.00e-7 | 1.00e-3 |');
    expect(writeQuantizationCard(input()).markdown).not.toContain('## Mixed precision');
  });

  it('writes JSON that round-trips, infinite figures included', () => {
    const { json } = writeQuantizationCard(input());
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    const card = json.card as CardInput;
    expect(card.layers[1]?.activationSqnrDb).toBe('Infinity');
    expect(card.results.fp32Accuracy).toBe(0.9172);
    expect(json.derived).toMatchObject({
      totalOverflows: 0,
      overflowsNotMeasured: ['dense'],
      accumulatorFallbacks: [
        { layer: 'block1_conv2', reason: 'channel 5 would need fewer than 4 levels to fit 16 bits' },
      ],
    });
  });
});
