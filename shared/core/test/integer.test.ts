import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
// Module paths rather than the index, so this file loads whatever else in the package is mid-change.
import { selectBackend } from '../src/backend/select-backend.js';
import { calibrate } from '../src/calibration/calibrate.js';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import { DyadicRangeError, dyadicValue, rescale, toDyadic, toDyadicShared } from '../src/integer/dyadic.js';
import { dequantize, quantizeNormalized, quantizePixels } from '../src/integer/input-quantizer.js';
import { runInteger } from '../src/integer/integer-executor.js';
import { INTEGER_WEIGHTS_FILE, loadIntegerModel, saveIntegerModel } from '../src/integer/integer-export.js';
import {
  IntegerConversionError,
  type IntegerModel,
  integerInput,
  integerOutput,
  toIntegerModel,
} from '../src/integer/integer-model.js';
import { packedByteLength, packWeights, unpackWeights } from '../src/integer/weight-packing.js';
import { foldBatchNorm } from '../src/model/fold-batchnorm.js';
import type { Activation, GraphNode, InputNode, ModelGraph, Padding } from '../src/model/graph.js';
import { consumers } from '../src/model/graph.js';
import { GraphRunner } from '../src/model/graph-runner.js';
import { loadModel } from '../src/model/load-model.js';
import { dequantizeValue, quantizeValue } from '../src/quantization/activation-quantizer.js';
import { type BitPolicy, planQuantization } from '../src/quantization/quantization-plan.js';
import {
  activationFakeQuant,
  type QuantizedModel,
  quantizeModel,
} from '../src/quantization/quantize-model.js';
import { seededRandom } from '../src/util/rng.js';
import { EXAMPLE_MODEL, FASHION_MNIST_DIR } from './helpers.js';

beforeAll(async () => {
  await selectBackend('cpu');
});

/** round(acc · m / 2^shift), ties up, in exact BigInt arithmetic (floor division for negatives). */
function rescaleReference(acc: number, multiplier: number, shift: number): number {
  const p = BigInt(acc) * BigInt(multiplier) + (shift > 0 ? 1n << BigInt(shift - 1) : 0n);
  const d = 1n << BigInt(shift);
  let q = p / d;
  if (p % d !== 0n && p < 0n) q -= 1n;
  // Shift 0 has no half to add: the product is already an integer.
  return Number(q);
}

describe('dyadic numbers', () => {
  it('represents scales with a 22-bit multiplier to 2^-22 relative error', () => {
    const random = seededRandom(1);
    for (let i = 0; i < 2000; i++) {
      const scale = 10 ** (random() * 14 - 10);
      const d = toDyadic(scale);
      expect(d.multiplier).toBeGreaterThanOrEqual(2 ** 21);
      expect(d.multiplier).toBeLessThan(2 ** 22);
      expect(Number.isInteger(d.multiplier) && Number.isInteger(d.shift)).toBe(true);
      expect(Math.abs(dyadicValue(d) / scale - 1)).toBeLessThanOrEqual(2 ** -22);
    }
    expect(toDyadic(1)).toEqual({ multiplier: 2 ** 21, shift: 21 });
    expect(toDyadic(2 ** 21.5)).toEqual({ multiplier: Math.round(2 ** 21.5), shift: 0 });
  });

  it('rescales exactly as BigInt arithmetic does, over the whole int32 range', () => {
    const random = seededRandom(2);
    for (let i = 0; i < 20000; i++) {
      const acc = Math.floor(random() * 2 ** 32) - 2 ** 31;
      const d = toDyadic(10 ** (random() * 8 - 7));
      expect(rescale(acc, d)).toBe(rescaleReference(acc, d.multiplier, d.shift));
    }
    // Exact halves, where rounding rules differ: ties go up (toward +∞).
    const half = { multiplier: 2 ** 21, shift: 22 };
    expect([-3, -1, 1, 3].map((a) => rescale(a, half))).toEqual([-1, 0, 1, 2]);
    expect(rescale(2 ** 31 - 1, { multiplier: 2 ** 22 - 1, shift: 1 })).toBe(
      rescaleReference(2 ** 31 - 1, 2 ** 22 - 1, 1),
    );
  });

  it('refuses scales it cannot represent, and products beyond 2^53', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 22, 1e-14])
      expect(() => toDyadic(bad)).toThrow(DyadicRangeError);
    expect(() => rescale(2 ** 40, toDyadic(0.5))).toThrow(/2\^53/);
  });

  it('puts several scales on one shift, the largest with a full multiplier', () => {
    const { multipliers, shift } = toDyadicShared([0.7, 0.0031, 1.9]);
    expect(multipliers[2]).toBeGreaterThanOrEqual(2 ** 21);
    [0.7, 0.0031, 1.9].forEach((s, i) => {
      expect(Math.abs((multipliers[i] as number) / 2 ** shift - s)).toBeLessThanOrEqual(2 ** -shift);
    });
  });
});

describe('weight packing', () => {
  const random = seededRandom(3);
  const draw = (bits: number, n: number) =>
    Int32Array.from({ length: n }, () => {
      if (bits === 1) return random() < 0.5 ? -1 : 1;
      const max = bits === 2 ? 1 : 2 ** (bits - 1) - 1;
      return Math.floor(random() * (2 * max + 1)) - max;
    });

  for (const [bits, bytes] of [
    [1, 5],
    [2, 10],
    [3, 14],
    [4, 19],
    [5, 24],
    [6, 28],
    [7, 33],
    [8, 37],
    [12, 56],
    [16, 74],
  ] as const) {
    it(`round-trips ${bits}-bit weights in ${bytes} bytes for 37 values`, () => {
      const q = draw(bits, 37);
      // Every level, including both extremes, appears.
      if (bits > 1) q.set([-(bits === 2 ? 1 : 2 ** (bits - 1) - 1), bits === 2 ? 1 : 2 ** (bits - 1) - 1]);
      const packed = packWeights(q, bits);
      expect(packed.length).toBe(bytes);
      expect(packedByteLength(37, bits)).toBe(bytes);
      expect(Array.from(unpackWeights(packed, bits, 37))).toEqual(Array.from(q));
    });
  }

  it('reads weights stored wider than their bits (files from before every width packed tightly)', () => {
    for (const [bits, legacy, width] of [
      [3, 'int4', 4],
      [6, 'int8', 8],
      [11, 'int16', 16],
    ] as const) {
      const q = draw(bits, 37);
      // The older layout is this module's own layout at the wider width.
      const stored = packWeights(q, width);
      expect(Array.from(unpackWeights(stored, bits, 37, legacy))).toEqual(Array.from(q));
    }
    expect(() => unpackWeights(new Uint8Array(37), 6, 37, 'int4')).toThrow(/cannot be stored as int4/);
    expect(() => unpackWeights(new Uint8Array(37), 2, 37, 'binary1')).toThrow(/cannot be stored/);
  });

  it('refuses values off the grid', () => {
    expect(() => packWeights(Int32Array.from([1, 0]), 1)).toThrow(/±1/);
    expect(() => packWeights(Int32Array.from([2]), 2)).toThrow(/fit 2 bit/);
    expect(() => packWeights(Int32Array.from([-8]), 4)).toThrow(/fit 4 bit/);
  });
});

describe('input quantization', () => {
  const norm = { mean: [0.286], std: [0.353] };
  const grid = { scale: 0.0137, zeroPoint: 59, bits: 8 };

  it('maps uint8 pixels onto the grid with integers as the float quantizer does', () => {
    const pixels = Uint8Array.from({ length: 256 }, (_, p) => p);
    const q = quantizePixels(pixels, norm, grid);
    const params = { ...grid, bits: 8 };
    pixels.forEach((p, i) => {
      expect(q[i]).toBe(quantizeValue((p / 255 - 0.286) / 0.353, params));
    });
  });

  it('quantizes normalized floats as tf does, and per channel with per-channel statistics', () => {
    const x = Float32Array.from({ length: 300 }, (_, i) => (i - 150) / 37);
    const q = quantizeNormalized(x, grid);
    const fake = tf.tidy(() =>
      tf.tensor1d(x).div(grid.scale).round().add(grid.zeroPoint).clipByValue(0, 255),
    );
    expect(Array.from(q)).toEqual(Array.from(fake.dataSync()));
    fake.dispose();
    const rgbGrid = { scale: 0.031, zeroPoint: 70, bits: 8 };
    const rgbNorm = { mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3] };
    const rgb = quantizePixels(Uint8Array.from([255, 0, 128, 7, 255, 90]), rgbNorm, rgbGrid);
    const expected = [255, 0, 128, 7, 255, 90].map((p, i) =>
      quantizeValue((p / 255 - (rgbNorm.mean[i % 3] as number)) / (rgbNorm.std[i % 3] as number), rgbGrid),
    );
    expect(Array.from(rgb)).toEqual(expected);
  });
});

/** Random weights for a small graph; every layer gets a bias so the int32 bias path is exercised. */
function layers(seed: number) {
  const random = seededRandom(seed);
  const tensor = (shape: number[], spread = 1) => ({
    shape,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (random() * 2 - 1) * spread),
  });
  const conv = (
    name: string,
    input: string,
    [kh, kw, cin, cout]: [number, number, number, number],
    options: {
      strides?: [number, number];
      padding?: Padding;
      dilations?: [number, number];
      activation?: Activation;
    } = {},
  ): GraphNode => ({
    op: 'conv2d',
    name,
    inputs: [input],
    kernel: tensor([kh, kw, cin, cout], 1 / Math.sqrt(kh * kw * cin)),
    bias: tensor([cout], 0.2),
    strides: options.strides ?? [1, 1],
    padding: options.padding ?? 'same',
    dilations: options.dilations ?? [1, 1],
    activation: options.activation ?? 'linear',
  });
  const dense = (name: string, input: string, fin: number, fout: number): GraphNode => ({
    op: 'dense',
    name,
    inputs: [input],
    kernel: tensor([fin, fout], 1 / Math.sqrt(fin)),
    bias: tensor([fout], 0.2),
    activation: 'linear',
  });
  return { tensor, conv, dense };
}

function graphOf(name: string, shape: number[], nodes: GraphNode[]): ModelGraph {
  return {
    name,
    nodes: [{ op: 'input', name: 'input', inputs: [], shape }, ...nodes],
    inputName: 'input',
    outputName: (nodes[nodes.length - 1] as GraphNode).name,
    normalization: { mean: [0], std: [1] },
    metadata: {},
  };
}

const SMALL_GRAPHS: (() => ModelGraph)[] = [
  () => {
    const { conv, dense } = layers(11);
    return graphOf(
      'strided-valid-dilated',
      [13, 13, 3],
      [
        conv('c1', 'input', [3, 3, 3, 6], { strides: [2, 2], activation: 'relu' }),
        conv('c2', 'c1', [3, 3, 6, 8], { padding: 'valid', dilations: [2, 2], activation: 'relu6' }),
        conv('c3', 'c2', [2, 2, 8, 8], { padding: 'valid', strides: [1, 2] }),
        { op: 'flatten', name: 'flat', inputs: ['c3'] },
        dense('fc', 'flat', 2 * 1 * 8, 7),
      ],
    );
  },
  () => {
    const { tensor, conv, dense } = layers(12);
    return graphOf(
      'depthwise-pools',
      [12, 12, 4],
      [
        {
          op: 'depthwiseConv2d',
          name: 'dw',
          inputs: ['input'],
          kernel: tensor([3, 3, 4, 2], 1 / 3),
          bias: tensor([8], 0.2),
          strides: [1, 1],
          padding: 'same',
          dilations: [1, 1],
          activation: 'relu',
        },
        { op: 'maxPool', name: 'max', inputs: ['dw'], poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
        { op: 'avgPool', name: 'avg', inputs: ['max'], poolSize: [3, 3], strides: [1, 1], padding: 'same' },
        {
          op: 'depthwiseConv2d',
          name: 'dw2',
          inputs: ['avg'],
          kernel: tensor([3, 3, 8, 1], 1 / 3),
          bias: tensor([8], 0.2),
          strides: [2, 2],
          padding: 'valid',
          dilations: [1, 1],
          activation: 'linear',
        },
        { op: 'maxPool', name: 'max2', inputs: ['dw2'], poolSize: [2, 2], strides: [1, 1], padding: 'same' },
        conv('pw', 'max2', [1, 1, 8, 5], { activation: 'relu' }),
        { op: 'globalAvgPool', name: 'gap', inputs: ['pw'] },
        dense('fc', 'gap', 5, 6),
      ],
    );
  },
  () => {
    const { tensor, conv, dense } = layers(13);
    const bn = (name: string, input: string, c: number): GraphNode => ({
      op: 'batchNorm',
      name,
      inputs: [input],
      gamma: tensor([c]),
      beta: tensor([c], 0.5),
      movingMean: tensor([c], 0.3),
      movingVariance: { shape: [c], data: tensor([c]).data.map((v) => 0.5 + Math.abs(v)) },
      epsilon: 1e-3,
    });
    return graphOf(
      'residual-lookup',
      [8, 8, 3],
      [
        conv('a', 'input', [3, 3, 3, 6], { activation: 'relu' }),
        conv('b', 'a', [3, 3, 6, 6]),
        conv('s', 'input', [1, 1, 3, 6]),
        { op: 'add', name: 'add', inputs: ['b', 's'], activation: 'relu' },
        { op: 'add', name: 'add3', inputs: ['add', 'a', 'b'], activation: 'linear' },
        bn('bn', 'add3', 6),
        { op: 'activation', name: 'tanh', inputs: ['bn'], activation: 'tanh' },
        {
          op: 'zeroPad',
          name: 'pad',
          inputs: ['tanh'],
          padding: [
            [1, 2],
            [0, 1],
          ],
        },
        conv('c', 'pad', [3, 3, 6, 4], { strides: [2, 2], padding: 'valid' }),
        { op: 'activation', name: 'sig', inputs: ['c'], activation: 'sigmoid' },
        { op: 'identity', name: 'drop', inputs: ['sig'] },
        { op: 'globalAvgPool', name: 'gap', inputs: ['drop'] },
        dense('fc', 'gap', 4, 5),
      ],
    );
  },
];

/** Plan, calibrate (min-max on `images`) and quantize a float graph. */
function quantizeGraph(graph: ModelGraph, policy: BitPolicy, images: tf.Tensor4D): QuantizedModel {
  const plan = planQuantization(graph, policy);
  const runner = new GraphRunner(graph);
  try {
    const profile = calibrate(runner, images, plan.activationBits.keys(), (n) => ({
      bits: plan.activationBits.get(n) ?? 8,
    }));
    return quantizeModel(graph, plan, new Map(Object.entries(profile.ranges)));
  } finally {
    runner.dispose();
  }
}

interface Comparison {
  agreement: number;
  /** Largest and mean |integer logit - fake-quantized logit|, dequantized, relative to the largest |logit|. */
  maxError: number;
  meanError: number;
}

/** The integer executor against the fake-quantized GraphRunner, both fed the same integer input. */
function compare(
  quantized: QuantizedModel,
  model: IntegerModel,
  input: Int32Array,
  batch: number,
): Comparison {
  const inGrid = integerInput(model).grid;
  const out = integerOutput(model).grid;
  const { logits } = runInteger(model, input, batch);
  const runner = new GraphRunner(quantized.graph);
  const x = tf.tensor(Float32Array.from(dequantize(input, inGrid)), [batch, ...integerInput(model).shape]);
  const reference = runner.predict(x, activationFakeQuant(quantized));
  const ref = reference.dataSync();
  tf.dispose([x, reference]);
  runner.dispose();
  const values = dequantize(logits, out);
  const classes = values.length / batch;
  let agree = 0;
  let maxDiff = 0;
  let sumDiff = 0;
  let range = 0;
  for (let b = 0; b < batch; b++) {
    let mine = 0;
    let theirs = 0;
    for (let c = 0; c < classes; c++) {
      const i = b * classes + c;
      const diff = Math.abs((values[i] as number) - (ref[i] as number));
      maxDiff = Math.max(maxDiff, diff);
      sumDiff += diff;
      range = Math.max(range, Math.abs(ref[i] as number));
      if ((values[i] as number) > (values[b * classes + mine] as number)) mine = c;
      if ((ref[i] as number) > (ref[b * classes + theirs] as number)) theirs = c;
    }
    if (mine === theirs) agree++;
  }
  return { agreement: agree / batch, maxError: maxDiff / range, meanError: sumDiff / values.length / range };
}

describe('integer executor on small graphs, against the fake-quantized model', () => {
  for (const make of SMALL_GRAPHS) {
    const graph = make();
    for (const bits of [8, 4]) {
      it(`${graph.name}, W${bits}A${bits}: same predictions and logits`, () => {
        const shape = (graph.nodes[0] as InputNode).shape as [number, number, number];
        const calibration = tf.randomNormal([16, ...shape], 0, 1, 'float32', 5) as tf.Tensor4D;
        const quantized = quantizeGraph(
          graph,
          { weightBits: bits, activationBits: bits, firstLastBits: null, residualBits: null },
          calibration,
        );
        calibration.dispose();
        const model = toIntegerModel(quantized);
        const batch = 32;
        const test = tf.randomNormal([batch, ...shape], 0, 1.2, 'float32', 6);
        const input = quantizeNormalized(test.dataSync() as Float32Array, integerInput(model).grid);
        test.dispose();
        const result = compare(quantized, model, input, batch);
        // Every tensor is on the same grid in both; only float32 rounding ties may differ.
        expect(result.agreement).toBeGreaterThanOrEqual(0.95);
        expect(result.maxError).toBeLessThan(0.01);
        expect(result.meanError).toBeLessThan(0.001);
      });
    }
  }

  it('refuses a softmax inside the network and a tensor without a quantizer', () => {
    const { conv, dense } = layers(14);
    const graph = graphOf(
      'softmax-inside',
      [4, 4, 2],
      [
        conv('c', 'input', [3, 3, 2, 3]),
        { op: 'activation', name: 'soft', inputs: ['c'], activation: 'softmax' },
        { op: 'globalAvgPool', name: 'gap', inputs: ['soft'] },
        dense('fc', 'gap', 3, 2),
      ],
    );
    const images = tf.randomNormal([4, 4, 4, 2], 0, 1, 'float32', 7) as tf.Tensor4D;
    const quantized = quantizeGraph(
      graph,
      { weightBits: 8, activationBits: 8, firstLastBits: null, residualBits: null },
      images,
    );
    images.dispose();
    expect(() => toIntegerModel(quantized)).toThrow(IntegerConversionError);
    expect(() => toIntegerModel(quantized)).toThrow(/soft: softmax is only supported as the final layer/);
    const plain = {
      ...quantized,
      graph: { ...quantized.graph, nodes: quantized.graph.nodes.filter((n) => n.name !== 'soft') },
    };
    plain.graph.nodes = plain.graph.nodes.map((n) => (n.name === 'gap' ? { ...n, inputs: ['c'] } : n));
    expect(toIntegerModel(plain).nodes.map((n) => n.op)).toEqual([
      'input',
      'conv2d',
      'globalAvgPool',
      'dense',
    ]);
    const noGap = { ...plain, activations: new Map([...plain.activations].filter(([n]) => n !== 'gap')) };
    expect(() => toIntegerModel(noGap)).toThrow(/gap \(globalAvgPool\) has no activation quantizer/);
  });
});

describe('16-bit accumulators', () => {
  /** input [4] on the grid q = x (scale 1, zero point 0) -> dense 4 -> 2, no bias. */
  function overflowModel(accumulatorBits: 16 | 32): IntegerModel {
    const graph = graphOf(
      'overflow',
      [4],
      [
        {
          op: 'dense',
          name: 'fc',
          inputs: ['input'],
          // Channel 0: all weights at the top level (127); channel 1: small ones.
          kernel: { shape: [4, 2], data: Float32Array.from([1, 1, 1, -0.5, 1, 0.25, 1, 1]) },
          activation: 'linear',
        },
      ],
    );
    const plan = planQuantization(graph, {
      weightBits: 8,
      activationBits: 8,
      firstLastBits: null,
      residualBits: null,
    });
    const quantized = quantizeModel(graph, plan, new Map([['input', { min: 0, max: 255 }]]));
    return toIntegerModel(quantized, new Map([['fc', accumulatorBits]]));
  }

  it('counts an exact sum beyond 16 bits as an overflow and wraps it as two’s complement', () => {
    const input = new Int32Array(8).fill(255);
    input.set([0, 0, 0, 0], 4);
    const narrowModel = overflowModel(16);
    const narrow = runInteger(narrowModel, input, 2);
    // 4 · 127 · 255 = 129540 ≡ -1532 (mod 2^16); channel 1: 255 · (127 - 64 + 32 + 127) = 56610 ≡ -8926.
    const sums = [4 * 127 * 255, 255 * (127 - 64 + 32 + 127)];
    const wrapped = [-1532, -8926];
    // Logits sit on s_in · max s_w / 2^k (here s_w = 1/127 for both channels): sums times 2^k.
    const step = Math.fround(1 / 127) / integerOutput(narrowModel).grid.scale;
    expect(Math.log2(step) % 1).toBe(0);
    expect(Array.from(narrow.logits)).toEqual([...wrapped.map((v) => v * step), 0, 0]);
    expect(narrow.overflows.get('fc')).toBe(2);
    expect(narrow.maxAbsAccumulator.get('fc')).toBe(129540);
    const wideModel = overflowModel(32);
    const wide = runInteger(wideModel, input, 2);
    expect(Array.from(wide.logits)).toEqual([...sums.map((v) => v * step), 0, 0]);
    expect(wide.overflows.get('fc')).toBe(0);
    // Dequantized, the wide sum is the float one: 4 · 255 · 1.
    expect(dequantize(wide.logits, integerOutput(wideModel).grid)[0]).toBeCloseTo(1020, 3);
  });
});

describe('the example model', () => {
  let folded: ModelGraph;
  let normalization: ModelGraph['normalization'];
  let pixels: Uint8Array;
  const batch = 64;

  beforeAll(async () => {
    const { graph } = await loadModel(EXAMPLE_MODEL);
    folded = foldBatchNorm(graph).graph;
    normalization = graph.normalization;
    // Real test images when Debian's dataset package is installed, else seeded noise pixels.
    try {
      const set = await loadFashionMnist(FASHION_MNIST_DIR, 'test');
      pixels = set.images.subarray(0, batch * 28 * 28);
    } catch {
      const random = seededRandom(8);
      pixels = Uint8Array.from({ length: batch * 28 * 28 }, () => Math.floor(random() * 256));
    }
  });

  const quantizeExample = (policy: BitPolicy) => {
    const noise = tf.randomNormal([8, 28, 28, 1], 0, 1, 'float32', 9) as tf.Tensor4D;
    const quantized = quantizeGraph(folded, policy, noise);
    noise.dispose();
    return quantized;
  };

  for (const bits of [8, 4]) {
    it(`W${bits}A${bits}: the integer model predicts what the fake-quantized model does`, () => {
      const quantized = quantizeExample({
        weightBits: bits,
        activationBits: bits,
        firstLastBits: null,
        residualBits: null,
      });
      const model = toIntegerModel(quantized);
      const input = quantizePixels(pixels, normalization, integerInput(model).grid);
      const result = compare(quantized, model, input, batch);
      expect(result.agreement).toBeGreaterThanOrEqual(0.99);
      expect(result.maxError).toBeLessThan(0.02);
      expect(result.meanError).toBeLessThan(0.001);
      const { overflows } = runInteger(model, input.subarray(0, 28 * 28), 1);
      expect([...overflows.values()].every((n) => n === 0)).toBe(true);
    });
  }

  it('W4A4 with 8-bit residual-add inputs: only the branch outputs an add alone reads widen, and the integer model follows', () => {
    const policy = { weightBits: 4, activationBits: 4, firstLastBits: null, residualBits: 8 };
    const plan = planQuantization(folded, policy);
    const readers = consumers(folded);
    const byName = new Map(folded.nodes.map((n) => [n.name, n]));
    const widened = [...plan.activationBits].filter(([, bits]) => bits === 8).map(([name]) => name);
    // The example's residual branches: each block's second conv, and the strided blocks' shortcuts.
    expect(widened.sort()).toEqual(
      [
        'layer1_0_b_conv',
        'layer2_0_b_conv',
        'layer2_0_sc_conv',
        'layer3_0_b_conv',
        'layer3_0_sc_conv',
      ].sort(),
    );
    for (const name of widened)
      expect((readers.get(name) ?? []).every((r) => byName.get(r)?.op === 'add')).toBe(true);
    // Every tensor a layer multiplies (conv and dense inputs) stays at 4 bits.
    for (const node of folded.nodes.filter((n) => n.op === 'conv2d' || n.op === 'dense'))
      for (const input of node.inputs) expect(plan.activationBits.get(input) ?? 4).toBe(4);

    const quantized = quantizeExample(policy);
    const model = toIntegerModel(quantized);
    const input = quantizePixels(pixels, normalization, integerInput(model).grid);
    expect(compare(quantized, model, input, batch).agreement).toBeGreaterThanOrEqual(0.99);
  });

  it('saves and loads an integer model exactly (4-bit layers, 8-bit edges, ternary)', async () => {
    const quantized = quantizeExample({
      weightBits: 4,
      activationBits: 4,
      firstLastBits: 8,
      residualBits: null,
    });
    const model = toIntegerModel(quantized, new Map([['layer3_0_sc_conv', 16]]));
    const dir = await mkdtemp(join(tmpdir(), 'dfq-integer-'));
    await saveIntegerModel(model, dir);
    const loaded = await loadIntegerModel(dir);
    expect(loaded).toEqual(model);
    const input = quantizePixels(pixels.subarray(0, 4 * 28 * 28), normalization, integerInput(model).grid);
    expect(runInteger(loaded, input, 4)).toEqual(runInteger(model, input, 4));

    // Ternary weights: 2 bits each; and a truncated weights file is refused.
    const ternary = toIntegerModel(
      quantizeExample({ weightBits: 2, activationBits: 8, firstLastBits: 8, residualBits: null }),
    );
    const tdir = await mkdtemp(join(tmpdir(), 'dfq-integer-'));
    await saveIntegerModel(ternary, tdir);
    expect(await loadIntegerModel(tdir)).toEqual(ternary);
    const json = JSON.parse(await readFile(join(tdir, 'integer-model.json'), 'utf8'));
    const layer = json.nodes.find((n: { name: string }) => n.name === 'layer2_0_b_conv');
    expect(layer.weights).toMatchObject({ encoding: 'ternary2', bytes: Math.ceil((3 * 3 * 32 * 32) / 4) });
    expect(layer.multipliers).toHaveLength(32);
    const bin = await readFile(join(tdir, INTEGER_WEIGHTS_FILE));
    await writeFile(join(tdir, INTEGER_WEIGHTS_FILE), bin.subarray(0, bin.length - 8));
    await expect(loadIntegerModel(tdir)).rejects.toThrow(/truncated/);
  });
});

describe('float helpers used above', () => {
  it('dequantize matches the scalar dequantizer', () => {
    const grid = { scale: 0.3, zeroPoint: 4, bits: 4 };
    expect(Array.from(dequantize([0, 4, 15], grid))).toEqual([0, 4, 15].map((q) => dequantizeValue(q, grid)));
  });
});
