import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { roundHalfEven } from '../util/round.js';
import { modelFootprint } from './footprint.js';
import type { GraphNode, ModelGraph, WeightTensor } from './graph.js';
import { inputNode } from './graph.js';

interface LayerJson {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
  inbound_nodes: [string, number, number, Record<string, never>][][];
}

const WEIGHT_SUFFIXES: Record<string, (n: GraphNode) => [string, WeightTensor | undefined][]> = {
  conv2d: (n) =>
    n.op === 'conv2d'
      ? [
          ['kernel', n.kernel],
          ['bias', n.bias],
        ]
      : [],
  depthwiseConv2d: (n) =>
    n.op === 'depthwiseConv2d'
      ? [
          ['depthwise_kernel', n.kernel],
          ['bias', n.bias],
        ]
      : [],
  dense: (n) =>
    n.op === 'dense'
      ? [
          ['kernel', n.kernel],
          ['bias', n.bias],
        ]
      : [],
  batchNorm: (n) =>
    n.op === 'batchNorm'
      ? [
          ['gamma', n.gamma],
          ['beta', n.beta],
          ['moving_mean', n.movingMean],
          ['moving_variance', n.movingVariance],
        ]
      : [],
  leakyRelu: (n) =>
    n.op === 'leakyRelu' && n.alpha.data.length > 1
      ? [['alpha', { shape: [1, 1, n.alpha.data.length], data: n.alpha.data }]]
      : [],
  // A per-channel affine map is written as a BatchNorm that computes exactly x·scale + offset.
  channelAffine: (n) =>
    n.op === 'channelAffine' && n.scale.data.length > 1
      ? [
          ['gamma', n.scale],
          ['beta', n.offset],
          ['moving_mean', { shape: n.scale.shape, data: new Float32Array(n.scale.data.length) }],
          [
            'moving_variance',
            { shape: n.scale.shape, data: new Float32Array(n.scale.data.length).fill(1 - AFFINE_EPSILON) },
          ],
        ]
      : [],
};

/** The epsilon of the BatchNorm that stands for a channel affine map (variance 1 - epsilon). */
const AFFINE_EPSILON = 2 ** -10;

/** Keras class and config for one node; an add with a fused activation becomes Add + Activation. */
function layerFor(node: GraphNode): { class_name: string; config: Record<string, unknown> } {
  switch (node.op) {
    case 'input':
      return {
        class_name: 'InputLayer',
        config: { batch_input_shape: [null, ...node.shape], dtype: 'float32', sparse: false },
      };
    case 'conv2d':
    case 'depthwiseConv2d': {
      const k = node.kernel.shape;
      const common = {
        kernel_size: [k[0], k[1]],
        strides: node.strides,
        padding: node.padding,
        data_format: 'channels_last',
        dilation_rate: node.dilations,
        activation: node.activation,
        use_bias: node.bias !== undefined,
      };
      return node.op === 'conv2d'
        ? { class_name: 'Conv2D', config: { filters: k[3], ...common } }
        : { class_name: 'DepthwiseConv2D', config: { depth_multiplier: k[3], ...common } };
    }
    case 'dense':
      return {
        class_name: 'Dense',
        config: {
          units: node.kernel.shape[1],
          activation: node.activation,
          use_bias: node.bias !== undefined,
        },
      };
    case 'batchNorm':
      return {
        class_name: 'BatchNormalization',
        config: { axis: -1, epsilon: node.epsilon, center: true, scale: true },
      };
    case 'activation':
      return { class_name: 'Activation', config: { activation: node.activation } };
    case 'add':
      return { class_name: 'Add', config: {} };
    case 'zeroPad':
      return { class_name: 'ZeroPadding2D', config: { padding: node.padding, data_format: 'channels_last' } };
    case 'maxPool':
    case 'avgPool':
      return {
        class_name: node.op === 'maxPool' ? 'MaxPooling2D' : 'AveragePooling2D',
        config: {
          pool_size: node.poolSize,
          strides: node.strides,
          padding: node.padding,
          data_format: 'channels_last',
        },
      };
    case 'globalAvgPool':
      // TF.js has no keepdims: a kept [1, 1, C] is written as a Reshape after the pool (below).
      return { class_name: 'GlobalAveragePooling2D', config: { data_format: 'channels_last' } };
    case 'concat':
      return { class_name: 'Concatenate', config: { axis: -1 } };
    case 'multiply':
      return { class_name: 'Multiply', config: {} };
    case 'reshape':
      return { class_name: 'Reshape', config: { target_shape: node.shape } };
    case 'leakyRelu':
      return node.alpha.data.length === 1
        ? { class_name: 'LeakyReLU', config: { alpha: node.alpha.data[0] } }
        : { class_name: 'PReLU', config: { shared_axes: [1, 2] } };
    case 'channelAffine':
      return node.scale.data.length === 1
        ? { class_name: 'Rescaling', config: { scale: node.scale.data[0], offset: node.offset.data[0] } }
        : {
            class_name: 'BatchNormalization',
            config: { axis: -1, epsilon: AFFINE_EPSILON, center: true, scale: true },
          };
    case 'globalMaxPool':
      return { class_name: 'GlobalMaxPooling2D', config: { data_format: 'channels_last' } };
    case 'crop':
      return { class_name: 'Cropping2D', config: { cropping: node.cropping, data_format: 'channels_last' } };
    case 'upsample':
      return {
        class_name: 'UpSampling2D',
        config: { size: node.size, interpolation: 'nearest', data_format: 'channels_last' },
      };
    case 'flatten':
      return { class_name: 'Flatten', config: {} };
    case 'identity':
      return { class_name: 'Dropout', config: { rate: 0 } };
  }
}

/** How the weights manifest stores weights: plain float32, or TF.js's own per-tensor affine uint8/uint16. */
export type ManifestWeightDtype = 'float32' | 'uint8' | 'uint16';

export interface SaveLayersModelOptions {
  /** Default float32. uint8/uint16 are dequantized by every TF.js loader as value = q * scale + min. */
  weightDtype?: ManifestWeightDtype;
}

/** One tensor in TF.js's affine weight quantization, as its manifest entry stores it. */
export interface ManifestQuantized {
  dtype: 'uint8' | 'uint16';
  scale: number;
  min: number;
  q: Uint8Array | Uint16Array;
}

/**
 * TF.js's per-tensor affine quantization of one weight tensor, chosen as tensorflowjs_converter
 * does: scale = (max - min) / (2^bits - 1), with min nudged to a multiple of scale when the range
 * spans 0 so that 0 stays exact (dead channels and zero-grid weights survive). Every value then
 * dequantizes within scale / 2: the nudge moves each end by at most scale / 2 and clipping there
 * costs no more. A constant tensor is stored as q = 0 with min = its value and scale 1: exact.
 */
export function quantizeForManifest(data: Float32Array, dtype: 'uint8' | 'uint16'): ManifestQuantized {
  const levels = dtype === 'uint8' ? 255 : 65535;
  const q = dtype === 'uint8' ? new Uint8Array(data.length) : new Uint16Array(data.length);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of data) {
    if (!Number.isFinite(v)) throw new Error(`cannot quantize a weight holding ${v}`);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) return { dtype, scale: 1, min: data.length ? lo : 0, q };
  const scale = (hi - lo) / levels;
  const min = lo <= 0 && hi >= 0 ? -roundHalfEven(-lo / scale) * scale : lo;
  const max = min + levels * scale;
  for (let i = 0; i < data.length; i++) {
    const v = Math.min(max, Math.max(min, data[i] as number));
    q[i] = Math.min(levels, Math.max(0, roundHalfEven((v - min) / scale)));
  }
  return { dtype, scale, min, q };
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  quantization?: { dtype: 'uint8' | 'uint16'; scale: number; min: number };
}

/** The manifest entry and shard bytes of one weight in the chosen storage dtype. */
function encodeWeight(
  name: string,
  w: WeightTensor,
  dtype: ManifestWeightDtype,
): { entry: ManifestEntry; bytes: Uint8Array } {
  if (dtype === 'float32') {
    const bytes = new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength);
    return { entry: { name, shape: w.shape, dtype: 'float32' }, bytes };
  }
  let quantized: ManifestQuantized;
  try {
    quantized = quantizeForManifest(w.data, dtype);
  } catch (err) {
    throw new Error(`weight ${name}: ${(err as Error).message}`);
  }
  const { scale, min, q } = quantized;
  return {
    // dtype stays float32: it is what the tensor decodes to; quantization.dtype is what is stored.
    entry: { name, shape: w.shape, dtype: 'float32', quantization: { dtype, scale, min } },
    bytes: new Uint8Array(q.buffer, q.byteOffset, q.byteLength),
  };
}

/**
 * Writes a graph as a TF.js Layers model (Keras 2 functional topology + one shard) that stock
 * `tf.loadLayersModel` can read. `metadata` lands in userDefinedMetadata. Weights are float32
 * unless `options.weightDtype` asks for TF.js's uint8/uint16 manifest quantization.
 */
export async function saveLayersModel(
  graph: ModelGraph,
  dir: string,
  metadata: Record<string, unknown> = {},
  options: SaveLayersModelOptions = {},
): Promise<string> {
  const weightDtype = options.weightDtype ?? 'float32';
  const layers: LayerJson[] = [];
  const weights: ManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  const outputOf = new Map<string, string>();
  const { shapes } = modelFootprint(graph);
  const inbound = (node: GraphNode): LayerJson['inbound_nodes'] =>
    node.inputs.length === 0
      ? []
      : [
          node.inputs.map(
            (i) => [outputOf.get(i) ?? i, 0, 0, {}] as [string, number, number, Record<string, never>],
          ),
        ];

  for (const node of graph.nodes) {
    const { class_name, config } = layerFor(node);
    layers.push({
      class_name,
      name: node.name,
      config: { name: node.name, trainable: false, ...config },
      inbound_nodes: inbound(node),
    });
    for (const [suffix, w] of WEIGHT_SUFFIXES[node.op]?.(node) ?? []) {
      if (!w) continue;
      const { entry, bytes } = encodeWeight(`${node.name}/${suffix}`, w, weightDtype);
      weights.push(entry);
      chunks.push(bytes);
    }
    outputOf.set(node.name, node.name);
    if (node.op === 'add' && node.activation !== 'linear') {
      const act = `${node.name}_${node.activation}`;
      layers.push({
        class_name: 'Activation',
        name: act,
        config: { name: act, trainable: false, activation: node.activation },
        inbound_nodes: [[[node.name, 0, 0, {}]]],
      });
      outputOf.set(node.name, act);
    }
    if ((node.op === 'globalAvgPool' || node.op === 'globalMaxPool') && node.keepDims) {
      const kept = `${node.name}_keepdims`;
      layers.push({
        class_name: 'Reshape',
        name: kept,
        // A concrete channel count: TF.js leaves a -1 unresolved, and a Flatten after it then fails.
        config: { name: kept, trainable: false, target_shape: shapes.get(node.name) ?? [1, 1, -1] },
        inbound_nodes: [[[node.name, 0, 0, {}]]],
      });
      outputOf.set(node.name, kept);
    }
  }
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const data = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    data.set(c, offset);
    offset += c.length;
  }
  const shard = 'group1-shard1of1.bin';
  const output = outputOf.get(graph.outputName) ?? graph.outputName;
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'dfq',
    convertedBy: null,
    modelTopology: {
      class_name: 'Functional',
      keras_version: '2.13.1',
      backend: 'tensorflow',
      config: {
        name: graph.name,
        layers,
        input_layers: [[inputNode(graph).name, 0, 0]],
        output_layers: [[output, 0, 0]],
      },
    },
    weightsManifest: [{ paths: [shard], weights }],
    userDefinedMetadata: {
      ...graph.metadata,
      inputMean:
        graph.normalization.mean.length === 1 ? graph.normalization.mean[0] : graph.normalization.mean,
      inputStd: graph.normalization.std.length === 1 ? graph.normalization.std[0] : graph.normalization.std,
      ...metadata,
    },
  };
  await writeFileAtomic(join(dir, shard), data);
  const modelPath = join(dir, 'model.json');
  await writeFileAtomic(modelPath, JSON.stringify(modelJson));
  return modelPath;
}
