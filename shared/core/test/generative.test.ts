import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  GraphRunner,
  generatorKey,
  loadGenerator,
  loadModel,
  type ModelGraph,
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
      /wasm backend lacks.*--backend native/,
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
