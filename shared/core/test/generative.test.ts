import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  classifierNullSpace,
  GraphRunner,
  generatorKey,
  loadGenerator,
  loadModel,
  type ModelGraph,
  modeSeekingTerm,
  predictWithFeatures,
  saveGenerator,
  selectBackend,
  synthesizeGenerative,
  withinClassDiversity,
} from '../src/index.js';
import { EXAMPLE_MODEL } from './helpers.js';

let graph: ModelGraph;

beforeAll(async () => {
  await selectBackend('native');
  graph = (await loadModel(EXAMPLE_MODEL)).graph;
});

describe('generative synthesis', () => {
  it('learns to make images the model assigns to their target class', async () => {
    const options = { images: 40, iterations: 60, seed: 2, batchSize: 40, learningRate: 0.01 };
    const before = tf.memory().numTensors;
    const r = await synthesizeGenerative(graph, { ...options, iterations: 0 });
    const trained = await synthesizeGenerative(graph, options);
    const runner = new GraphRunner(graph);
    const agreement = (images: tf.Tensor4D, labels: number[]) => {
      const { classes } = predictWithFeatures(runner, images);
      return labels.filter((l, i) => classes[i] === l).length / labels.length;
    };
    expect(agreement(r.images, r.labels as number[])).toBeLessThan(0.5);
    expect(agreement(trained.images, trained.labels as number[])).toBeGreaterThan(0.8);
    expect(trained.lossFinal as number).toBeLessThan(trained.lossInitial as number);
    runner.dispose();
    tf.dispose([r.images, trained.images]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the diversity term alone spreads the images of each class', async () => {
    // Class and BN terms off (a hinge no image reaches, weight 0): only the diversity term trains.
    const options = {
      images: 60,
      seed: 3,
      batchSize: 60,
      learningRate: 0.01,
      bnWeight: 0,
      targetConfidence: 1e-12,
    };
    const runner = new GraphRunner(graph);
    const diversity = async (iterations: number, diversityWeight: number) => {
      const r = await synthesizeGenerative(graph, { ...options, iterations, diversityWeight });
      const { features } = predictWithFeatures(runner, r.images);
      r.images.dispose();
      return withinClassDiversity(features, r.labels as number[]);
    };
    const untrained = await diversity(0, 1);
    const idle = await diversity(20, 0);
    // 60 steps: the spread grows steadily with them (on an AVX2-only EPYC +6% at 20, +21% at 60),
    // and how fast varies with the CPU's float kernels; the claim is the direction, with margin.
    const spread = await diversity(60, 1);
    runner.dispose();
    expect(idle).toBeCloseTo(untrained, 6);
    expect(spread).toBeGreaterThan(1.1 * untrained);
  });

  it('a saved generator reproduces its images without training', async () => {
    const options = { images: 20, iterations: 3, seed: 5, batchSize: 20 };
    const first = await synthesizeGenerative(graph, options);
    const dir = await mkdtemp(join(tmpdir(), 'dfq-gen-'));
    const key = generatorKey(graph, { iterations: 3, seed: 5 });
    expect(generatorKey(graph, { iterations: 4, seed: 5 })).not.toBe(key);
    await saveGenerator(dir, key, first.generator);
    const weights = await loadGenerator(dir, key);
    expect(weights).not.toBeNull();
    const again = await synthesizeGenerative(graph, { ...options, generator: weights ?? undefined });
    expect(again.trained).toBe(false);
    expect(again.iterations).toBe(0);
    expect(Array.from(again.images.dataSync())).toEqual(Array.from(first.images.dataSync()));
    expect(await loadGenerator(dir, 'missing')).toBeNull();
    tf.dispose([first.images, again.images]);
  });

  it('refuses a backend without weight gradients, saying what to use instead', async () => {
    await selectBackend('wasm');
    await expect(synthesizeGenerative(graph, { images: 4, iterations: 1, seed: 0 })).rejects.toThrow(
      /wasm backend lacks.*use backend native/,
    );
    await selectBackend('native');
  });
});

describe('within-class diversity', () => {
  it('is 0 for identical features and grows as they spread', () => {
    const same = [
      Float32Array.from([1, 0]),
      Float32Array.from([2, 0]),
      Float32Array.from([0, 1]),
      Float32Array.from([0, 3]),
    ];
    expect(withinClassDiversity(same, [0, 0, 1, 1])).toBeCloseTo(0, 6);
    expect(withinClassDiversity(same, [0, 1, 0, 1])).toBeCloseTo(1, 6);
  });
});

describe('mode-seeking diversity term', () => {
  const features = (rows: number[][]) => tf.tensor2d(rows);

  it('is largest for near-duplicates and counts only pairs of one group', () => {
    const x = features([
      [1, 0, 0],
      [1, 0.01, 0],
      [0, 0, 1],
      [0, 1, 1],
    ]);
    const close = modeSeekingTerm(x, [0, 0, 1, 1], null).dataSync()[0] as number;
    const apart = modeSeekingTerm(x, [0, 1, 0, 1], null).dataSync()[0] as number;
    const onlyFar = modeSeekingTerm(x, [0, 1, 2, 2], null).dataSync()[0] as number;
    expect(close).toBeGreaterThan(apart);
    // Pairs (0,1) and (2,3): -log of cosine distances 5e-5 and 1 - 1/√2, averaged (with the 1e-4 floor).
    expect(close).toBeCloseTo((-Math.log(0.01 ** 2 / 2 + 1e-4) - Math.log(1 - Math.SQRT1_2 + 1e-4)) / 2, 2);
    expect(onlyFar).toBeCloseTo(-Math.log(1 - Math.SQRT1_2 + 1e-4), 4);
    x.dispose();
  });

  it("ignores differences along the classifier's class directions", () => {
    tf.tidy(() => {
      const projector = classifierNullSpace(graph) as tf.Tensor2D;
      const size = projector.shape[0];
      const fc = [...graph.nodes].reverse().find((n) => n.op === 'dense');
      if (fc?.op !== 'dense') throw new Error('example model ends in a dense layer');
      const classes = fc.kernel.shape[1] as number;
      const kernel = tf.tensor2d(fc.kernel.data, [size, classes]);
      // A projector onto the classifier's null space: idempotent and blind to every class column.
      expect(tf.matMul(projector, kernel).abs().max().dataSync()[0]).toBeLessThan(1e-4);
      expect(tf.matMul(projector, projector).sub(projector).abs().max().dataSync()[0]).toBeLessThan(1e-4);
      // Two features inside the span of the class columns, and one moved out of it.
      const column = (c: number) => kernel.slice([0, c], [size, 1]).transpose();
      const a = column(0).add(column(1));
      const b = column(0).mul(2).add(column(1));
      const c = a.add(projector.slice([0, 0], [1, size]).mul(a.norm()));
      const term = (x: tf.Tensor, y: tf.Tensor, p: tf.Tensor2D | null) =>
        modeSeekingTerm(tf.concat([x, y]), [0, 0], p).dataSync()[0] as number;
      const hidden = term(a, b, projector);
      // a and b differ to plain cosine, not once the class directions are projected out.
      expect(hidden).toBeCloseTo(-Math.log(1e-4), 1);
      expect(term(a, b, null)).toBeLessThan(hidden - 1);
      expect(term(a, c, projector)).toBeLessThan(hidden - 1);
    });
  });
});
