import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  loadModel,
  type ModelGraph,
  noiseImages,
  normalizedPixelBounds,
  selectBackend,
  synthesizeDirect,
} from '../src/index.js';
import { EXAMPLE_MODEL } from './helpers.js';

let graph: ModelGraph;

beforeAll(async () => {
  await selectBackend('wasm');
  graph = (await loadModel(EXAMPLE_MODEL)).graph;
});

const options = { images: 8, iterations: 4, batchSize: 8 };

describe('direct (ZeroQ-style) synthesis', () => {
  it('is deterministic at seed 0 too (TF.js reads a 0 seed as none), for direct and noise images', async () => {
    const a = await synthesizeDirect(graph, { ...options, seed: 0 });
    const b = await synthesizeDirect(graph, { ...options, seed: 0 });
    expect(Array.from(a.images.dataSync())).toEqual(Array.from(b.images.dataSync()));
    const n1 = noiseImages(graph, 4, 0);
    const n2 = noiseImages(graph, 4, 0);
    expect(Array.from(n1.images.dataSync())).toEqual(Array.from(n2.images.dataSync()));
    for (const r of [a, b, n1, n2]) r.images.dispose();
  });

  it('is deterministic: the same seed gives the same images, another seed other images', async () => {
    const a = await synthesizeDirect(graph, { ...options, seed: 11 });
    const b = await synthesizeDirect(graph, { ...options, seed: 11 });
    const c = await synthesizeDirect(graph, { ...options, seed: 12 });
    expect(Array.from(a.images.dataSync())).toEqual(Array.from(b.images.dataSync()));
    expect(a.lossFinal).toBe(b.lossFinal);
    expect(tf.tidy(() => a.images.sub(c.images).abs().max().dataSync()[0])).toBeGreaterThan(0.1);
    for (const r of [a, b, c]) r.images.dispose();
  });

  it('drives the BatchNorm statistics loss down and keeps pixels in the valid box', async () => {
    const r = await synthesizeDirect(graph, { ...options, iterations: 25, seed: 1 });
    expect(r.lossFinal as number).toBeLessThan((r.lossInitial as number) * 0.6);
    const { low, high } = normalizedPixelBounds(graph.normalization);
    const [min, max] = tf.tidy(() => [r.images.min().dataSync()[0], r.images.max().dataSync()[0]]);
    expect(min).toBeGreaterThanOrEqual((low[0] as number) - 1e-6);
    expect(max).toBeLessThanOrEqual((high[0] as number) + 1e-6);
    r.images.dispose();
  });

  it('splits work into batches and reports progress for each iteration', async () => {
    const seen: string[] = [];
    const r = await synthesizeDirect(graph, {
      images: 6,
      iterations: 2,
      batchSize: 4,
      seed: 0,
      onProgress: (p) => seen.push(`${p.batch}/${p.batches}:${p.iteration}`),
    });
    expect(r.images.shape).toEqual([6, 28, 28, 1]);
    expect(seen).toEqual(['1/2:1', '1/2:2', '2/2:1', '2/2:2']);
    r.images.dispose();
  });

  it('leaks no tensors, also when stopped midway by a throwing progress callback', async () => {
    const before = tf.memory().numTensors;
    (await synthesizeDirect(graph, { ...options, seed: 3 })).images.dispose();
    const stop = (p: { iteration: number }) => {
      if (p.iteration === 2) throw new Error('cancelled');
    };
    await expect(synthesizeDirect(graph, { ...options, seed: 3, onProgress: stop })).rejects.toThrow(
      'cancelled',
    );
    noiseImages(graph, 4, 3).images.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
