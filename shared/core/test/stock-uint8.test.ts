import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  foldBatchNorm,
  GraphRunner,
  isWeighted,
  loadModel,
  loadStockLayersModel,
  type ModelGraph,
  nodeWeights,
  quantizeForManifest,
  saveLayersModel,
  selectBackend,
} from '../src/index.js';
import { EXAMPLE_MODEL } from './helpers.js';

interface Entry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale: number; min: number };
}

const rms = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) ** 2;
  return Math.sqrt(s / a.length);
};

/** The folded graph with every weight replaced by what TF.js will dequantize it to. */
function dequantizedGraph(graph: ModelGraph): ModelGraph {
  const deq = (w: { shape: number[]; data: Float32Array }) => {
    const { scale, min, q } = quantizeForManifest(w.data, 'uint8');
    return { shape: w.shape, data: Float32Array.from(q, (v) => v * scale + min) };
  };
  return {
    ...graph,
    nodes: graph.nodes.map((n) =>
      isWeighted(n) ? { ...n, kernel: deq(n.kernel), ...(n.bias ? { bias: deq(n.bias) } : {}) } : n,
    ),
  };
}

let folded: ModelGraph;
let floatDir: string;
let uint8Dir: string;
let input: tf.Tensor4D;
let floatLogits: tf.Tensor;

beforeAll(async () => {
  await selectBackend('wasm');
  folded = foldBatchNorm((await loadModel(EXAMPLE_MODEL)).graph).graph;
  floatDir = await mkdtemp(join(tmpdir(), 'dfq-f32-'));
  uint8Dir = await mkdtemp(join(tmpdir(), 'dfq-u8-'));
  await saveLayersModel(folded, floatDir);
  await saveLayersModel(folded, uint8Dir, { note: 'uint8' }, { weightDtype: 'uint8' });
  input = tf.randomNormal([64, 28, 28, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
  const runner = new GraphRunner(folded);
  floatLogits = runner.predict(input);
  runner.dispose();
});

afterAll(() => {
  input.dispose();
  floatLogits.dispose();
});

describe('saveLayersModel with TF.js uint8 weight quantization', () => {
  it('keeps float32 as the default and writes a shard a quarter of its size', async () => {
    const f32 = JSON.parse(await readFile(join(floatDir, 'model.json'), 'utf8'));
    expect(f32.weightsManifest[0].weights.every((w: Entry) => w.quantization === undefined)).toBe(true);
    const stock = await loadStockLayersModel(floatDir);
    const y = stock.predict(input) as tf.Tensor;
    expect(tf.tidy(() => y.sub(floatLogits).abs().max().dataSync()[0] as number)).toBeLessThan(1e-4);
    y.dispose();
    const floatBytes = (await stat(join(floatDir, 'group1-shard1of1.bin'))).size;
    const uint8Bytes = (await stat(join(uint8Dir, 'group1-shard1of1.bin'))).size;
    const params = folded.nodes.flatMap(nodeWeights).reduce((a, w) => a + w.data.length, 0);
    expect(floatBytes).toBe(4 * params);
    // Every weight is stored as one byte per value: exactly 1/4 (scale and min live in model.json).
    expect(uint8Bytes).toBe(params);
  });

  it('stores every weight so that it dequantizes within scale/2 of the original', async () => {
    const json = JSON.parse(await readFile(join(uint8Dir, 'model.json'), 'utf8'));
    const specs = json.weightsManifest[0].weights as Entry[];
    const shard = await readFile(join(uint8Dir, 'group1-shard1of1.bin'));
    // TF.js's own decoder, so this checks what a TF.js app gets, not our reading of the format.
    const decoded = tf.io.decodeWeights(
      shard.buffer.slice(shard.byteOffset, shard.byteOffset + shard.byteLength) as ArrayBuffer,
      specs as tf.io.WeightsManifestEntry[],
    );
    const originals = new Map<string, Float32Array>();
    for (const n of folded.nodes) {
      if (!isWeighted(n)) continue;
      originals.set(`${n.name}/${n.op === 'depthwiseConv2d' ? 'depthwise_kernel' : 'kernel'}`, n.kernel.data);
      if (n.bias) originals.set(`${n.name}/bias`, n.bias.data);
    }
    expect(specs.map((s) => s.name).sort()).toEqual([...originals.keys()].sort());
    for (const spec of specs) {
      const q = spec.quantization;
      expect(q?.dtype).toBe('uint8');
      expect(spec.dtype).toBe('float32');
      const original = originals.get(spec.name) as Float32Array;
      const values = (decoded[spec.name] as tf.Tensor).dataSync();
      const scale = q?.scale as number;
      let worst = 0;
      for (let i = 0; i < original.length; i++) {
        // TF.js computes q*scale+min in double and stores it as float32: allow that one rounding.
        const slack = 2 ** -24 * Math.abs(values[i] as number);
        worst = Math.max(worst, Math.abs((values[i] as number) - (original[i] as number)) - slack);
      }
      expect(worst, spec.name).toBeLessThanOrEqual(scale / 2);
    }
    tf.dispose(Object.values(decoded));
  });

  it('handles constant and zero-spanning tensors as tensorflowjs_converter does', () => {
    const constant = quantizeForManifest(new Float32Array([0.3, 0.3, 0.3]), 'uint8');
    expect([...constant.q]).toEqual([0, 0, 0]);
    expect((constant.q[0] as number) * constant.scale + constant.min).toBe(Math.fround(0.3));
    const spanning = quantizeForManifest(new Float32Array([-1, 0, 0.37, 2]), 'uint8');
    const zero = (spanning.q[1] as number) * spanning.scale + spanning.min;
    expect(zero).toBe(0);
    expect(quantizeForManifest(new Float32Array(0), 'uint8').q.length).toBe(0);
    expect(() => quantizeForManifest(new Float32Array([1, Number.NaN]), 'uint8')).toThrow(/NaN/);
  });

  it('loads with stock tf.loadLayersModel and computes the dequantized function', async () => {
    const stock = await loadStockLayersModel(join(uint8Dir, 'model.json'));
    expect(stock.getUserDefinedMetadata()).toMatchObject({ note: 'uint8' });
    const stockLogits = stock.predict(input) as tf.Tensor;
    // Same weights as TF.js decodes them, run by dfq's GraphRunner: only float summation order differs.
    const runner = new GraphRunner(dequantizedGraph(folded));
    const ours = runner.predict(input);
    const diff = tf.tidy(() => ours.sub(stockLogits).abs().max().dataSync()[0] as number);
    expect(diff).toBeLessThan(1e-4);
    runner.dispose();

    // Against the float model: uniform rounding with step s leaves noise of rms s/sqrt(12) on a
    // tensor of rms w, a relative perturbation s/(sqrt(12) w); independent perturbations of the
    // layers a signal passes through add up in quadrature, to first order, at the logits.
    let predicted = 0;
    for (const w of folded.nodes.flatMap(nodeWeights)) {
      const { scale } = quantizeForManifest(w.data, 'uint8');
      predicted += (scale / Math.sqrt(12) / rms(w.data)) ** 2;
    }
    predicted = Math.sqrt(predicted);
    const [relError, agreement] = tf.tidy(() => {
      const rel = stockLogits.sub(floatLogits).square().mean().sqrt().div(floatLogits.square().mean().sqrt());
      const agree = stockLogits.argMax(-1).equal(floatLogits.argMax(-1)).mean();
      return [rel.dataSync()[0] as number, agree.dataSync()[0] as number];
    });
    // A factor 2 over the first-order figure covers its crudeness (ReLUs zero part of the noise,
    // some tensors add to it); a broken encoding (wrong scale, min or byte order) is far beyond it.
    // On the example model: predicted 3.2% of the logits' rms, measured 2.4%, top-1 agreement 100%.
    expect(relError).toBeLessThan(2 * predicted);
    expect(agreement).toBeGreaterThanOrEqual(0.9);
    stockLogits.dispose();
  });
});
