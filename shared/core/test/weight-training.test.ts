import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  activationFakeQuant,
  affineParams,
  fakeQuantizeSte,
  fitAccumulators,
  GraphRunner,
  type ModelGraph,
  planQuantization,
  quantizeModel,
  seededRandom,
  selectBackend,
  sparsemax,
  trainMeanField,
  worstCaseAccumulator,
} from '../src/index.js';

beforeAll(async () => {
  await selectBackend('cpu');
});

describe('sparsemax', () => {
  it('projects onto the simplex: sums to one, sparse, equal to the closed form on a known case', () => {
    const z = tf.tensor2d([
      [0.1, 1.2, 0.3],
      [5, 0, 0],
      [0.2, 0.2, 0.2],
    ]);
    const p = sparsemax(z).arraySync();
    // Row 1: support {1.2, 0.3}: tau = (1.5 - 1) / 2 = 0.25.
    expect(p[0]?.[0]).toBeCloseTo(0, 6);
    expect(p[0]?.[1]).toBeCloseTo(0.95, 6);
    expect(p[0]?.[2]).toBeCloseTo(0.05, 6);
    expect(p[1]).toEqual([1, 0, 0]);
    for (const v of p[2] as number[]) expect(v).toBeCloseTo(1 / 3, 6);
  });

  it('has the gradient finite differences give', () => {
    const random = seededRandom(3);
    const z = Array.from({ length: 12 }, () => random() * 2 - 1);
    const weights = tf.tensor2d(
      Array.from({ length: 12 }, () => random()),
      [3, 4],
    );
    const f = (x: tf.Tensor2D) => tf.sum(tf.mul(sparsemax(x), weights));
    const grad = tf
      .grad(f)(tf.tensor2d(z, [3, 4]))
      .dataSync();
    const h = 1e-3;
    z.forEach((_, i) => {
      const plus = z.slice();
      const minus = z.slice();
      plus[i] = (plus[i] as number) + h;
      minus[i] = (minus[i] as number) - h;
      const numeric =
        ((f(tf.tensor2d(plus, [3, 4])).dataSync()[0] as number) -
          (f(tf.tensor2d(minus, [3, 4])).dataSync()[0] as number)) /
        (2 * h);
      expect(grad[i]).toBeCloseTo(numeric, 3);
    });
  });
});

describe('straight-through fake quantization', () => {
  it('rounds in the forward pass and passes gradients only inside the range', () => {
    const p = affineParams({ min: 0, max: 1.5 }, 4);
    const x = tf.tensor1d([-0.5, 0.33, 0.71, 1.2, 2]);
    expect(Array.from(fakeQuantizeSte(x, p).dataSync())).toEqual(
      Array.from(tf.round(x.div(p.scale)).clipByValue(0, 15).mul(p.scale).dataSync()),
    );
    expect(
      Array.from(
        tf
          .grad((v: tf.Tensor) => tf.sum(fakeQuantizeSte(v, p)))(x)
          .dataSync(),
      ),
    ).toEqual([0, 1, 1, 1, 0]);
  });
});

describe('worst-case accumulator bound', () => {
  it('equals the brute-force maximum over every input on the grid', () => {
    const input = affineParams({ min: -1, max: 2 }, 2);
    const q = Int32Array.from([3, -2, 1, -1]);
    const bound = worstCaseAccumulator(q, 1, () => 0, input)[0];
    let brute = 0;
    for (let code = 0; code < 4 ** q.length; code++) {
      let acc = 0;
      let rest = code;
      q.forEach((w) => {
        acc += w * ((rest % 4) - input.zeroPoint);
        rest = Math.floor(rest / 4);
      });
      brute = Math.max(brute, Math.abs(acc));
    }
    expect(bound).toBe(brute);
  });
});

/** conv (8 -> 16 channels, 3x3) -> relu -> global average pool -> dense: a tiny CNN to quantize. */
function tinyCnn(seed: number, inChannels = 8): ModelGraph {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const tensor = (shape: number[], std: number) => ({
    shape,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => gauss() * std),
  });
  return {
    name: 'tiny',
    inputName: 'input',
    outputName: 'fc',
    normalization: { mean: [0], std: [1] },
    metadata: {},
    nodes: [
      { op: 'input', name: 'input', inputs: [], shape: [8, 8, inChannels] },
      {
        op: 'conv2d',
        name: 'conv',
        inputs: ['input'],
        kernel: tensor([3, 3, inChannels, 16], 0.3),
        bias: tensor([16], 0.1),
        strides: [1, 1],
        padding: 'same',
        dilations: [1, 1],
        activation: 'relu',
      },
      { op: 'globalAvgPool', name: 'gap', inputs: ['conv'] },
      { op: 'dense', name: 'fc', inputs: ['gap'], kernel: tensor([16, 5], 0.5), activation: 'linear' },
    ],
  };
}

describe('overflow-aware accumulator fit', () => {
  const graph = tinyCnn(5, 64);
  const plan = planQuantization(graph, {
    weightBits: 8,
    activationBits: 8,
    firstLastBits: null,
    residualBits: null,
  });
  const ranges = new Map([
    ['input', { min: -3, max: 3 }],
    ['conv', { min: 0, max: 4 }],
    ['gap', { min: 0, max: 2 }],
  ]);
  const model = quantizeModel(graph, plan, ranges);

  it('keeps a 32-bit accumulator as requested and reports its headroom', () => {
    const fit = fitAccumulators(graph, model, 32);
    for (const c of fit.choices) {
      expect(c.accumulatorBits).toBe(32);
      expect(c.worstCase).toBeLessThanOrEqual(c.limit);
      expect(c.headroomBits).toBeCloseTo(Math.log2(c.limit / c.worstCase), 9);
    }
  });

  it('never leaves a layer whose provable bound exceeds its accumulator', () => {
    const fit = fitAccumulators(graph, model, 16);
    const conv = fit.choices.find((c) => c.layer === 'conv');
    // 576 inputs x 127 x 255 cannot fit 16 bits within one bit of clipping: it falls back.
    expect(conv?.accumulatorBits).toBe(32);
    expect(conv?.reason).toMatch(/fewer than/);
    for (const c of fit.choices) {
      const wq = fit.weights.get(c.layer);
      expect(wq).toBeDefined();
      expect(c.worstCase).toBeLessThanOrEqual(c.limit);
    }
  });

  it('narrows a layer that is close to fitting instead of falling back', () => {
    const low = quantizeModel(
      graph,
      planQuantization(graph, { weightBits: 4, activationBits: 4, firstLastBits: null, residualBits: null }),
      ranges,
    );
    const fit = fitAccumulators(graph, low, 16);
    for (const c of fit.choices) {
      expect(c.accumulatorBits).toBe(16);
      expect(c.worstCase).toBeLessThanOrEqual(2 ** 15 - 1);
      const wq = fit.weights.get(c.layer);
      expect(Math.max(...Array.from(wq?.q ?? [], Math.abs))).toBeLessThanOrEqual(c.maxLevel);
    }
  });
});

describe('mean-field weight quantization', () => {
  for (const projection of ['softmax', 'sparsemax'] as const) {
    it(`(${projection}) ends on the grid and distils closer to the FP32 model than round-to-nearest`, async () => {
      const graph = tinyCnn(11);
      const plan = planQuantization(graph, {
        weightBits: 2,
        activationBits: 8,
        firstLastBits: null,
        residualBits: null,
      });
      const ranges = new Map([
        ['input', { min: -3, max: 3 }],
        ['conv', { min: 0, max: 3 }],
        ['gap', { min: 0, max: 1.5 }],
      ]);
      const nearest = quantizeModel(graph, plan, ranges);
      const random = seededRandom(2);
      const images = tf.tensor4d(
        Float32Array.from({ length: 32 * 6 * 6 * 8 }, () => random() * 2 - 1),
        [32, 6, 6, 8],
      );
      const tensorsBefore = tf.memory().numTensors;
      const result = await trainMeanField(graph, nearest, images, {
        projection,
        steps: 40,
        batchSize: 16,
        learningRate: 2e-2,
        betaStart: 1,
        betaEnd: 100,
        temperature: 1,
        featureWeight: 1,
        learnActivationSteps: true,
        seed: 1,
      });
      // LSQ moved every activation step off its calibrated value; zero points stay put.
      expect([...result.activations.keys()].sort()).toEqual([...nearest.activations.keys()].sort());
      for (const [name, p] of result.activations) {
        const before = nearest.activations.get(name);
        expect(p.zeroPoint).toBe(before?.zeroPoint);
        expect(p.scale).not.toBe(before?.scale);
      }
      // Training leaks nothing: every step's tensors and the trainer's state are disposed.
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      const trained = quantizeModel(graph, plan, ranges, result);
      for (const wq of result.weights.values()) for (const v of wq.q) expect([-1, 0, 1]).toContain(v);
      const mse = (model: typeof nearest) => {
        const fp = new GraphRunner(graph);
        const q = new GraphRunner(model.graph);
        const err = tf.tidy(
          () =>
            tf.losses
              .meanSquaredError(fp.predict(images), q.predict(images, activationFakeQuant(model)))
              .dataSync()[0],
        );
        fp.dispose();
        q.dispose();
        return err as number;
      };
      expect(mse(trained)).toBeLessThan(mse(nearest));
      images.dispose();
    });
  }
});
