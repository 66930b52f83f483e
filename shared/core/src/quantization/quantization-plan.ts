import { type BitPolicy, type LayerOverrides, RunOptionError } from '@dfq/contract';
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
  /** Layers kept in float (--keep-float): no weight quantizer, no output quantizer. */
  keptFloat: string[];
  /** Tensors only residual adds read, given the policy's residual bits (empty with `same`). */
  residualInputs: string[];
}

const NO_OVERRIDES: LayerOverrides = { keepFloat: [], bits: {} };

/**
 * Decides which tensors are quantized and at how many bits. The model input and every node
 * output are quantized, except grid-preserving ops and the final logits (kept at accumulator
 * precision, as integer-only runtimes return them). Tensors that only residual adds read take the
 * policy's residual bits: no layer multiplies them, so they cost no multiply-add precision.
 */
export function planQuantization(
  graph: ModelGraph,
  policy: BitPolicy,
  overrides: LayerOverrides = NO_OVERRIDES,
): QuantizationPlan {
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
  const residualInputs =
    policy.residualBits === null ? [] : onlyReadByAdds(graph, readers, [...activationBits.keys()]);
  for (const name of residualInputs) activationBits.set(name, policy.residualBits as number);
  for (const node of graph.nodes) {
    if (!(readers.get(node.name) ?? []).some((r) => edge.has(r))) continue;
    const source = gridSource(node.name);
    if (activationBits.has(source)) activationBits.set(source, edgeBits(policy.activationBits));
  }
  applyOverrides(graph, overrides, weightBits, activationBits);
  return {
    weightBits,
    activationBits,
    firstLayer: first.name,
    lastLayer: last.name,
    keptFloat: [...overrides.keepFloat],
    residualInputs,
  };
}

/** The tensors among `names` that residual adds alone read (never the model input). */
function onlyReadByAdds(graph: ModelGraph, readers: Map<string, string[]>, names: string[]): string[] {
  const adds = new Set(graph.nodes.filter((n) => n.op === 'add').map((n) => n.name));
  return names.filter((name) => {
    const read = readers.get(name) ?? [];
    return name !== graph.inputName && read.length > 0 && read.every((r) => adds.has(r));
  });
}

/**
 * --keep-float and --layer-bits, by name in the folded graph. A name that is not a layer there (a
 * BatchNorm folded into its conv, a typo) is refused with the names that are, before any work.
 */
function applyOverrides(
  graph: ModelGraph,
  overrides: LayerOverrides,
  weightBits: Map<string, number>,
  activationBits: Map<string, number>,
): void {
  const names = new Set(graph.nodes.map((n) => n.name));
  const named = [...overrides.keepFloat, ...Object.keys(overrides.bits)];
  const unknown = named.filter((n) => !names.has(n));
  if (unknown.length > 0) {
    const layers = graph.nodes.filter((n) => isWeighted(n) || activationBits.has(n.name)).map((n) => n.name);
    throw new RunOptionError(
      (name) =>
        `${name('keepFloat')} / ${name('layerBits')} name ${unknown.join(', ')}, which ${unknown.length === 1 ? 'is' : 'are'} not ` +
        `a layer of the BatchNorm-folded model. Its layers: ${layers.join(', ')}.`,
    );
  }
  const both = overrides.keepFloat.filter((n) => n in overrides.bits);
  if (both.length > 0)
    throw new RunOptionError(
      (name) => `${both.join(', ')}: both in ${name('keepFloat')} and in ${name('layerBits')}; choose one`,
    );
  for (const [layer, bits] of Object.entries(overrides.bits)) {
    if (bits.weightBits !== undefined) {
      if (!weightBits.has(layer))
        throw new RunOptionError(
          (name) => `${name('layerBits')}: ${layer} has no weights to give ${bits.weightBits} bits`,
        );
      weightBits.set(layer, bits.weightBits);
    }
    if (bits.activationBits !== undefined) {
      if (!activationBits.has(layer))
        throw new RunOptionError(
          (name) =>
            `${name('layerBits')}: ${layer}'s output has no quantizer of its own (it keeps its input's grid, or is the output)`,
        );
      activationBits.set(layer, bits.activationBits);
    }
  }
  for (const layer of overrides.keepFloat) {
    weightBits.delete(layer);
    activationBits.delete(layer);
  }
}
