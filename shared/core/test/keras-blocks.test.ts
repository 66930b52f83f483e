import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/backend/select-backend.js';
import { calibrate } from '../src/calibration/calibrate.js';
import { quantizeNormalized } from '../src/integer/input-quantizer.js';
import { runInteger } from '../src/integer/integer-executor.js';
import { integerInput, toIntegerModel } from '../src/integer/integer-model.js';
import { foldBatchNorm } from '../src/model/fold-batchnorm.js';
import type { Activation, GraphNode, ModelGraph, WeightTensor } from '../src/model/graph.js';
import { GraphRunner } from '../src/model/graph-runner.js';
import { loadModel } from '../src/model/load-model.js';
import { loadStockLayersModel } from '../src/model/load-stock-model.js';
import { saveLayersModel } from '../src/model/save-layers-model.js';
import { exportOnnx } from '../src/onnx/export-onnx.js';
import { loadOnnxModel } from '../src/onnx/load-onnx.js';
import { runOnnxTop1 } from '../src/onnx/onnx-runtime.js';
import { planQuantization } from '../src/quantization/quantization-plan.js';
import { activationFakeQuant, quantizeModel } from '../src/quantization/quantize-model.js';
import { seededRandom } from '../src/util/rng.js';

/**
 * The Keras-application blocks beyond plain convolutions (a separable convolution as depthwise then
 * pointwise, Inception-style Concatenate, squeeze-excite with Reshape and Multiply, swish and
 * hard_sigmoid) on a small random graph: float parity with stock TF.js, and the fake-quantized model
 * reproduced by dfq's integer executor and by ONNX Runtime on its QDQ export.
 */

const random = seededRandom(11);
const weight = (shape: number[], std: number): WeightTensor => ({
  shape,
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => std * (2 * random() - 1) * 1.7),
});
const conv = (
  name: string,
  input: string,
  k: number,
  cin: number,
  cout: number,
  activation: Activation,
): GraphNode => ({
  op: 'conv2d',
  name,
  inputs: [input],
  kernel: weight([k, k, cin, cout], Math.sqrt(2 / (k * k * cin))),
  bias: weight([cout], 0.1),
  strides: [1, 1],
  padding: 'same',
  dilations: [1, 1],
  activation,
});

const GRAPH: ModelGraph = {
  name: 'blocks',
  inputName: 'input',
  outputName: 'logits',
  normalization: { mean: [0.5], std: [0.25] },
  metadata: {},
  nodes: [
    { op: 'input', name: 'input', inputs: [], shape: [12, 12, 3] },
    conv('stem', 'input', 3, 3, 8, 'relu'),
    {
      op: 'depthwiseConv2d',
      name: 'sep_depthwise',
      inputs: ['stem'],
      kernel: weight([3, 3, 8, 1], Math.sqrt(2 / 9)),
      strides: [2, 2],
      padding: 'same',
      dilations: [1, 1],
      activation: 'linear',
    },
    conv('sep', 'sep_depthwise', 1, 8, 8, 'linear'),
    { op: 'activation', name: 'sep_swish', inputs: ['sep'], activation: 'swish' },
    conv('branch', 'sep_swish', 1, 8, 4, 'relu'),
    { op: 'concat', name: 'joined', inputs: ['sep_swish', 'branch'] },
    { op: 'globalAvgPool', name: 'squeeze', inputs: ['joined'] },
    { op: 'reshape', name: 'squeeze_reshape', inputs: ['squeeze'], shape: [1, 1, 12] },
    conv('reduce', 'squeeze_reshape', 1, 12, 3, 'relu'),
    conv('expand', 'reduce', 1, 3, 12, 'linear'),
    { op: 'activation', name: 'gate', inputs: ['expand'], activation: 'hard_sigmoid' },
    { op: 'multiply', name: 'excite', inputs: ['joined', 'gate'] },
    { op: 'globalAvgPool', name: 'pool', inputs: ['excite'] },
    {
      op: 'dense',
      name: 'logits',
      inputs: ['pool'],
      kernel: weight([12, 6], 0.5),
      bias: weight([6], 0.1),
      activation: 'linear',
    },
  ],
};

const N = 200;
let images: tf.Tensor4D;

beforeAll(async () => {
  await selectBackend('auto');
  images = tf.tidy(() => tf.randomUniform([N, 12, 12, 3], -2, 2, 'float32', 5) as tf.Tensor4D);
});

function top1(logits: tf.Tensor): Int32Array {
  const picks = logits.argMax(-1);
  const out = picks.dataSync() as Int32Array;
  picks.dispose();
  return out;
}

function argmaxRows(logits: ArrayLike<number>, rows: number): number[] {
  const classes = logits.length / rows;
  return Array.from({ length: rows }, (_, i) => {
    const row = Array.from({ length: classes }, (_, k) => logits[i * classes + k] as number);
    return row.indexOf(Math.max(...row));
  });
}

function agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

describe('Keras-application blocks', () => {
  it('read from Keras configs (SeparableConv2D, Concatenate, Reshape, Multiply, conv with a hard_sigmoid) as stock TF.js reads them', async () => {
    // The bench fixtures' builder writes Keras-style layers, as tensorflowjs_converter does.
    const { KerasGraph } = await import('../../../scripts/fixtures/keras-graph.mjs');
    const g = new KerasGraph('keras_blocks', 4);
    let x = g.input(16, 3);
    x = g.activation('sep_relu', g.bn('sep_bn', g.separable('sep', x, 8, 3, 2, 3), 8), 'relu');
    const branch = g.activation('branch_swish', g.conv('branch', x, 4, 1, 1, 8), 'swish');
    x = g.concat('joined', [x, branch]);
    x = g.squeezeExcite('se', x, 12, 3, 'hard_sigmoid');
    x = g.layer('GlobalAveragePooling2D', 'pool', { data_format: 'channels_last' }, [x]);
    g.dense('logits', x, 5, 12);
    const path = g.write(await mkdtemp(join(tmpdir(), 'dfq-keras-')), 'logits', 'test');
    const { graph } = await loadModel(path);
    expect(graph.nodes.map((n) => n.name)).toEqual(
      expect.arrayContaining([
        'sep_depthwise',
        'sep',
        'se_expand_preactivation',
        'se_expand',
        'joined',
        'se_excite',
      ]),
    );
    const stock = await loadStockLayersModel(path);
    const runner = new GraphRunner(graph);
    const x16 = tf.randomUniform([8, 16, 16, 3], -2, 2, 'float32', 9);
    const [a, b] = [stock.predict(x16) as tf.Tensor, runner.predict(x16)];
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
    tf.dispose([a, b, x16]);
    stock.dispose();
    runner.dispose();
    expect(diff).toBeLessThan(1e-4);
  });

  it('read LeakyReLU, PReLU, Rescaling, Cropping2D, UpSampling2D, gelu, GlobalMaxPooling2D and BatchNorm after Dense as stock TF.js does, and run them integer-only', async () => {
    const { KerasGraph } = await import('../../../scripts/fixtures/keras-graph.mjs');
    const g = new KerasGraph('keras_more', 6);
    let x = g.input(16, 3);
    x = g.layer('Rescaling', 'rescale', { scale: 2, offset: -1 }, [x]);
    x = g.layer('LeakyReLU', 'leaky', { alpha: 0.1 }, [g.bn('c1_bn', g.conv('c1', x, 8, 3, 1, 3), 8)]);
    x = g.layer(
      'Cropping2D',
      'crop',
      {
        cropping: [
          [1, 1],
          [2, 0],
        ],
        data_format: 'channels_last',
      },
      [x],
    );
    x = g.layer(
      'UpSampling2D',
      'up',
      { size: [2, 2], interpolation: 'nearest', data_format: 'channels_last' },
      [x],
    );
    x = g.layer('PReLU', 'prelu', { shared_axes: [1, 2] }, [g.bn('c2_bn', g.conv('c2', x, 8, 3, 2, 8), 8)]);
    g.weight('prelu/alpha', [1, 1, 8], (_: number, i: number) => 0.05 * (i - 3));
    x = g.activation('gelu', x, 'gelu');
    x = g.layer('GlobalMaxPooling2D', 'maxpool', { data_format: 'channels_last' }, [x]);
    x = g.bn('logits_bn', g.dense('logits', x, 6, 8), 6);
    // A BatchNorm after Dense normalizes the last axis of a rank-2 tensor.
    g.layers.at(-1).config.axis = -1;
    const path = g.write(await mkdtemp(join(tmpdir(), 'dfq-keras-')), x, 'test');
    const { graph } = await loadModel(path);
    const stock = await loadStockLayersModel(path);
    const runner = new GraphRunner(graph);
    const pixels = tf.randomUniform([64, 16, 16, 3], 0, 1, 'float32', 2);
    const [a, b] = [stock.predict(pixels) as tf.Tensor, runner.predict(pixels)];
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
    const fp32 = top1(b);
    tf.dispose([a, b]);
    stock.dispose();
    runner.dispose();
    expect(diff).toBeLessThan(1e-4);

    // The folded graph quantized at W8A8; lookups, crop and upsample on the integer grid.
    const folded = foldBatchNorm(graph).graph;
    const plan = planQuantization(folded, {
      weightBits: 8,
      activationBits: 8,
      firstLastBits: 8,
      residualBits: null,
    });
    const profile = calibrate(
      new GraphRunner(folded),
      pixels as tf.Tensor4D,
      plan.activationBits.keys(),
      (n) => ({
        bits: plan.activationBits.get(n) as number,
      }),
    );
    const quantized = quantizeModel(folded, plan, new Map(Object.entries(profile.ranges)));
    const fqRunner = new GraphRunner(quantized.graph);
    const fake = top1(fqRunner.predict(pixels, activationFakeQuant(quantized)));
    fqRunner.dispose();
    expect(agreement(fake, fp32)).toBeGreaterThanOrEqual(0.9);
    const integer = toIntegerModel(quantized);
    expect(integer.nodes.map((n) => n.op)).toEqual(
      expect.arrayContaining(['crop', 'upsample', 'globalMaxPool', 'lookup']),
    );
    const { logits } = runInteger(
      integer,
      quantizeNormalized(pixels.dataSync() as Float32Array, integerInput(integer).grid),
      64,
    );
    expect(agreement(argmaxRows(logits, 64), fake)).toBeGreaterThanOrEqual(0.98);
    const bytes = exportOnnx(quantized.graph, { inputLayout: 'nhwc', producer: 'test' }, quantized).bytes;
    const data = pixels.dataSync() as Float32Array;
    const ort = await runOnnxTop1(bytes, (from, to) => data.subarray(from * 768, to * 768), 64, [16, 16, 3], {
      inputLayout: 'nhwc',
    });
    expect(agreement(ort.predictions, fake)).toBeGreaterThanOrEqual(0.98);
    pixels.dispose();
  });

  it('compute in float what stock TF.js computes, through dfq’s own model.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dfq-blocks-'));
    const path = await saveLayersModel(GRAPH, dir);
    const stock = await loadStockLayersModel(path);
    const { graph } = await loadModel(path, { requireBatchNorm: false });
    const runner = new GraphRunner(graph);
    const [a, b] = [stock.predict(images) as tf.Tensor, runner.predict(images)];
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
    expect(diff).toBeLessThan(1e-4);
    tf.dispose([a, b]);
    stock.dispose();
    runner.dispose();
  });

  it('quantize at W8A8: the integer executor and ONNX Runtime reproduce the fake-quantized model', async () => {
    const plan = planQuantization(GRAPH, {
      weightBits: 8,
      activationBits: 8,
      firstLastBits: 8,
      residualBits: null,
    });
    const runner = new GraphRunner(GRAPH);
    const profile = calibrate(runner, images, plan.activationBits.keys(), (n) => ({
      bits: plan.activationBits.get(n) as number,
    }));
    runner.dispose();
    const quantized = quantizeModel(GRAPH, plan, new Map(Object.entries(profile.ranges)));
    const fqRunner = new GraphRunner(quantized.graph);
    const fake = top1(fqRunner.predict(images, activationFakeQuant(quantized)));
    fqRunner.dispose();

    const integer = toIntegerModel(quantized);
    expect(integer.nodes.map((n) => n.op)).toEqual(expect.arrayContaining(['concat', 'multiply', 'lookup']));
    const q = quantizeNormalized(images.dataSync() as Float32Array, integerInput(integer).grid);
    const { logits } = runInteger(integer, q, N);
    expect(agreement(argmaxRows(logits, N), fake)).toBeGreaterThanOrEqual(0.99);

    const bytes = exportOnnx(quantized.graph, { inputLayout: 'nhwc', producer: 'test' }, quantized).bytes;
    const data = images.dataSync() as Float32Array;
    const ort = await runOnnxTop1(bytes, (from, to) => data.subarray(from * 432, to * 432), N, [12, 12, 3], {
      inputLayout: 'nhwc',
    });
    expect(agreement(ort.predictions, fake)).toBeGreaterThanOrEqual(0.99);
  });

  it('read back from ONNX (NCHW) with the same function, the squeeze kept 4-d as ONNX keeps it', async () => {
    // ONNX has no NHWC reshape: the squeeze keeps its [1, 1, C] shape instead (Keras keepdims).
    const nodes = GRAPH.nodes
      .filter((n) => n.name !== 'squeeze_reshape')
      .map((n): GraphNode => {
        if (n.name === 'squeeze')
          return { op: 'globalAvgPool', name: 'squeeze', inputs: ['joined'], keepDims: true };
        if (n.name === 'reduce') return { ...n, inputs: ['squeeze'] };
        return n;
      });
    const graph: ModelGraph = { ...GRAPH, nodes };
    // Its TF.js export writes the kept dims as a Reshape after the pool, which stock TF.js must load.
    const stock = await loadStockLayersModel(
      await saveLayersModel(graph, await mkdtemp(join(tmpdir(), 'dfq-blocks-'))),
    );
    const fromStock = stock.predict(images) as tf.Tensor;
    const ownRunner = new GraphRunner(graph);
    const own = ownRunner.predict(images);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(fromStock, own))).dataSync()[0] as number)).toBeLessThan(1e-4);
    tf.dispose([fromStock, own]);
    ownRunner.dispose();
    stock.dispose();
    const path = join(await mkdtemp(join(tmpdir(), 'dfq-blocks-')), 'model.onnx');
    await writeFile(path, exportOnnx(graph, { inputLayout: 'nchw', producer: 'test' }).bytes);
    const imported = (await loadOnnxModel(path, { requireBatchNorm: false })).graph;
    expect(imported.nodes.map((n) => n.op)).toEqual(expect.arrayContaining(['concat', 'multiply']));
    const [a, b] = [graph, imported].map((g) => {
      const runner = new GraphRunner(g);
      const out = runner.predict(images);
      runner.dispose();
      return out;
    });
    const diff = tf.tidy(
      () => tf.max(tf.abs(tf.sub(a as tf.Tensor, b as tf.Tensor))).dataSync()[0] as number,
    );
    tf.dispose([a, b]);
    expect(diff).toBeLessThan(1e-4);
  });
});
