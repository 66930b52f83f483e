import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
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
};

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
      return { class_name: 'GlobalAveragePooling2D', config: { data_format: 'channels_last' } };
    case 'flatten':
      return { class_name: 'Flatten', config: {} };
    case 'identity':
      return { class_name: 'Dropout', config: { rate: 0 } };
  }
}

/**
 * Writes a graph as a TF.js Layers model (Keras 2 functional topology + one float32 shard)
 * that stock `tf.loadLayersModel` can read. `metadata` lands in userDefinedMetadata.
 */
export async function saveLayersModel(
  graph: ModelGraph,
  dir: string,
  metadata: Record<string, unknown> = {},
): Promise<string> {
  const layers: LayerJson[] = [];
  const weights: { name: string; shape: number[]; dtype: 'float32' }[] = [];
  const chunks: Float32Array[] = [];
  const outputOf = new Map<string, string>();
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
      weights.push({ name: `${node.name}/${suffix}`, shape: w.shape, dtype: 'float32' });
      chunks.push(w.data);
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
  }
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const data = new Float32Array(total);
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
  await writeFileAtomic(join(dir, shard), new Uint8Array(data.buffer));
  const modelPath = join(dir, 'model.json');
  await writeFileAtomic(modelPath, JSON.stringify(modelJson));
  return modelPath;
}
