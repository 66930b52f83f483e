import type { Activation, GraphNode, Padding, WeightTensor } from './graph.js';

/** One entry of a Keras 2 / TF.js Layers topology's `config.layers`. */
export interface KerasLayerJson {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown[];
}

export const SUPPORTED_LAYERS = [
  'InputLayer',
  'Conv2D',
  'DepthwiseConv2D',
  'BatchNormalization',
  'ReLU',
  'Activation',
  'Add',
  'ZeroPadding2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'Flatten',
  'Dense',
  'Dropout',
  'Concatenate',
  'SeparableConv2D',
  'Multiply',
  'Reshape',
  'LeakyReLU',
  'PReLU',
  'Rescaling',
  'Normalization',
  'GlobalMaxPooling2D',
  'Cropping2D',
  'UpSampling2D',
] as const;

/** Keras activation names dfq reads, to its own (silu is Keras 3's name for swish). */
const ACTIVATIONS: Readonly<Record<string, Activation>> = {
  linear: 'linear',
  relu: 'relu',
  relu6: 'relu6',
  softmax: 'softmax',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  hard_sigmoid: 'hard_sigmoid',
  swish: 'swish',
  silu: 'swish',
  hard_swish: 'hard_swish',
  hard_silu: 'hard_swish',
  gelu: 'gelu',
};

/** Activations a conv or dense layer keeps fused; any other becomes a layer of its own after it. */
const FUSED: ReadonlySet<Activation> = new Set(['linear', 'relu', 'relu6', 'softmax']);

/** Why a layer cannot be converted, phrased for the user; undefined when it can. */
export function unsupportedReason(layer: KerasLayerJson): string | undefined {
  const cls = layer.class_name;
  if (!(SUPPORTED_LAYERS as readonly string[]).includes(cls)) return `layer type ${cls} is not supported`;
  const c = layer.config;
  const act = c.activation;
  if (act !== undefined && (typeof act !== 'string' || !(act in ACTIVATIONS))) {
    return `activation ${JSON.stringify(act)} is not supported (supported: ${Object.keys(ACTIVATIONS).join(', ')})`;
  }
  if (c.data_format !== undefined && c.data_format !== 'channels_last')
    return 'only channels_last is supported';
  if (cls === 'BatchNormalization') {
    const axis = Array.isArray(c.axis) ? c.axis[0] : c.axis;
    if (axis !== -1 && axis !== 3 && axis !== 1)
      return `BatchNormalization over axis ${String(axis)} is not supported`;
  }
  if (cls === 'Concatenate' && c.axis !== undefined && c.axis !== -1 && c.axis !== 3)
    return `concatenation along axis ${String(c.axis)} is not supported (only channels, axis -1)`;
  if (cls === 'SeparableConv2D' && c.depth_multiplier !== undefined && c.depth_multiplier !== 1)
    return 'SeparableConv2D with depth_multiplier other than 1 is not supported';
  if (cls === 'UpSampling2D' && c.interpolation !== undefined && c.interpolation !== 'nearest')
    return `UpSampling2D with ${String(c.interpolation)} interpolation is not supported (only nearest)`;
  if (cls === 'PReLU') {
    const shared = Array.isArray(c.shared_axes) ? c.shared_axes.map(Number).sort().join() : '';
    if (shared !== '1,2') return 'PReLU is supported with one slope per channel (shared_axes [1, 2])';
  }
  if (cls === 'ReLU') {
    const slope = Number(c.negative_slope ?? 0);
    if (slope !== 0 && c.max_value !== undefined && c.max_value !== null)
      return 'ReLU with both negative_slope and max_value is not supported';
    if (c.threshold !== undefined && c.threshold !== 0) return 'ReLU with a threshold is not supported';
    if (c.max_value !== undefined && c.max_value !== null && c.max_value !== 6) {
      return `ReLU max_value ${String(c.max_value)} is not supported (only 6)`;
    }
  }
  return undefined;
}

export type WeightLookup = (suffix: string) => WeightTensor | undefined;

function pair(value: unknown, fallback: number): [number, number] {
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value) && value.length === 2) return [Number(value[0]), Number(value[1])];
  return [fallback, fallback];
}

function padding(value: unknown): Padding {
  return value === 'same' ? 'same' : 'valid';
}

function activation(value: unknown): Activation {
  return typeof value === 'string' ? (ACTIVATIONS[value] ?? 'linear') : 'linear';
}

function zeroPadding(value: unknown): [[number, number], [number, number]] {
  if (typeof value === 'number')
    return [
      [value, value],
      [value, value],
    ];
  if (Array.isArray(value) && value.length === 2) {
    const [h, w] = value as unknown[];
    const side = (v: unknown): [number, number] =>
      typeof v === 'number' ? [v, v] : [Number((v as number[])[0]), Number((v as number[])[1])];
    return [side(h), side(w)];
  }
  return [
    [1, 1],
    [1, 1],
  ];
}

/**
 * Converts one supported Keras layer into graph nodes, the last of which carries the layer's name:
 * usually one; a SeparableConv2D becomes its depthwise and pointwise convolutions, and a conv or
 * dense layer with an activation other than ReLU becomes the layer then the activation (so that
 * its output is quantized before the activation, as the integer model computes it).
 * `weight(suffix)` returns the layer's weight named `<layer>/<suffix>`; `require` throws a
 * ModelLoadError naming layer and weight.
 */
export function toGraphNodes(
  layer: KerasLayerJson,
  name: string,
  inputs: string[],
  require: (suffix: string) => WeightTensor,
  optional: WeightLookup,
): GraphNode[] {
  const c = layer.config;
  if (layer.class_name === 'SeparableConv2D') {
    const depthwise = `${name}_depthwise`;
    const pointwise = toGraphNode(
      {
        ...layer,
        class_name: 'Conv2D',
        config: { ...c, kernel_size: 1, strides: 1, padding: 'valid', dilation_rate: 1 },
      },
      name,
      [depthwise],
      (suffix) => require(suffix === 'kernel' ? 'pointwise_kernel' : suffix),
      optional,
    );
    const first: GraphNode = {
      op: 'depthwiseConv2d',
      name: depthwise,
      inputs,
      kernel: require('depthwise_kernel'),
      strides: pair(c.strides, 1),
      padding: padding(c.padding),
      dilations: pair(c.dilation_rate, 1),
      activation: 'linear',
    };
    return [first, ...splitActivation(pointwise)];
  }
  return splitActivation(toGraphNode(layer, name, inputs, require, optional));
}

function splitActivation(node: GraphNode): GraphNode[] {
  if (!('kernel' in node) || FUSED.has(node.activation)) return [node];
  const preactivation = `${node.name}_preactivation`;
  return [
    { ...node, name: preactivation, activation: 'linear' },
    { op: 'activation', name: node.name, inputs: [preactivation], activation: node.activation },
  ];
}

function toGraphNode(
  layer: KerasLayerJson,
  name: string,
  inputs: string[],
  require: (suffix: string) => WeightTensor,
  optional: WeightLookup,
): GraphNode {
  const c = layer.config;
  switch (layer.class_name) {
    case 'InputLayer': {
      const shape = (c.batch_input_shape ?? c.batch_shape) as (number | null)[] | undefined;
      return { op: 'input', name, inputs: [], shape: (shape ?? []).slice(1).map((d) => Number(d)) };
    }
    case 'Conv2D':
    case 'DepthwiseConv2D': {
      const isDepthwise = layer.class_name === 'DepthwiseConv2D';
      const useBias = c.use_bias !== false;
      const common = {
        name,
        inputs,
        kernel: require(isDepthwise ? 'depthwise_kernel' : 'kernel'),
        strides: pair(c.strides, 1),
        padding: padding(c.padding),
        dilations: pair(c.dilation_rate, 1),
        activation: activation(c.activation),
      };
      const bias = useBias ? require('bias') : undefined;
      return isDepthwise
        ? { op: 'depthwiseConv2d', ...common, ...(bias ? { bias } : {}) }
        : { op: 'conv2d', ...common, ...(bias ? { bias } : {}) };
    }
    case 'Dense': {
      const bias = c.use_bias !== false ? require('bias') : undefined;
      return {
        op: 'dense',
        name,
        inputs,
        kernel: require('kernel'),
        ...(bias ? { bias } : {}),
        activation: activation(c.activation),
      };
    }
    case 'BatchNormalization': {
      const channels = require('moving_mean').shape;
      const filled = (v: number): WeightTensor => ({
        shape: channels,
        data: new Float32Array(channels[0] ?? 0).fill(v),
      });
      return {
        op: 'batchNorm',
        name,
        inputs,
        gamma: c.scale === false ? filled(1) : require('gamma'),
        beta: c.center === false ? filled(0) : (optional('beta') ?? filled(0)),
        movingMean: require('moving_mean'),
        movingVariance: require('moving_variance'),
        epsilon: typeof c.epsilon === 'number' ? c.epsilon : 1e-3,
      };
    }
    case 'ReLU': {
      const slope = Number(c.negative_slope ?? 0);
      if (slope !== 0)
        return { op: 'leakyRelu', name, inputs, alpha: { shape: [1], data: Float32Array.of(slope) } };
      return { op: 'activation', name, inputs, activation: c.max_value === 6 ? 'relu6' : 'relu' };
    }
    case 'LeakyReLU': {
      // Keras 2 and TF.js call the slope alpha; Keras 3 negative_slope.
      const slope = Number(c.negative_slope ?? c.alpha ?? 0.3);
      return { op: 'leakyRelu', name, inputs, alpha: { shape: [1], data: Float32Array.of(slope) } };
    }
    case 'PReLU': {
      const alpha = require('alpha');
      return { op: 'leakyRelu', name, inputs, alpha: { shape: [alpha.data.length], data: alpha.data } };
    }
    case 'Rescaling': {
      const list = (v: unknown, fallback: number) =>
        Float32Array.from(Array.isArray(v) ? v.map(Number) : [typeof v === 'number' ? v : fallback]);
      const scale = list(c.scale, 1);
      const offset = list(c.offset, 0);
      const n = Math.max(scale.length, offset.length);
      const widen = (a: Float32Array) => (a.length === n ? a : new Float32Array(n).fill(a[0] as number));
      return {
        op: 'channelAffine',
        name,
        inputs,
        scale: { shape: [n], data: widen(scale) },
        offset: { shape: [n], data: widen(offset) },
      };
    }
    case 'Normalization': {
      // y = (x - mean) / max(sqrt(variance), 1e-7), Keras's definition, from the adapted weights or the config.
      const fromConfig = (v: unknown) =>
        Array.isArray(v) || typeof v === 'number' ? Float32Array.from([v].flat().map(Number)) : undefined;
      const mean = optional('mean')?.data ?? fromConfig(c.mean) ?? require('mean').data;
      const variance = optional('variance')?.data ?? fromConfig(c.variance) ?? require('variance').data;
      const scale = Float32Array.from(variance, (v) => 1 / Math.max(Math.sqrt(v), 1e-7));
      return {
        op: 'channelAffine',
        name,
        inputs,
        scale: { shape: [scale.length], data: scale },
        offset: { shape: [scale.length], data: Float32Array.from(mean, (m, i) => -m * (scale[i] as number)) },
      };
    }
    case 'GlobalMaxPooling2D':
      return { op: 'globalMaxPool', name, inputs, ...(c.keepdims === true ? { keepDims: true } : {}) };
    case 'Cropping2D':
      return { op: 'crop', name, inputs, cropping: zeroPadding(c.cropping ?? 0) };
    case 'UpSampling2D':
      return { op: 'upsample', name, inputs, size: pair(c.size, 2) };
    case 'Activation':
      return { op: 'activation', name, inputs, activation: activation(c.activation) };
    case 'Add':
      return { op: 'add', name, inputs, activation: 'linear' };
    case 'ZeroPadding2D':
      return { op: 'zeroPad', name, inputs, padding: zeroPadding(c.padding) };
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const poolSize = pair(c.pool_size, 2);
      return {
        op: layer.class_name === 'MaxPooling2D' ? 'maxPool' : 'avgPool',
        name,
        inputs,
        poolSize,
        strides: c.strides === null || c.strides === undefined ? poolSize : pair(c.strides, 1),
        padding: padding(c.padding),
      };
    }
    case 'GlobalAveragePooling2D':
      return { op: 'globalAvgPool', name, inputs, ...(c.keepdims === true ? { keepDims: true } : {}) };
    case 'Concatenate':
      return { op: 'concat', name, inputs };
    case 'Multiply':
      return { op: 'multiply', name, inputs };
    case 'Reshape':
      return { op: 'reshape', name, inputs, shape: (c.target_shape as number[]).map(Number) };
    case 'Flatten':
      return { op: 'flatten', name, inputs };
    case 'Dropout':
      return { op: 'identity', name, inputs };
    default:
      throw new Error(`unreachable: ${layer.class_name} passed the support check`);
  }
}
