import type { WeightTensor } from '../model/graph.js';
import { roundHalfEven } from '../util/round.js';

/** Symmetric per-output-channel integer weights: w ≈ q * scale[channel]. */
export interface ChannelQuantized {
  /** 1: binary {-1, 1}; 2: ternary {-1, 0, 1}; otherwise narrow-range integers. */
  bits: number;
  /** Integers with |q| <= maxLevel (narrow range, so the grid is symmetric). */
  q: Int32Array;
  scales: Float32Array;
  /** Largest |q| allowed: 2^(bits-1) - 1, or less when an overflow-aware pass clipped the grid. */
  maxLevel: number;
  /** q * scale, the values a fake-quantized model computes with. */
  dequantized: Float32Array;
  /** Largest |w - dequantized| over the tensor. */
  maxAbsError: number;
}

export function maxLevelForBits(bits: number): number {
  if (!Number.isInteger(bits) || bits < 1 || bits > 16)
    throw new Error(`weight bits must be an integer in [1, 16], got ${bits}`);
  return bits === 1 ? 1 : 2 ** (bits - 1) - 1;
}

/** The integer values a weight may take: binary has no zero, every other grid is -L..L. */
export function weightLevels(bits: number, maxLevel = maxLevelForBits(bits)): number[] {
  if (bits === 1) return [-1, 1];
  return Array.from({ length: 2 * maxLevel + 1 }, (_, i) => i - maxLevel);
}

/** Per-channel mean |w| over the weights selected by `keep`. */
function channelMeanAbs(
  data: Float32Array,
  channels: number,
  channelOf: (i: number) => number,
  keep: (w: number, c: number) => boolean,
): Float32Array {
  const sum = new Float64Array(channels);
  const count = new Float64Array(channels);
  data.forEach((w, i) => {
    const c = channelOf(i);
    if (!keep(w, c)) return;
    sum[c] = (sum[c] as number) + Math.abs(w);
    count[c] = (count[c] as number) + 1;
  });
  return Float32Array.from(sum, (s, c) => (count[c] ? s / (count[c] as number) : 0));
}

/**
 * Per-channel scales that suit each grid: max |w| / L for multi-bit grids (round-to-nearest
 * never clips), mean |w| for binary (BWN's least-squares α), and TWN's threshold rule for ternary.
 */
export function initialScales(
  weight: WeightTensor,
  bits: number,
  channels: number,
  channelOf: (i: number) => number,
  maxLevel = maxLevelForBits(bits),
): Float32Array {
  const nonzero = (s: number) => (s > 0 ? s : 1);
  if (bits === 1) return channelMeanAbs(weight.data, channels, channelOf, () => true).map(nonzero);
  if (bits === 2) {
    const meanAbs = channelMeanAbs(weight.data, channels, channelOf, () => true);
    return channelMeanAbs(
      weight.data,
      channels,
      channelOf,
      (w, c) => Math.abs(w) > 0.7 * (meanAbs[c] as number),
    ).map(nonzero);
  }
  const maxAbs = new Float32Array(channels);
  weight.data.forEach((w, i) => {
    const c = channelOf(i);
    maxAbs[c] = Math.max(maxAbs[c] as number, Math.abs(w));
  });
  // An all-zero channel keeps scale 1 so dequantization stays exact (0 * 1 = 0) instead of 0/0.
  return maxAbs.map((m) => (m > 0 ? m / maxLevel : 1));
}

/** Nearest grid level of w / scale (half-even), clipped to the grid; binary maps 0 to +1. */
export function nearestLevel(x: number, bits: number, maxLevel: number): number {
  if (bits === 1) return x < 0 ? -1 : 1;
  return Math.max(-maxLevel, Math.min(maxLevel, roundHalfEven(x)));
}

/** Packs integer weights and their scales into a ChannelQuantized, measuring the error against `weight`. */
export function channelQuantized(
  weight: WeightTensor,
  bits: number,
  q: Int32Array,
  scales: Float32Array,
  channelOf: (i: number) => number,
  maxLevel = maxLevelForBits(bits),
): ChannelQuantized {
  const dequantized = new Float32Array(q.length);
  let maxAbsError = 0;
  q.forEach((v, i) => {
    dequantized[i] = v * (scales[channelOf(i)] as number);
    maxAbsError = Math.max(maxAbsError, Math.abs((weight.data[i] as number) - (dequantized[i] as number)));
  });
  return { bits, q, scales, maxLevel, dequantized, maxAbsError };
}

/** Round-to-nearest onto a symmetric per-channel grid (the PTQ baseline, and PMF's starting point). */
export function quantizeSymmetricPerChannel(
  weight: WeightTensor,
  bits: number,
  channels: number,
  channelOf: (i: number) => number,
  maxLevel = maxLevelForBits(bits),
): ChannelQuantized {
  const scales = initialScales(weight, bits, channels, channelOf, maxLevel);
  const q = Int32Array.from(weight.data, (w, i) =>
    nearestLevel(w / (scales[channelOf(i)] as number), bits, maxLevel),
  );
  return channelQuantized(weight, bits, q, scales, channelOf, maxLevel);
}
