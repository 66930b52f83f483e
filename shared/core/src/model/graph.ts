/**
 * The model as dfq sees it: a DAG of nodes in topological order, weights as plain typed arrays.
 * Everything downstream (execution, BN folding, quantization, export) works on this form,
 * never on tfjs-layers objects, so that hooks and rewrites stay explicit.
 */

export type Activation =
  | 'linear'
  | 'relu'
  | 'relu6'
  | 'softmax'
  | 'sigmoid'
  | 'tanh'
  | 'hard_sigmoid'
  | 'swish'
  | 'hard_swish'
  | 'gelu';

export type Padding = 'same' | 'valid';

/** A dense float tensor: row-major data and its shape (HWIO for conv kernels, [in,out] for dense). */
export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

interface NodeBase {
  /** Unique layer name, as in model.json. */
  name: string;
  /** Names of the nodes whose outputs feed this one, in order. */
  inputs: string[];
}

export interface InputNode extends NodeBase {
  op: 'input';
  /** Shape without the batch dimension, e.g. [28, 28, 1]. */
  shape: number[];
}

interface ConvolutionFields extends NodeBase {
  kernel: WeightTensor;
  bias?: WeightTensor;
  strides: [number, number];
  padding: Padding;
  dilations: [number, number];
  activation: Activation;
}

export interface Conv2DNode extends ConvolutionFields {
  op: 'conv2d';
}

export interface DepthwiseConv2DNode extends ConvolutionFields {
  /** kernel: [kh, kw, inChannels, multiplier] */
  op: 'depthwiseConv2d';
}

export interface DenseNode extends NodeBase {
  op: 'dense';
  kernel: WeightTensor;
  bias?: WeightTensor;
  activation: Activation;
}

export interface BatchNormNode extends NodeBase {
  op: 'batchNorm';
  gamma: WeightTensor;
  beta: WeightTensor;
  movingMean: WeightTensor;
  movingVariance: WeightTensor;
  epsilon: number;
}

export interface ActivationNode extends NodeBase {
  op: 'activation';
  activation: Activation;
}

export interface AddNode extends NodeBase {
  op: 'add';
  /** Activation applied after the sum (set when a following ReLU is fused in). */
  activation: Activation;
}

export interface ZeroPadNode extends NodeBase {
  op: 'zeroPad';
  /** [[top, bottom], [left, right]] */
  padding: [[number, number], [number, number]];
}

export interface PoolNode extends NodeBase {
  op: 'maxPool' | 'avgPool';
  poolSize: [number, number];
  strides: [number, number];
  padding: Padding;
}

export interface GlobalAvgPoolNode extends NodeBase {
  op: 'globalAvgPool';
  /** Output [1, 1, C] instead of [C] (Keras keepdims, as squeeze-excite blocks use). */
  keepDims?: boolean;
}

export interface ConcatNode extends NodeBase {
  /** Along channels (the last axis). */
  op: 'concat';
}

export interface MultiplyNode extends NodeBase {
  /** Elementwise product of two inputs; a [1, 1, C] input broadcasts over height and width. */
  op: 'multiply';
}

/** max(x, alpha·x) with one alpha (LeakyReLU) or one per channel (PReLU). */
export interface LeakyReluNode extends NodeBase {
  op: 'leakyRelu';
  alpha: WeightTensor;
}

/** y = x·scale[c] + offset[c]: Keras Rescaling and Normalization inside the model. No statistics. */
export interface ChannelAffineNode extends NodeBase {
  op: 'channelAffine';
  scale: WeightTensor;
  offset: WeightTensor;
}

export interface GlobalMaxPoolNode extends NodeBase {
  op: 'globalMaxPool';
  keepDims?: boolean;
}

export interface CropNode extends NodeBase {
  op: 'crop';
  /** [[top, bottom], [left, right]] rows and columns removed. */
  cropping: [[number, number], [number, number]];
}

/** Nearest-neighbour upsampling by whole factors. */
export interface UpsampleNode extends NodeBase {
  op: 'upsample';
  size: [number, number];
}

export interface ReshapeNode extends NodeBase {
  /** Row-major data unchanged; target shape without the batch. */
  op: 'reshape';
  shape: number[];
}

export interface FlattenNode extends NodeBase {
  op: 'flatten';
}

export interface IdentityNode extends NodeBase {
  /** Dropout and other layers that do nothing at inference. */
  op: 'identity';
}

export type GraphNode =
  | InputNode
  | Conv2DNode
  | DepthwiseConv2DNode
  | DenseNode
  | BatchNormNode
  | ActivationNode
  | AddNode
  | ZeroPadNode
  | PoolNode
  | GlobalAvgPoolNode
  | ConcatNode
  | MultiplyNode
  | ReshapeNode
  | LeakyReluNode
  | ChannelAffineNode
  | GlobalMaxPoolNode
  | CropNode
  | UpsampleNode
  | FlattenNode
  | IdentityNode;

export type WeightedNode = Conv2DNode | DepthwiseConv2DNode | DenseNode;

export interface InputNormalization {
  /** Per-channel (or scalar) mean subtracted from pixels in [0, 1]. */
  mean: number[];
  std: number[];
}

export interface ModelGraph {
  name: string;
  nodes: GraphNode[];
  inputName: string;
  outputName: string;
  normalization: InputNormalization;
  /** Free-form metadata carried over from model.json's userDefinedMetadata. */
  metadata: Record<string, unknown>;
}

export function isWeighted(node: GraphNode): node is WeightedNode {
  return node.op === 'conv2d' || node.op === 'depthwiseConv2d' || node.op === 'dense';
}

export function inputNode(graph: ModelGraph): InputNode {
  const node = graph.nodes.find((n) => n.name === graph.inputName);
  if (node?.op !== 'input') throw new Error(`graph ${graph.name} has no input node ${graph.inputName}`);
  return node;
}

/** Map from node name to the names of the nodes that read its output. */
export function consumers(graph: ModelGraph): Map<string, string[]> {
  const out = new Map<string, string[]>(graph.nodes.map((n) => [n.name, []]));
  for (const node of graph.nodes) for (const src of node.inputs) out.get(src)?.push(node.name);
  return out;
}

/** Output channel of each flat kernel element: HWIO's last axis, or depthwise's (in, multiplier) pair. */
export function outputChannelIndexer(node: WeightedNode): { channels: number; of: (i: number) => number } {
  const shape = node.kernel.shape;
  const channels =
    node.op === 'depthwiseConv2d'
      ? (shape[2] as number) * (shape[3] as number)
      : (shape[shape.length - 1] as number);
  return { channels, of: (i) => i % channels };
}

export function countParams(graph: ModelGraph): number {
  let total = 0;
  for (const node of graph.nodes) for (const w of nodeWeights(node)) total += w.data.length;
  return total;
}

export function nodeWeights(node: GraphNode): WeightTensor[] {
  switch (node.op) {
    case 'conv2d':
    case 'depthwiseConv2d':
    case 'dense':
      return node.bias ? [node.kernel, node.bias] : [node.kernel];
    case 'batchNorm':
      return [node.gamma, node.beta, node.movingMean, node.movingVariance];
    case 'leakyRelu':
      return [node.alpha];
    case 'channelAffine':
      return [node.scale, node.offset];
    default:
      return [];
  }
}
