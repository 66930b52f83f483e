import type { BatchNormNode, GraphNode, ModelGraph, WeightedNode } from './graph.js';
import { consumers, isWeighted, outputChannelIndexer } from './graph.js';

export interface FoldResult {
  graph: ModelGraph;
  /** BatchNorm layer name -> the layer it was folded into. */
  folded: Record<string, string>;
  /** Activation layer name -> the layer it was fused into. */
  fusedActivations: Record<string, string>;
}

function fold(node: WeightedNode, bn: BatchNormNode): WeightedNode {
  const channels = bn.gamma.data.length;
  const scale = new Float32Array(channels);
  const bias = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const s = (bn.gamma.data[c] as number) / Math.sqrt((bn.movingVariance.data[c] as number) + bn.epsilon);
    scale[c] = s;
    const b = node.bias ? (node.bias.data[c] as number) : 0;
    bias[c] = (b - (bn.movingMean.data[c] as number)) * s + (bn.beta.data[c] as number);
  }
  const channelOf = outputChannelIndexer(node).of;
  const kernel = node.kernel.data.map((w, i) => w * (scale[channelOf(i)] as number));
  return {
    ...node,
    kernel: { shape: node.kernel.shape, data: kernel },
    bias: { shape: [channels], data: bias },
  };
}

/**
 * Folds every BatchNorm that directly follows a conv/dense layer (and is its only reader) into
 * that layer's kernel and bias, then fuses a following ReLU/ReLU6 into conv, dense and add
 * layers. The result computes the same function with fewer, quantizable layers.
 */
export function foldBatchNorm(graph: ModelGraph): FoldResult {
  const readers = consumers(graph);
  const byName = new Map<string, GraphNode>(
    graph.nodes.map((n) => [n.name, { ...n }] as [string, GraphNode]),
  );
  const replaced = new Map<string, string>();
  const folded: Record<string, string> = {};
  const fusedActivations: Record<string, string> = {};
  const resolve = (name: string): string => {
    let n = name;
    while (replaced.has(n)) n = replaced.get(n) as string;
    return n;
  };

  for (const original of graph.nodes) {
    const node = byName.get(original.name) as GraphNode;
    node.inputs = node.inputs.map(resolve);
    const source = byName.get(node.inputs[0] ?? '');
    const onlyReader = (readers.get(original.inputs[0] ?? '') ?? []).length === 1;
    if (
      node.op === 'batchNorm' &&
      source &&
      isWeighted(source) &&
      source.activation === 'linear' &&
      onlyReader
    ) {
      byName.set(source.name, fold(source, node));
      byName.delete(node.name);
      replaced.set(node.name, source.name);
      folded[node.name] = source.name;
    } else if (
      node.op === 'activation' &&
      (node.activation === 'relu' || node.activation === 'relu6') &&
      source &&
      (isWeighted(source) || source.op === 'add') &&
      source.activation === 'linear' &&
      onlyReader
    ) {
      byName.set(source.name, { ...source, activation: node.activation });
      byName.delete(node.name);
      replaced.set(node.name, source.name);
      fusedActivations[node.name] = source.name;
    }
  }
  const nodes = graph.nodes.map((n) => byName.get(n.name)).filter((n): n is GraphNode => n !== undefined);
  return {
    graph: { ...graph, nodes, outputName: resolve(graph.outputName) },
    folded,
    fusedActivations,
  };
}
