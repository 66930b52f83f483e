import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_RECONSTRUCTION,
  fakeQuantize,
  fakeQuantizeLearnedStep,
  type GraphNode,
  GraphRunner,
  learnedParams,
  type ModelGraph,
  partitionBlocks,
  planQuantization,
  quantizeModel,
  reconstructBlocks,
  seededRandom,
  selectBackend,
} from '../src/index.js';

beforeAll(async () => {
  await selectBackend('cpu');
});

/** input -> c1 -> [c2 -> c3, + c1 shortcut] -> relu -> gap -> fc: one stem, one residual block, a head. */
function residualCnn(seed: number): ModelGraph {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const tensor = (shape: number[], std: number) => ({
    shape,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => gauss() * std),
  });
  const conv = (name: string, input: string, cin: number, activation: 'relu' | 'linear'): GraphNode => ({
    op: 'conv2d',
    name,
    inputs: [input],
    kernel: tensor([3, 3, cin, 8], 0.25),
    bias: tensor([8], 0.05),
    strides: [1, 1],
    padding: 'same',
    dilations: [1, 1],
    activation,
  });
  return {
    name: 'residual',
    inputName: 'input',
    outputName: 'fc',
    normalization: { mean: [0], std: [1] },
    metadata: {},
    nodes: [
      { op: 'input', name: 'input', inputs: [], shape: [8, 8, 3] },
      conv('c1', 'input', 3, 'relu'),
      conv('c2', 'c1', 8, 'relu'),
      conv('c3', 'c2', 8, 'linear'),
      { op: 'add', name: 'add', inputs: ['c3', 'c1'], activation: 'linear' },
      { op: 'activation', name: 'act', inputs: ['add'], activation: 'relu' },
      { op: 'globalAvgPool', name: 'gap', inputs: ['act'] },
      { op: 'dense', name: 'fc', inputs: ['gap'], kernel: tensor([8, 5], 0.5), activation: 'linear' },
    ],
  };
}

describe('reconstruction blocks', () => {
  it('keep a residual block whole, give chained layers a block each, and fold weightless nodes into the block before', () => {
    const blocks = partitionBlocks(residualCnn(1));
    expect(
      blocks.map((b) => ({ input: b.input, nodes: b.nodes.map((n) => n.name), output: b.output })),
    ).toEqual([
      { input: 'input', nodes: ['c1'], output: 'c1' },
      { input: 'c1', nodes: ['c2', 'c3', 'add', 'act', 'gap'], output: 'gap' },
      { input: 'gap', nodes: ['fc'], output: 'fc' },
    ]);
  });
});

describe('learned activation step (LSQ)', () => {
  it('quantizes as the fixed grid does and passes LSQ gradients to x and to the log step', () => {
    const x = tf.tensor1d([0.26, -0.04, 5, 0.7]);
    const p = { bits: 4, scale: 0.1, zeroPoint: 1 };
    const logStep = tf.scalar(Math.log(p.scale));
    const y = fakeQuantizeLearnedStep(x, logStep, p.zeroPoint, p.bits);
    // The grid of the step the variable holds (float32 log of 0.1).
    const held = learnedParams(p, logStep.dataSync()[0] as number);
    expect(Array.from(y.dataSync())).toEqual(Array.from(fakeQuantize(x, held).dataSync()));
    const [dx, dLog] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      fakeQuantizeLearnedStep(a, b as tf.Scalar, p.zeroPoint, p.bits).sum(),
    )([x, logStep]) as [tf.Tensor, tf.Tensor];
    // Levels 4, 1, 51 (outside: clipped to 15) and 8.
    expect(Array.from(dx.dataSync())).toEqual([1, 1, 0, 1]);
    // d/ds: (round(x/s) - x/s) inside, (clipped level - zero point) outside; times s for the log.
    const expected = (3 - 2.6 + (0 - -0.4) + (15 - 1) + (7 - 7)) * 0.1;
    expect(dLog.dataSync()[0]).toBeCloseTo(expected, 5);
  });
});

describe('block reconstruction', () => {
  it.each([
    ['meanfield', true],
    ['adaround', true],
    ['meanfield', false],
  ] as const)(
    'with %s rounding (output steps learned downstream: %s) ends on the ternary grid, beats round-to-nearest block by block, and leaks nothing',
    async (rounding, downstream) => {
      const graph = residualCnn(3);
      const plan = planQuantization(graph, {
        weightBits: 2,
        activationBits: 4,
        firstLastBits: null,
        residualBits: null,
      });
      const random = seededRandom(4);
      const images = tf.tensor4d(
        Float32Array.from({ length: 64 * 8 * 8 * 3 }, () => random() * 2 - 1),
        [64, 8, 8, 3],
      );
      // Ranges from the FP32 model on these images (min-max).
      const ranges = tf.tidy(() => {
        const { taps } = new GraphRunner(graph).run(images, {
          taps: new Set(graph.nodes.map((n) => n.name)),
        });
        return new Map(
          [...taps].map(([name, t]) => [
            name,
            { min: t.min().dataSync()[0] as number, max: t.max().dataSync()[0] as number },
          ]),
        );
      });
      const nearest = quantizeModel(graph, plan, ranges);
      const tensorsBefore = tf.memory().numTensors;
      const progress: string[] = [];
      const done: string[] = [];
      const result = await reconstructBlocks(graph, nearest, images, {
        iterations: 60,
        batchSize: 16,
        learningRate: 1e-2,
        roundingWeight: 0.01,
        betaStart: 20,
        betaEnd: 2,
        warmup: 0.2,
        learnActivationSteps: true,
        learnOutputStepsDownstream: downstream,
        annealStepRate: true,
        annealScaleRate: true,
        learnWeightScales: true,
        learnBiases: false,
        rounding,
        dropProbability: 0.5,
        binaryLearningRate: 0.03,
        binaryIterationsFactor: 2,
        seed: 1,
        onProgress: (p) =>
          progress.push(`${p.block?.index}/${p.block?.count} ${p.block?.output} ${p.step}/${p.steps}`),
        onBlock: (b, index, count) => done.push(`${index + 1}/${count} ${b.output}`),
      });
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      // Progress names the block each step belongs to, and each block reports when it is done.
      expect(progress).toHaveLength(180);
      expect([progress[0], progress[59], progress[60], progress[179]]).toEqual([
        '1/3 c1 1/180',
        '1/3 c1 60/180',
        '2/3 gap 61/180',
        '3/3 fc 180/180',
      ]);
      expect(done).toEqual(['1/3 c1', '2/3 gap', '3/3 fc']);
      for (const wq of result.weights.values()) for (const v of wq.q) expect([-1, 0, 1]).toContain(v);
      expect(result.blocks.map((b) => b.output)).toEqual(['c1', 'gap', 'fc']);
      // Each block keeps whichever of learned and nearest rounding came closer to FP32; the residual
      // block and the head learn far better than nearest (the 3-channel stem may not: few weights).
      for (const b of result.blocks)
        expect(b.kept).toBe(b.hardError <= b.nearestError ? 'learned' : 'nearest');
      for (const b of result.blocks.slice(1)) {
        expect(b.hardError).toBeLessThan(0.7 * b.nearestError);
        expect(b.kept).toBe('learned');
      }
      // Learned grids come only from blocks that kept their learned state. Learned downstream, the
      // stem's output step belongs to the residual block that reads it, and gap's to the head; else
      // each block learns its own output's step.
      const stemLearned = result.blocks[0]?.kept === 'learned';
      expect([...result.activations.keys()].sort()).toEqual(
        [...(stemLearned || downstream ? ['c1'] : []), 'act', 'add', 'c2', 'c3', 'gap'].sort(),
      );
      if (downstream) expect(result.activations.get('c1')).not.toEqual(nearest.activations.get('c1'));
      // The learned grids reach the quantized model in place of the calibrated ones.
      const trained = quantizeModel(graph, plan, ranges, result);
      expect(trained.activations.get('c2')).toEqual(result.activations.get('c2'));
      expect(trained.activations.get('c2')).not.toEqual(nearest.activations.get('c2'));
      images.dispose();
    },
  );
});

describe('block reconstruction of binary weights', () => {
  it('gives blocks with binary layers their own learning rate and more steps, and ends on ±1', async () => {
    const graph = residualCnn(5);
    // First and last layers at 8 bits: only the residual block is binary.
    const plan = planQuantization(graph, {
      weightBits: 1,
      activationBits: 8,
      firstLastBits: 8,
      residualBits: null,
    });
    const random = seededRandom(6);
    const images = tf.tensor4d(
      Float32Array.from({ length: 16 * 8 * 8 * 3 }, () => random() * 2 - 1),
      [16, 8, 8, 3],
    );
    const ranges = new Map(graph.nodes.map((n) => [n.name, { min: -4, max: 4 }]));
    const nearest = quantizeModel(graph, plan, ranges);
    let lastProgress = { step: 0, steps: 0 };
    const options = {
      ...DEFAULT_RECONSTRUCTION,
      iterations: 4,
      batchSize: 8,
      rounding: 'meanfield',
      binaryLearningRate: 0.05,
      binaryIterationsFactor: 3,
      seed: 1,
      onProgress: (p: { step: number; steps: number }) => {
        lastProgress = { step: p.step, steps: p.steps };
      },
    } as const;
    const result = await reconstructBlocks(graph, nearest, images, options);
    expect(result.blocks.map((b) => [b.output, b.steps, b.learningRate])).toEqual([
      ['c1', 4, DEFAULT_RECONSTRUCTION.learningRate],
      ['gap', 12, 0.05],
      ['fc', 4, DEFAULT_RECONSTRUCTION.learningRate],
    ]);
    expect(lastProgress).toEqual({ step: 20, steps: 20 });
    for (const name of ['c2', 'c3'])
      for (const v of result.weights.get(name)?.q ?? []) expect([-1, 1]).toContain(v);
    // Deterministic for a seed: a second run picks the same levels, scales and steps.
    const again = await reconstructBlocks(graph, nearest, images, options);
    for (const [name, wq] of result.weights) {
      expect(Array.from(again.weights.get(name)?.q ?? [])).toEqual(Array.from(wq.q));
      expect(Array.from(again.weights.get(name)?.scales ?? [])).toEqual(Array.from(wq.scales));
    }
    expect([...again.activations]).toEqual([...result.activations]);
    images.dispose();
  });
});
