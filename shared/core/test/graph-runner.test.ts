import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  foldBatchNorm,
  GraphRunner,
  loadModel,
  type ModelGraph,
  saveLayersModel,
  selectBackend,
} from '../src/index.js';
import { EXAMPLE_MODEL } from './helpers.js';

/** The stock TF.js Layers loader, fed from disk, as any TF.js app would load the file. */
async function loadWithStockTfjs(modelPath: string): Promise<tf.LayersModel> {
  const json = JSON.parse(await readFile(modelPath, 'utf8'));
  const shard = await readFile(join(modelPath, '..', json.weightsManifest[0].paths[0]));
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: shard.buffer.slice(shard.byteOffset, shard.byteOffset + shard.byteLength),
    }),
  );
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => a.sub(b).abs().max().dataSync()[0] as number);
}

let graph: ModelGraph;
let input: tf.Tensor4D;

beforeAll(async () => {
  await selectBackend('wasm');
  graph = (await loadModel(EXAMPLE_MODEL)).graph;
  input = tf.randomNormal([16, 28, 28, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
});

describe('GraphRunner', () => {
  it('computes what stock tfjs-layers computes from the same model.json', async () => {
    const stock = await loadWithStockTfjs(EXAMPLE_MODEL);
    const runner = new GraphRunner(graph);
    const ours = runner.predict(input);
    const theirs = stock.predict(input) as tf.Tensor;
    expect(maxAbsDiff(ours, theirs)).toBeLessThan(1e-4);
    runner.dispose();
  });

  it('releasing intermediates early changes no value and keeps far fewer tensors alive', () => {
    const runner = new GraphRunner(graph);
    const taps = new Set(['stem_conv', 'layer2_0_add']);
    tf.tidy(() => {
      const before = tf.memory().numTensors;
      const kept = runner.run(input, { taps });
      const keptAlive = tf.memory().numTensors - before;
      const mid = tf.memory().numTensors;
      const released = runner.run(input, { taps, releaseEarly: true });
      const releasedAlive = tf.memory().numTensors - mid;
      expect(maxAbsDiff(kept.output, released.output)).toBe(0);
      for (const name of taps)
        expect(maxAbsDiff(kept.taps.get(name) as tf.Tensor, released.taps.get(name) as tf.Tensor)).toBe(0);
      // Output and taps survive; the other ~40 intermediates of the forward pass do not.
      expect(releasedAlive).toBeLessThanOrEqual(taps.size + 1);
      expect(keptAlive).toBeGreaterThan(20);
    });
    // The caller's input is never disposed by the release.
    expect(input.isDisposed).toBe(false);
    runner.dispose();
  });

  it('returns tapped intermediate outputs', () => {
    const runner = new GraphRunner(graph);
    tf.tidy(() => {
      const { taps } = runner.run(input, { taps: new Set(['stem_conv', 'gap']) });
      expect(taps.get('stem_conv')?.shape).toEqual([16, 28, 28, 16]);
      expect(taps.get('gap')?.shape).toEqual([16, 64]);
    });
    runner.dispose();
  });
});

describe('BatchNorm folding', () => {
  it('removes every BatchNorm and fuses the ReLUs, computing the same function within 1e-4', () => {
    const { graph: folded, folded: map, fusedActivations } = foldBatchNorm(graph);
    expect(folded.nodes.some((n) => n.op === 'batchNorm')).toBe(false);
    expect(Object.keys(map)).toHaveLength(9);
    expect(Object.keys(fusedActivations)).toHaveLength(7);
    expect(folded.nodes).toHaveLength(33 - 9 - 7);
    const a = new GraphRunner(graph);
    const b = new GraphRunner(folded);
    const ya = a.predict(input);
    const yb = b.predict(input);
    expect(maxAbsDiff(ya, yb)).toBeLessThan(1e-4);
    a.dispose();
    b.dispose();
  });

  it('leaves the original graph untouched', () => {
    const before = graph.nodes.map((n) => ({ name: n.name, inputs: [...n.inputs] }));
    foldBatchNorm(graph);
    expect(graph.nodes.map((n) => ({ name: n.name, inputs: n.inputs }))).toEqual(before);
  });

  it('writes a folded model that stock tfjs-layers loads and runs identically', async () => {
    const { graph: folded } = foldBatchNorm(graph);
    const dir = await mkdtemp(join(tmpdir(), 'dfq-save-'));
    const modelPath = await saveLayersModel(folded, dir, { note: 'test' });
    const stock = await loadWithStockTfjs(modelPath);
    const runner = new GraphRunner(folded);
    expect(maxAbsDiff(runner.predict(input), stock.predict(input) as tf.Tensor)).toBeLessThan(1e-4);
    // ...and dfq's own loader reads it back (no BatchNorm left, so not for synthesis).
    const reloaded = await loadModel(modelPath, { requireBatchNorm: false });
    expect(reloaded.graph.normalization).toEqual(graph.normalization);
    runner.dispose();
  });
});
