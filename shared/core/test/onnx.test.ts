import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/backend/select-backend.js';
import { calibrate } from '../src/calibration/calibrate.js';
import { evaluateGraphTop1 } from '../src/data/evaluate.js';
import { type LabelledImages, loadFashionMnist } from '../src/data/fashion-mnist.js';
import { normalizedBatch } from '../src/data/normalize.js';
import { foldBatchNorm } from '../src/model/fold-batchnorm.js';
import type { ModelGraph } from '../src/model/graph.js';
import { GraphRunner } from '../src/model/graph-runner.js';
import { loadModel } from '../src/model/load-model.js';
import { ModelLoadError } from '../src/model/model-load-error.js';
import { exportOnnx } from '../src/onnx/export-onnx.js';
import { loadOnnxModel } from '../src/onnx/load-onnx.js';
import { DataType, onnx } from '../src/onnx/onnx-proto.js';
import { runOnnxTop1 } from '../src/onnx/onnx-runtime.js';
import { planQuantization } from '../src/quantization/quantization-plan.js';
import { activationFakeQuant, quantizeModel } from '../src/quantization/quantize-model.js';
import { EXAMPLE_MODEL, FASHION_MNIST_DIR } from './helpers.js';

let example: ModelGraph;
let testSet: LabelledImages;
const N = 500;

beforeAll(async () => {
  await selectBackend('auto');
  example = (await loadModel(EXAMPLE_MODEL)).graph;
  testSet = await loadFashionMnist(FASHION_MNIST_DIR, 'test');
});

async function written(bytes: Uint8Array): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'dfq-onnx-')), 'model.onnx');
  await writeFile(path, bytes);
  return path;
}

const images = (from: number, to: number) => {
  const x = normalizedBatch(testSet, from, to, example.normalization);
  const data = x.dataSync() as Float32Array;
  x.dispose();
  return data;
};

function agreement(a: Int32Array, b: Int32Array): number {
  let same = 0;
  a.forEach((v, i) => {
    if (v === b[i]) same++;
  });
  return same / a.length;
}

/** A hand-built ONNX model: one NCHW input, the given nodes and float initializers, one output. */
function handBuilt(
  input: number[],
  nodes: onnx.INodeProto[],
  initializers: Record<string, { dims: number[]; values: number[] }>,
  output: string,
): Uint8Array {
  const info = (name: string, dims: number[]) => ({
    name,
    type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  return onnx.ModelProto.encode({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'hand',
      node: nodes,
      initializer: Object.entries(initializers).map(([name, t]) => ({
        name,
        dims: t.dims,
        dataType: DataType.FLOAT,
        floatData: t.values,
      })),
      input: [info('x', input)],
      output: [info(output, [])],
    },
  }).finish();
}

describe('ONNX import', () => {
  it('reads back an exported model (NCHW) and computes what the original does', async () => {
    const path = await written(exportOnnx(example, { inputLayout: 'nchw', producer: 'test' }).bytes);
    const { graph } = await loadOnnxModel(path);
    expect(graph.nodes.filter((n) => n.op === 'batchNorm')).toHaveLength(
      example.nodes.filter((n) => n.op === 'batchNorm').length,
    );
    const x = tf.randomNormal([4, 28, 28, 1], 0, 1, 'float32', 3);
    const [a, b] = [example, graph].map((g) => {
      const runner = new GraphRunner(g);
      const out = runner.predict(x);
      const data = out.dataSync().slice();
      out.dispose();
      runner.dispose();
      return data;
    });
    x.dispose();
    const diff = Math.max(
      ...Array.from(a as Float32Array, (v, i) => Math.abs(v - ((b as Float32Array)[i] ?? 0))),
    );
    expect(diff).toBeLessThan(1e-4);
  });

  it('reorders dense rows after a flattened feature map from CHW to HWC', async () => {
    // x [1, 2, 2, 2] -> Flatten (CHW order) -> Gemm with one unit per input feature (identity rows).
    const eye = Array.from({ length: 64 }, (_, i) => (i % 9 === 0 ? 1 : 0));
    const bytes = handBuilt(
      [1, 2, 2, 2],
      [
        { opType: 'Flatten', input: ['x'], output: ['f'], name: 'flat' },
        {
          opType: 'Gemm',
          input: ['f', 'w'],
          output: ['y'],
          name: 'fc',
          attribute: [{ name: 'transB', i: 1, type: 2 }],
        },
      ],
      { w: { dims: [8, 8], values: eye } },
      'y',
    );
    const { graph } = await loadOnnxModel(await written(bytes), { requireBatchNorm: false });
    // NHWC input: value at (h, w, c) = 100c + 10h + w; ONNX's output j is feature j in CHW order.
    const nhwc = [];
    for (let h = 0; h < 2; h++)
      for (let w = 0; w < 2; w++) for (let c = 0; c < 2; c++) nhwc.push(100 * c + 10 * h + w);
    const runner = new GraphRunner(graph);
    const out = runner.predict(tf.tensor4d(nhwc, [1, 2, 2, 2]));
    const chw = [];
    for (let c = 0; c < 2; c++)
      for (let h = 0; h < 2; h++) for (let w = 0; w < 2; w++) chw.push(100 * c + 10 * h + w);
    expect(Array.from(out.dataSync())).toEqual(chw);
    out.dispose();
    runner.dispose();
  });

  it('refuses a model whose BatchNorms were folded at export, saying how to keep them', async () => {
    const folded = foldBatchNorm(example).graph;
    const path = await written(exportOnnx(folded, { inputLayout: 'nchw', producer: 'test' }).bytes);
    const error = await loadOnnxModel(path).catch((e) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect(error.message).toContain('training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False');
    // With a method that needs no statistics, the same file loads.
    expect((await loadOnnxModel(path, { requireBatchNorm: false })).graph.nodes.length).toBeGreaterThan(5);
  });

  it('names every node it cannot map, and rejects a file that is not ONNX', async () => {
    const bytes = handBuilt(
      [1, 1, 4, 4],
      [
        { opType: 'LRN', input: ['x'], output: ['a'], name: 'act1' },
        { opType: 'Transpose', input: ['a'], output: ['b'], name: 'perm' },
      ],
      {},
      'b',
    );
    const error = await loadOnnxModel(await written(bytes)).catch((e) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect(error.message).toMatch(/act1 \(LRN\)/);
    expect(error.message).toMatch(/perm \(Transpose\)/);
    const garbage = await loadOnnxModel(await written(new Uint8Array([0xff, 0xff, 0xff, 0x07, 1, 2]))).catch(
      (e) => e,
    );
    expect(garbage).toBeInstanceOf(ModelLoadError);
    expect(garbage.message).toContain('is not an ONNX model');
  });
});

describe('ONNX export run by ONNX Runtime', () => {
  it('float export predicts what dfq predicts, in either input layout', async () => {
    const dfq = await evaluateGraphTop1(example, testSet, example.normalization, { limit: N });
    for (const layout of ['nhwc', 'nchw'] as const) {
      const bytes = exportOnnx(example, { inputLayout: layout, producer: 'test' }).bytes;
      const ort = await runOnnxTop1(bytes, images, N, [28, 28, 1], { inputLayout: layout });
      expect(agreement(ort.predictions, dfq.predictions), layout).toBeGreaterThanOrEqual(0.998);
    }
  });

  // At 4-bit activations a one-step difference (float32 sums in another order, in the first layer)
  // moves the next layer's outputs by a whole coarse step often enough to spread: the bound is looser.
  it.each([
    [8, 8, 0.995],
    [4, 8, 0.995],
    [4, 4, 0.95],
  ])(
    'QDQ export at W%iA%i agrees with the fake-quantized model (at least %f)',
    async (weightBits, activationBits, bound) => {
      const folded = foldBatchNorm(example).graph;
      const plan = planQuantization(folded, {
        weightBits,
        activationBits,
        firstLastBits: 8,
        residualBits: null,
      });
      const calibration = tf.tidy(() => normalizedBatch(testSet, 9000, 9256, example.normalization));
      const profile = calibrate(new GraphRunner(folded), calibration, plan.activationBits.keys(), (n) => ({
        bits: plan.activationBits.get(n) as number,
      }));
      calibration.dispose();
      const quantized = quantizeModel(folded, plan, new Map(Object.entries(profile.ranges)));
      const fake = await evaluateGraphTop1(
        quantized.graph,
        testSet,
        example.normalization,
        { limit: N },
        activationFakeQuant(quantized),
      );
      const bytes = exportOnnx(quantized.graph, { inputLayout: 'nhwc', producer: 'test' }, quantized).bytes;
      const decoded = onnx.ModelProto.decode(bytes);
      expect(decoded.graph?.node?.filter((n) => n.opType === 'QuantizeLinear').length).toBe(
        plan.activationBits.size,
      );
      const ort = await runOnnxTop1(bytes, images, N, [28, 28, 1], { inputLayout: 'nhwc' });
      expect(agreement(ort.predictions, fake.predictions)).toBeGreaterThanOrEqual(bound);
    },
  );
});
