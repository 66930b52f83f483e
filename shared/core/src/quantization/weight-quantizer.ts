import type { WeightTensor } from '../model/graph.js';
import { roundHalfEven } from '../util/round.js';

/** Symmetric per-output-channel integer weights: w ≈ q * scale[channel]. */
export interface ChannelQuantized {
  bits: number;
  /** Integers in [-(2^(bits-1) - 1), 2^(bits-1) - 1] (narrow range, so the grid is symmetric). */
  q: Int32Array;
  scales: Float32Array;
  /** q * scale, the values a fake-quantized model computes with. */
  dequantized: Float32Array;
  /** Largest |w - dequantized| over the tensor. */
  maxAbsError: number;
}

export function quantizeSymmetricPerChannel(
  weight: WeightTensor,
  bits: number,
  channels: number,
  channelOf: (i: number) => number,
): ChannelQuantized {
  if (!Number.isInteger(bits) || bits < 2 || bits > 16)
    throw new Error(`weight bits must be an integer in [2, 16], got ${bits}`);
  const qmax = 2 ** (bits - 1) - 1;
  const maxAbs = new Float32Array(channels);
  weight.data.forEach((w, i) => {
    const c = channelOf(i);
    maxAbs[c] = Math.max(maxAbs[c] as number, Math.abs(w));
  });
  // An all-zero channel keeps scale 1 so dequantization stays exact (0 * 1 = 0) instead of 0/0.
  const scales = maxAbs.map((m) => (m > 0 ? m / qmax : 1));
  const q = new Int32Array(weight.data.length);
  const dequantized = new Float32Array(weight.data.length);
  let maxAbsError = 0;
  weight.data.forEach((w, i) => {
    const s = scales[channelOf(i)] as number;
    const v = Math.max(-qmax, Math.min(qmax, roundHalfEven(w / s)));
    q[i] = v;
    dequantized[i] = v * s;
    maxAbsError = Math.max(maxAbsError, Math.abs(w - v * s));
  });
  return { bits, q, scales, dequantized, maxAbsError };
}
