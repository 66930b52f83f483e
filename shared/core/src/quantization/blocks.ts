import type { GraphNode, ModelGraph } from '../model/graph.js';
import { isWeighted } from '../model/graph.js';

/** A run of consecutive nodes that reads one tensor from before it and hands one tensor on. */
export interface Block {
  /** The tensor the block reads (the model input, or the previous block's output). */
  input: string;
  /** The block's nodes in the graph's (topological) order; the last one is its output. */
  nodes: GraphNode[];
  output: string;
}

/**
 * Splits a graph into reconstruction blocks: cut after every node whose output is the only value
 * still needed further on, so a residual block (whose branch and shortcut both read the block input)
 * stays whole, and a plain chain becomes one layer per block. Runs without weights (activations,
 * padding, pooling) join the block before them, so each block holds at least one weighted layer.
 */
export function partitionBlocks(graph: ModelGraph): Block[] {
  const position = new Map(graph.nodes.map((n, i) => [n.name, i]));
  // Where each value is read last.
  const lastRead = new Map<string, number>();
  graph.nodes.forEach((node, i) => {
    for (const src of node.inputs) lastRead.set(src, Math.max(lastRead.get(src) ?? -1, i));
  });
  const segments: GraphNode[][] = [];
  let current: GraphNode[] = [];
  graph.nodes.forEach((node, i) => {
    if (node.op === 'input') return;
    current.push(node);
    // A cut after i: no value made at or before i, other than node i's own, is read after i.
    const live = graph.nodes
      .slice(0, i + 1)
      .filter((n) => n.name !== node.name && (lastRead.get(n.name) ?? -1) > i);
    if (live.length === 0) {
      segments.push(current);
      current = [];
    }
  });
  if (current.length > 0) segments.push(current);

  const merged: GraphNode[][] = [];
  let leading: GraphNode[] = [];
  for (const segment of segments) {
    const hasWeights = segment.some(isWeighted);
    const previous = merged[merged.length - 1];
    if (hasWeights) merged.push([...leading, ...segment]);
    else if (previous) previous.push(...segment);
    else leading.push(...segment);
    if (hasWeights) leading = [];
  }
  if (merged.length === 0) throw new Error(`model ${graph.name} has no weighted layer to reconstruct`);
  return merged.map((nodes) => {
    const names = new Set(nodes.map((n) => n.name));
    const outside = [...new Set(nodes.flatMap((n) => n.inputs).filter((s) => !names.has(s)))];
    if (outside.length !== 1)
      throw new Error(
        `block ending at ${nodes[nodes.length - 1]?.name} reads ${outside.length} tensors from before it; expected one`,
      );
    const last = nodes.reduce((a, b) => ((position.get(a.name) ?? 0) > (position.get(b.name) ?? 0) ? a : b));
    return { input: outside[0] as string, nodes, output: last.name };
  });
}

/** Name of a block's own input node in its subgraph (kept apart from the model's node names). */
export const BLOCK_INPUT = '__block_input__';

/** A block as a graph of its own, reading BLOCK_INPUT of the given per-image shape. */
export function blockGraph(graph: ModelGraph, block: Block, inputShape: number[]): ModelGraph {
  const rename = (s: string) => (s === block.input ? BLOCK_INPUT : s);
  return {
    ...graph,
    name: `${graph.name}/${block.output}`,
    nodes: [
      { op: 'input', name: BLOCK_INPUT, inputs: [], shape: inputShape } as GraphNode,
      ...block.nodes.map((n) => ({ ...n, inputs: n.inputs.map(rename) }) as GraphNode),
    ],
    inputName: BLOCK_INPUT,
    outputName: block.output,
  };
}
