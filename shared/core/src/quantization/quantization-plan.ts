import type { BitPolicy } from '@dfq/contract';
import type { GraphNode, ModelGraph, WeightedNode } from '../model/graph.js';
import { consumers, isWeighted } from '../model/graph.js';

/** Ops whose output lies on the same grid as their input, so they need no quantizer of their own. */
const GRID_PRESERVING = new Set<GraphNode['op']>([
  'zeroPad',
  'maxPool',
  'flatten',
  'identity',
  'reshape',
  'globalMaxPool',
  'crop',
  'upsample',
]);

/**
 * A grid-preserving op passes its producer's grid on, so bits and ranges are decided where the
 * grid is made; this maps a node to that producer.
 */
export function gridSourceResolver(graph: ModelGraph): (name: string) => string {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  return (name) => {
    let node = byName.get(name);
    while (node && GRID_PRESERVING.has(node.op) && node.inputs[0]) node = byName.get(node.inputs[0]);
    return node?.name ?? name;
  };
}

export interface QuantizationPlan {
  /** Node name -> weight bits, for every conv/dense layer. */
  weightBits: Map<string, number>;
  /** Node name -> bits of its output activation, for every tensor that gets a quantizer. */
  activationBits: Map<string, number>;
  firstLayer: string;
  lastLayer: string;
}

/**
 * Decides which tensors are quantized and at how many bits. The model input and every node
 * output are quantized, except grid-preserving ops and the final logits (kept at accumulator
 * precision, as integer-only runtimes return them).
 */
export function planQuantization(graph: ModelGraph, policy: BitPolicy): QuantizationPlan {
  const weighted = graph.nodes.filter(isWeighted) as WeightedNode[];
  const first = weighted[0];
  const last = weighted[weighted.length - 1];
  if (!first || !last) throw new Error(`model ${graph.name} has no conv or dense layer to quantize`);
  const edge = new Set([first.name, last.name]);
  const edgeBits = (bits: number) => (policy.firstLastBits === null ? bits : policy.firstLastBits);

  const weightBits = new Map<string, number>();
  for (const node of weighted)
    weightBits.set(node.name, edge.has(node.name) ? edgeBits(policy.weightBits) : policy.weightBits);

  const gridSource = gridSourceResolver(graph);
  const activationBits = new Map<string, number>();
  for (const node of graph.nodes) {
    if (GRID_PRESERVING.has(node.op) || node.name === graph.outputName) continue;
    activationBits.set(node.name, policy.activationBits);
  }
  const readers = consumers(graph);
  for (const node of graph.nodes) {
    if (!(readers.get(node.name) ?? []).some((r) => edge.has(r))) continue;
    const source = gridSource(node.name);
    if (activationBits.has(source)) activationBits.set(source, edgeBits(policy.activationBits));
  }
  return { weightBits, activationBits, firstLayer: first.name, lastLayer: last.name };
}
