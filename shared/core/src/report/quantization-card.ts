import type { SynthesisMethod, WEIGHT_QUANTIZER_METHODS, WeightQuantizerName } from '@dfq/contract';
import type { MixedPrecisionChoice } from '../analysis/mixed-precision.js';
/**
 * The quantization card of one run: every choice that trades accuracy for speed, and what it
 * measurably cost ("confounding tradeoffs": results only compare when all of these are stated).
 * Pure: the caller writes card.md and card.json.
 *
 * Convention: a measured figure that is null was not measured and renders as "not measured";
 * a setting that does not apply (weight bits of an add, accumulator of a pooling layer) is null
 * in its own field and renders as "—".
 */

export type CardGranularity = 'per-tensor' | 'per-channel';

export interface CardTensorScheme {
  granularity: CardGranularity;
  symmetric: boolean;
  /** Default bits (layers may differ: see CardLayer). */
  bits: number;
}

/** One layer's accumulator, as the overflow-aware fit (fitAccumulators' AccumulatorChoice) chose it. */
export interface CardAccumulator {
  /** The width the run asked for, and the one the layer got (32 where 16 cannot be made safe). */
  requestedBits: 16 | 32;
  bits: 16 | 32;
  /** Why this width, e.g. "fits without clipping", or why the layer fell back to 32. */
  reason: string | null;
  /** Provable bound on |accumulator| over every input on the calibrated grid. */
  worstCase: number | null;
  /** Largest |accumulator| seen when the integer executor ran (evaluation or calibration images). */
  observed: number | null;
  /** Outputs where the accumulator overflowed (must be 0). */
  overflows: number | null;
  /** The weight grid after fitting: largest |q| used, the one asked for, channels narrowed to fit. */
  maxLevel: number | null;
  requestedMaxLevel: number | null;
  clippedChannels: number | null;
}

export interface CardLayer {
  name: string;
  op: string;
  /** null: the layer has no weights. */
  weightBits: number | null;
  /** Bits of the layer's output activation; null: not quantized (grid-preserving op or logits). */
  activationBits: number | null;
  /** Calibrated range of the output activation. */
  activationRange: { min: number; max: number } | null;
  /** Largest |w - dequantized w| over the layer's weights. */
  weightMaxAbsError: number | null;
  /** SQNR of the output activation's quantization on the calibration values. */
  activationSqnrDb: number | null;
  /** The output activation's calibration values, binned (null: not quantized, or not recorded). */
  activationHistogram?: { low: number; high: number; counts: number[] } | null;
  /** null: the layer does no multiply-accumulate. */
  accumulator: CardAccumulator | null;
}

export interface CardWeightQuantizer {
  method: WeightQuantizerName;
  /** How a weight lands on its final level, as the quantizer's registration states it. */
  rounding: (typeof WEIGHT_QUANTIZER_METHODS)[WeightQuantizerName]['rounding'];
  /** The distillation that chose the levels; null for methods that do not train (rtn). */
  training: {
    /** softmax (PMF) or sparsemax (PGD). */
    projection: string;
    steps: number;
    batchSize: number;
    /** Synthetic images distilled on. */
    images: number;
    learningRate: number;
    /** β grown geometrically from start to end over the steps. */
    beta: { start: number; end: number } | null;
    /** e.g. "KL(teacher || student), T = 4". */
    distillationLoss: string;
    lossInitial: number | null;
    lossFinal: number | null;
    /** Share of weights whose level differs from round-to-nearest's. */
    changedFromNearest: number | null;
    /** Block reconstruction: each block's output error, round-to-nearest's beside the learned one. */
    blocks:
      | { output: string; layers: string[]; nearestError: number; error: number; seconds: number }[]
      | null;
  } | null;
}

export type CardFineTuning =
  | { kind: 'none' }
  | { kind: 'distillation'; images: number; steps: number; loss: string; learningRate: number | null };

export interface CardInput {
  run: { id: string | null; dfqVersion: string; startedAt: string; backend: string; seed: number };
  model: { name: string; params: number; bytesFp32: number; layers: number };
  scheme: {
    weights: CardTensorScheme;
    activations: CardTensorScheme;
    /** The layers kept at other precision, with their weight and input bits. */
    /** weightBits null: the layer is kept in float. */
    firstLayer: { name: string; weightBits: number | null; inputBits: number };
    lastLayer: { name: string; weightBits: number | null; inputBits: number };
    /** Layers kept in float (--keep-float) and per-layer bit overrides (--layer-bits), as asked. */
    keptFloat: string[];
    /** Tensors only residual adds read and their bits (--residual-bits; bits null: the activation bits). */
    residualInputs: { bits: number | null; tensors: string[] };
    layerBits: Record<string, { weightBits?: number; activationBits?: number }>;
    /** BatchNorm name -> the conv/dense it was folded into (as foldBatchNorm's `folded`). */
    foldedBatchNorm: Record<string, string>;
    /** BatchNorms left unfolded (kept in float). */
    unfoldedBatchNorm: string[];
    /** Activation name -> the layer it was fused into (as foldBatchNorm's `fusedActivations`). */
    fusedActivations: Record<string, string>;
  };
  weightQuantizer: CardWeightQuantizer;
  calibration: {
    /** Synthesis method that made the calibration images. */
    synthesis: SynthesisMethod;
    /** 'auto': the weight quantizer chose the method (`--synth auto`); 'option': the user did. */
    synthesisFrom: 'auto' | 'option';
    images: number;
    iterations: number;
    /** True only for the `real` baseline: then the card says real training images were used. */
    realData: boolean;
    rangeEstimator: string;
    /** How the image and iteration counts were chosen (the auto rule, or 'as asked'). */
    sizing: string;
    /** The memory plan: batch, estimated peak and budget. */
    memory: string;
  };
  fineTuning: CardFineTuning;
  /** Per-layer weight bits chosen under a size budget or an accuracy drop (null: uniform bits). */
  mixedPrecision: MixedPrecisionChoice | null;
  /** Rendered charts beside the card (paths relative to it); absent or empty: none. */
  charts?: { title: string; png: string; svg: string }[];
  layers: CardLayer[];
  /** The labelled set accuracies were measured on (real test images, evaluation only); null: none. */
  evaluation: { dataset: string; samples: number } | null;
  results: {
    fp32Accuracy: number | null;
    fakeQuantAccuracy: number | null;
    integerAccuracy: number | null;
    /** Share of evaluation images where the integer executor predicts what the fake-quantized model does. */
    integerAgreement: number | null;
    /** The stock-TF.js model with uint8 manifest weights, as `tf.loadLayersModel` dequantizes it. */
    tfjsUint8Accuracy: number | null;
    /** The ONNX QDQ export under ONNX Runtime, its agreement with the fake-quantized model, and ORT's latency. */
    onnxRuntimeAccuracy: number | null;
    onnxRuntimeAgreement: number | null;
    onnxRuntimeMsPerImage: { int8: number; fp32: number } | null;
    quantizedBytes: number | null;
    tfjsUint8Bytes: number | null;
  };
  /** Seconds per stage, in run order. */
  timings: { stage: string; seconds: number | null }[];
  peakRssBytes: number | null;
}

export interface CardDerived {
  /** Sum of the measured per-layer overflow counts (null: none measured). */
  totalOverflows: number | null;
  /** Layers with an accumulator whose overflow count was not measured. */
  overflowsNotMeasured: string[];
  /** Layers that asked for a 16-bit accumulator but got 32, and why. */
  accumulatorFallbacks: { layer: string; reason: string | null }[];
  /** Per layer: log2((2^(bits-1) - 1) / worst case), bits to spare (as AccumulatorChoice.headroomBits). */
  headroomBits: Record<string, number | null>;
  /** Accuracy lost against FP32, in points. */
  fakeQuantDrop: number | null;
  integerDrop: number | null;
  tfjsUint8Drop: number | null;
  onnxRuntimeDrop: number | null;
  compression: number | null;
  tfjsUint8Compression: number | null;
}

/**
 * card.json: the input (non-finite numbers such as the SQNR of an exact tensor become the strings
 * "Infinity", "-Infinity", "NaN", since JSON has no such numbers) plus the derived figures.
 */
export interface QuantizationCardJson {
  schema: 'dfq-quantization-card/1';
  card: unknown;
  derived: unknown;
}

const NM = 'not measured';
const NA = '—';

function derive(input: CardInput): CardDerived {
  let total = 0;
  let measured = 0;
  const notMeasured: string[] = [];
  const headroomBits: Record<string, number | null> = {};
  for (const layer of input.layers) {
    const acc = layer.accumulator;
    if (!acc) continue;
    if (acc.overflows === null) notMeasured.push(layer.name);
    else {
      total += acc.overflows;
      measured++;
    }
    headroomBits[layer.name] =
      acc.worstCase === null
        ? null
        : Math.log2((2 ** (acc.bits - 1) - 1) / Math.max(1, Math.abs(acc.worstCase)));
  }
  const r = input.results;
  const drop = (a: number | null) =>
    a === null || r.fp32Accuracy === null ? null : (r.fp32Accuracy - a) * 100;
  const ratio = (b: number | null) => (b === null || b === 0 ? null : input.model.bytesFp32 / b);
  return {
    totalOverflows: measured === 0 ? null : total,
    overflowsNotMeasured: notMeasured,
    accumulatorFallbacks: input.layers
      .filter((l) => l.accumulator?.requestedBits === 16 && l.accumulator.bits === 32)
      .map((l) => ({ layer: l.name, reason: l.accumulator?.reason ?? null })),
    headroomBits,
    fakeQuantDrop: drop(r.fakeQuantAccuracy),
    integerDrop: drop(r.integerAccuracy),
    tfjsUint8Drop: drop(r.tfjsUint8Accuracy),
    onnxRuntimeDrop: drop(r.onnxRuntimeAccuracy),
    compression: ratio(r.quantizedBytes),
    tfjsUint8Compression: ratio(r.tfjsUint8Bytes),
  };
}

// --- formatting -------------------------------------------------------------------------------

/** Plain numbers for a one-page card: 4 significant digits, exponent only when very large or small. */
function num(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? '∞' : '-∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  // Integers (counts, accumulator magnitudes) stay exact: they are compared with 2^15 and 2^31.
  if (Number.isInteger(x) && a < 1e15) return x.toLocaleString('en-US');
  if (a >= 1e6 || a < 1e-3) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}

const fixed1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : num(x));

const orNM = <T>(x: T | null, f: (v: T) => string): string => (x === null ? NM : f(x));
const pct = (x: number | null): string => orNM(x, (v) => `${(v * 100).toFixed(2)}%`);
const points = (x: number | null): string =>
  orNM(x, (v) => `${v >= 0 ? '-' : '+'}${Math.abs(v).toFixed(2)} pt`);
const bytes = (x: number | null): string =>
  orNM(x, (v) =>
    v < 1024 ** 2
      ? `${v.toLocaleString('en-US')} B (${(v / 1024).toFixed(1)} KiB)`
      : `${v.toLocaleString('en-US')} B (${(v / 1024 ** 2).toFixed(1)} MiB)`,
  );
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const seconds = (x: number | null): string => orNM(x, (v) => `${v.toFixed(1)} s`);

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function scheme(s: CardTensorScheme): string {
  return `${s.bits}-bit ${s.symmetric ? 'symmetric' : 'asymmetric'} ${s.granularity}`;
}

function pairs(map: Record<string, string>): string {
  const entries = Object.entries(map);
  return entries.length === 0 ? 'none' : entries.map(([from, into]) => `${from} → ${into}`).join(', ');
}

function quantizerText(q: CardWeightQuantizer): string[][] {
  const rows = [['method', q.method.toUpperCase()]];
  const t = q.training;
  if (!t) return [...rows, ['training', 'none (post-training rounding)']];
  rows.push(
    ['projection', t.projection],
    ['training', `${num(t.steps)} steps, batch ${num(t.batchSize)}, ${num(t.images)} synthetic images`],
    ['learning rate', num(t.learningRate)],
    ['β schedule', t.beta ? `${num(t.beta.start)} → ${num(t.beta.end)}, geometric over the steps` : NA],
    ['distillation loss', t.distillationLoss],
    ['loss first → last step', `${orNM(t.lossInitial, num)} → ${orNM(t.lossFinal, num)}`],
    ['weights moved off round-to-nearest', pct(t.changedFromNearest)],
  );
  for (const b of t.blocks ?? [])
    rows.push([
      `block ${b.output} (${b.layers.join(', ')})`,
      `output error ${num(b.nearestError)} (round-to-nearest) → ${num(b.error)}, ${num(b.seconds)} s`,
    ]);
  return rows;
}

function fineTuningText(f: CardFineTuning): string {
  return f.kind === 'none'
    ? 'none'
    : `data-free distillation on ${num(f.images)} synthetic images, ${num(f.steps)} steps, ${f.loss}` +
        (f.learningRate === null ? '' : `, lr ${num(f.learningRate)}`);
}

function gridText(acc: CardAccumulator): string {
  if (acc.maxLevel === null) return NM;
  if (acc.requestedMaxLevel === null || acc.maxLevel === acc.requestedMaxLevel) return `±${acc.maxLevel}`;
  return `±${acc.maxLevel} of ±${acc.requestedMaxLevel}, ${orNM(acc.clippedChannels, num)} ch narrowed`;
}

function layerRow(layer: CardLayer, headroom: number | null | undefined): string[] {
  const w = layer.weightBits !== null;
  const a = layer.activationBits !== null;
  const acc = layer.accumulator;
  return [
    layer.name,
    layer.op,
    w ? String(layer.weightBits) : NA,
    a ? String(layer.activationBits) : NA,
    a ? orNM(layer.activationRange, (r) => `[${num(r.min)}, ${num(r.max)}]`) : NA,
    w ? orNM(layer.weightMaxAbsError, num) : NA,
    a ? orNM(layer.activationSqnrDb, fixed1) : NA,
    acc ? String(acc.bits) : NA,
    acc ? gridText(acc) : NA,
    acc ? orNM(acc.worstCase, num) : NA,
    acc ? orNM(acc.observed, num) : NA,
    acc ? orNM(headroom ?? null, fixed1) : NA,
    acc ? orNM(acc.overflows, num) : NA,
  ];
}

function markdown(input: CardInput, d: CardDerived): string {
  const { model, scheme: s, results: r, calibration: c, run } = input;
  const evalNote = input.evaluation
    ? `Accuracies are top-1 on ${num(input.evaluation.samples)} images of ${input.evaluation.dataset}, read for evaluation only.`
    : 'No evaluation set was given: accuracies are not measured.';
  const accs = input.layers.flatMap((l) => (l.accumulator ? [l.accumulator] : []));
  const requested = [...new Set(accs.map((a) => a.requestedBits))].join('/') || NA;
  const at16 = accs.filter((a) => a.bits === 16).length;
  const fallbacks =
    d.accumulatorFallbacks.length === 0
      ? 'none'
      : d.accumulatorFallbacks.map((x) => `${x.layer} (${x.reason ?? 'no reason given'})`).join('; ');
  const withAcc = accs.length;
  const overflows =
    d.totalOverflows === null
      ? NM
      : `${num(d.totalOverflows)}` +
        (d.overflowsNotMeasured.length
          ? ` (not measured in ${plural(d.overflowsNotMeasured.length, 'layer')}: ${d.overflowsNotMeasured.join(', ')})`
          : ` in ${plural(withAcc, 'layer')}`);

  return [
    `# Quantization card: ${model.name}`,
    '',
    `dfq ${run.dfqVersion}${run.id ? `, run ${run.id}` : ''}, started ${run.startedAt}, backend ${run.backend}, seed ${run.seed}.`,
    '',
    '## Model',
    '',
    table(
      ['name', 'parameters', 'layers', 'FP32 size'],
      [[model.name, num(model.params), num(model.layers), bytes(model.bytesFp32)]],
    ),
    '',
    '## Measured effect',
    '',
    evalNote,
    '',
    table(
      ['model', 'top-1', 'vs FP32', 'size', 'compression'],
      [
        ['FP32', pct(r.fp32Accuracy), NA, bytes(model.bytesFp32), '1×'],
        [
          'fake-quantized (simulated)',
          pct(r.fakeQuantAccuracy),
          points(d.fakeQuantDrop),
          bytes(r.quantizedBytes),
          orNM(d.compression, (v) => `${v.toFixed(2)}×`),
        ],
        [
          'integer executor',
          pct(r.integerAccuracy),
          points(d.integerDrop),
          bytes(r.quantizedBytes),
          orNM(d.compression, (v) => `${v.toFixed(2)}×`),
        ],
        [
          'ONNX QDQ under ONNX Runtime (int8 weights, uint8 activations)',
          pct(r.onnxRuntimeAccuracy),
          points(d.onnxRuntimeDrop),
          bytes(r.quantizedBytes),
          orNM(d.compression, (v) => `${v.toFixed(2)}×`),
        ],
        [
          'stock TF.js, uint8 weights manifest (float compute)',
          pct(r.tfjsUint8Accuracy),
          points(d.tfjsUint8Drop),
          bytes(r.tfjsUint8Bytes),
          orNM(d.tfjsUint8Compression, (v) => `${v.toFixed(2)}×`),
        ],
      ],
    ),
    '',
    `Integer executor's agreement with the fake-quantized model: ${pct(r.integerAgreement)}; ONNX Runtime's: ${pct(r.onnxRuntimeAgreement)}` +
      (r.onnxRuntimeMsPerImage
        ? ` (ONNX Runtime CPU, ${r.onnxRuntimeMsPerImage.int8.toFixed(3)} ms per image int8 vs ${r.onnxRuntimeMsPerImage.fp32.toFixed(3)} ms FP32). `
        : '. ') +
      `Accumulator overflows: ${overflows}.`,
    '',
    '## Choices that trade accuracy for speed',
    '',
    table(
      ['choice', 'setting'],
      [
        ['weights', scheme(s.weights)],
        ['activations', scheme(s.activations)],
        [
          'first layer',
          `${s.firstLayer.name}: ${s.firstLayer.weightBits === null ? 'float' : `W${s.firstLayer.weightBits}`}, input A${s.firstLayer.inputBits}`,
        ],
        [
          'last layer',
          `${s.lastLayer.name}: ${s.lastLayer.weightBits === null ? 'float' : `W${s.lastLayer.weightBits}`}, input A${s.lastLayer.inputBits}`,
        ],
        [
          'residual-add inputs',
          s.residualInputs.bits === null
            ? 'at the activation bits (--residual-bits same)'
            : s.residualInputs.tensors.length
              ? `${s.residualInputs.tensors.join(', ')}: A${s.residualInputs.bits} (only adds read them; every layer's input keeps A${s.activations.bits})`
              : 'none in this model',
        ],
        [
          'layers kept in float',
          s.keptFloat.length
            ? `${s.keptFloat.join(', ')} (weights and outputs; no integer-only model is written)`
            : 'none',
        ],
        [
          'per-layer bits',
          Object.keys(s.layerBits).length
            ? Object.entries(s.layerBits)
                .map(([n, b]) =>
                  `${n}: ${b.weightBits !== undefined ? `W${b.weightBits}` : ''}${b.activationBits !== undefined ? ` A${b.activationBits}` : ''}`.trim(),
                )
                .join(', ')
            : 'none',
        ],
        ['BatchNorm folding', pairs(s.foldedBatchNorm)],
        ['BatchNorm kept in float', s.unfoldedBatchNorm.length ? s.unfoldedBatchNorm.join(', ') : 'none'],
        ['fused activations', pairs(s.fusedActivations)],
        [
          'accumulators',
          `${requested}-bit requested; ${plural(at16, 'layer')} at 16, ${plural(withAcc - at16, 'layer')} at 32; ` +
            `fell back to 32: ${fallbacks}`,
        ],
        ['weight rounding', input.weightQuantizer.rounding],
        ['fine-tuning', fineTuningText(input.fineTuning)],
      ],
    ),
    '',
    '### Weight quantizer',
    '',
    table(['setting', 'value'], quantizerText(input.weightQuantizer)),
    '',
    '## Calibration data',
    '',
    table(
      ['synthesis', 'images', 'iterations', 'data', 'range estimator'],
      [
        [
          c.synthesisFrom === 'auto'
            ? `${c.synthesis} (--synth auto: the images ${input.weightQuantizer.method} measured best on)`
            : c.synthesis,
          num(c.images),
          num(c.iterations),
          c.realData ? 'REAL training images (baseline, not data-free)' : 'no real data',
          c.rangeEstimator,
        ],
      ],
    ),
    '',
    `Sizing: ${c.sizing}. Memory: ${c.memory}.`,
    '',
    ...mixedPrecisionSection(input.mixedPrecision),
    ...chartsSection(input.charts ?? []),
    '## Per layer',
    '',
    'W grid: largest |q| after the accumulator fit. Headroom: log2(accumulator limit / worst case), ' +
      'in bits. "—": does not apply.',
    '',
    table(
      [
        'layer',
        'op',
        'W bits',
        'A bits',
        'A range',
        'W max err',
        'A SQNR dB',
        'acc bits',
        'W grid',
        'acc worst-case',
        'acc observed',
        'headroom',
        'overflows',
      ],
      input.layers.map((l) => layerRow(l, d.headroomBits[l.name])),
    ),
    '',
    '## Cost',
    '',
    table(
      ['stage', 'time'],
      [
        ...input.timings.map((t) => [t.stage, seconds(t.seconds)]),
        ['peak memory (RSS)', bytes(input.peakRssBytes)],
      ],
    ),
    '',
  ].join('\n');
}

/** Replaces non-finite numbers, which JSON cannot hold, by their names so card.json round-trips. */
function jsonSafe(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, jsonSafe(v)]),
    );
  return value;
}

/** The card of one run, as markdown (card.md) and JSON (card.json). */
export function writeQuantizationCard(input: CardInput): { markdown: string; json: QuantizationCardJson } {
  const derived = derive(input);
  return {
    markdown: markdown(input, derived),
    json: { schema: 'dfq-quantization-card/1', card: jsonSafe(input), derived: jsonSafe(derived) },
  };
}

/** The bits chosen per layer, the budget, and the measurements behind the choice. */
function mixedPrecisionSection(m: MixedPrecisionChoice | null): string[] {
  if (!m) return [];
  const candidates = [...new Set(m.layers.flatMap((l) => Object.keys(l.kl).map(Number)))].sort(
    (a, b) => a - b,
  );
  return [
    '## Mixed precision',
    '',
    `Weights ${num(m.bytes)} bytes against a budget of ${num(Math.floor(m.budgetBytes))} (uniform W4 ${num(m.uniformBytes.w4)}, W8 ${num(m.uniformBytes.w8)}, FP32 ${num(m.uniformBytes.fp32)}).`,
    `Bit operations per image ${m.bops.toPrecision(4)}${m.budgetBops === null ? '' : ` against a budget of ${m.budgetBops.toPrecision(4)}`} (uniform W4 ${m.uniformBops.w4.toPrecision(4)}, W8 ${m.uniformBops.w8.toPrecision(4)}; multiply-adds x weight bits x input activation bits).`,
    `Chosen by ${m.solver}: least summed KL of each layer quantized alone, measured on ${m.images} synthetic images held out of calibration. The whole model agrees with FP32 on ${(100 * m.agreement).toFixed(2)}% of them.`,
    '',
    table(
      [
        'layer',
        'parameters',
        'bits',
        ...candidates.map((b) => `KL alone at W${b}`),
        'Hessian trace / weight',
      ],
      m.layers.map((l) => [
        l.layer,
        num(l.parameters),
        String(l.bits),
        ...candidates.map((b) =>
          l.kl[b] === undefined ? 'not measured' : (l.kl[b] as number).toExponential(2),
        ),
        l.hessianTracePerWeight === null
          ? 'not measured (dfq analyze)'
          : l.hessianTracePerWeight.toExponential(2),
      ]),
    ),
    '',
  ];
}

/** Pictures as Markdown images (PNG, which every viewer shows), each with its SVG beside it. */
function chartsSection(charts: NonNullable<CardInput['charts']>): string[] {
  if (charts.length === 0) return [];
  return [
    '## Charts',
    '',
    ...charts.flatMap((c) => [`![${c.title}](${c.png})`, '', `${c.title} ([SVG](${c.svg}))`, '']),
  ];
}
