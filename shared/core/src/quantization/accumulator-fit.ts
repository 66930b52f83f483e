import type { ModelGraph, WeightedNode } from '../model/graph.js';
import { isWeighted, outputChannelIndexer } from '../model/graph.js';
import type { AffineParams } from './activation-quantizer.js';
import { gridSourceResolver } from './quantization-plan.js';
import type { QuantizedModel } from './quantize-model.js';
import { type ChannelQuantized, channelQuantized, nearestLevel } from './weight-quantizer.js';

export type AccumulatorBits = 16 | 32;

export interface AccumulatorChoice {
  layer: string;
  accumulatorBits: AccumulatorBits;
  /** Largest |q| the layer's weights use after fitting (the requested grid's, unless clipped). */
  maxLevel: number;
  requestedMaxLevel: number;
  /** Channels whose weight grid was narrowed to fit the accumulator. */
  clippedChannels: number;
  /** Provable bound on |Σ q_w (q_x - z_x)| over every input on the calibrated grid. */
  worstCase: number;
  /** Largest magnitude the accumulator holds: 2^(bits-1) - 1. */
  limit: number;
  /** log2(limit / worstCase): spare bits (negative would mean a possible overflow). */
  headroomBits: number;
  reason: string;
}

export interface AccumulatorFit {
  weights: Map<string, ChannelQuantized>;
  choices: AccumulatorChoice[];
}

const limitOf = (bits: AccumulatorBits) => 2 ** (bits - 1) - 1;

/**
 * Per output channel, the largest |Σ_k q_k (x_k - z)| for x_k anywhere on the input's grid
 * [0, 2^a - 1]: each term is maximized independently, at one end of the range. Because 0 is on
 * the centered grid, every partial sum obeys the same bound, so no intermediate overflows either.
 */
export function worstCaseAccumulator(
  q: Int32Array,
  channels: number,
  channelOf: (i: number) => number,
  input: AffineParams,
): Float64Array {
  const up = 2 ** input.bits - 1 - input.zeroPoint;
  const down = input.zeroPoint;
  const high = new Float64Array(channels);
  const low = new Float64Array(channels);
  q.forEach((w, i) => {
    const c = channelOf(i);
    high[c] = (high[c] as number) + (w > 0 ? w * up : -w * down);
    low[c] = (low[c] as number) + (w > 0 ? w * down : -w * up);
  });
  return high.map((h, c) => Math.max(h, low[c] as number));
}

/** Largest level L' < L, down to minLevel, whose re-rounded channel (scale max|w| / L') fits the limit; null if none. */
function largestFittingLevel(
  values: number[],
  bits: number,
  maxLevel: number,
  minLevel: number,
  input: AffineParams,
  limit: number,
): { level: number; q: number[]; scale: number } | null {
  const maxAbs = Math.max(...values.map(Math.abs));
  for (let level = maxLevel - 1; level >= minLevel; level--) {
    const scale = maxAbs > 0 ? maxAbs / level : 1;
    const q = values.map((v) => nearestLevel(v / scale, bits, level));
    const worst = worstCaseAccumulator(Int32Array.from(q), 1, () => 0, input)[0] as number;
    if (worst <= limit) return { level, q, scale };
  }
  return null;
}

function fitLayer(
  node: WeightedNode,
  wq: ChannelQuantized,
  input: AffineParams,
  wanted: AccumulatorBits,
): { weights: ChannelQuantized; choice: AccumulatorChoice } {
  const { channels, of } = outputChannelIndexer(node);
  const worst = worstCaseAccumulator(wq.q, channels, of, input);
  const choice = (
    bits: AccumulatorBits,
    w: ChannelQuantized,
    bound: number,
    clipped: number,
    reason: string,
  ) => ({
    weights: w,
    choice: {
      layer: node.name,
      accumulatorBits: bits,
      maxLevel: w.maxLevel,
      requestedMaxLevel: wq.maxLevel,
      clippedChannels: clipped,
      worstCase: bound,
      limit: limitOf(bits),
      headroomBits: Math.log2(limitOf(bits) / Math.max(1, bound)),
      reason,
    },
  });
  const bound = Math.max(...worst);
  if (bound > limitOf(32))
    throw new Error(
      `layer ${node.name}: even a 32-bit accumulator can overflow (bound ${bound}); use fewer bits`,
    );
  if (wanted === 32 || bound <= limitOf(16))
    return choice(wanted, wq, bound, 0, wanted === 32 ? 'requested' : 'fits without clipping');

  // Narrow the grid of the channels that can overflow (Xie et al.'s clipping), giving up at most
  // one bit of weight precision; binary and ternary grids cannot narrow.
  const minLevel = Math.ceil(wq.maxLevel / 2);
  if (wq.bits <= 2 || minLevel >= wq.maxLevel)
    return choice(
      32,
      wq,
      bound,
      0,
      `a ${wq.bits}-bit grid cannot narrow; worst case ${bound} > ${limitOf(16)}`,
    );
  const q = Int32Array.from(wq.q);
  const scales = Float32Array.from(wq.scales);
  let clipped = 0;
  let lowest = wq.maxLevel;
  for (let c = 0; c < channels; c++) {
    if ((worst[c] as number) <= limitOf(16)) continue;
    const members: number[] = [];
    for (let i = 0; i < q.length; i++) if (of(i) === c) members.push(i);
    const fit = largestFittingLevel(
      members.map((i) => wq.dequantized[i] as number),
      wq.bits,
      wq.maxLevel,
      minLevel,
      input,
      limitOf(16),
    );
    if (!fit)
      return choice(32, wq, bound, 0, `channel ${c} would need fewer than ${minLevel} levels to fit 16 bits`);
    members.forEach((i, k) => {
      q[i] = fit.q[k] as number;
    });
    scales[c] = fit.scale;
    clipped++;
    lowest = Math.min(lowest, fit.level);
  }
  const narrowed = channelQuantized(node.kernel, wq.bits, q, scales, of, wq.maxLevel);
  const fitted = Math.max(...worstCaseAccumulator(q, channels, of, input));
  return choice(
    16,
    narrowed,
    fitted,
    clipped,
    `${clipped} channel(s) narrowed to as few as ±${lowest} levels`,
  );
}

/**
 * Overflow-aware fixed-point selection: keeps every weighted layer's integer multiply-accumulate
 * provably inside the wanted accumulator, narrowing weight grids where that costs at most one
 * bit, and otherwise falling back to a 32-bit accumulator for that layer (and saying why).
 */
export function fitAccumulators(
  graph: ModelGraph,
  model: QuantizedModel,
  wanted: AccumulatorBits,
): AccumulatorFit {
  const gridSource = gridSourceResolver(graph);
  const weights = new Map(model.weights);
  const choices: AccumulatorChoice[] = [];
  for (const node of graph.nodes) {
    const wq = model.weights.get(node.name);
    if (!isWeighted(node) || !wq) continue;
    const input = model.activations.get(gridSource(node.inputs[0] as string));
    // A layer reading a float tensor (after a layer kept in float) has no integer accumulator to fit.
    if (!input) continue;
    const fit = fitLayer(node, wq, input, wanted);
    weights.set(node.name, fit.weights);
    choices.push(fit.choice);
  }
  return { weights, choices };
}
