import * as tf from '@tensorflow/tfjs';
import { fusedFakeQuantize } from '../model/fused-ops.js';
import { roundHalfEven } from '../util/round.js';

export interface Range {
  min: number;
  max: number;
}

/** Asymmetric per-tensor activation quantization: x ≈ (q - zeroPoint) * scale, q in [0, 2^bits - 1]. */
export interface AffineParams {
  bits: number;
  scale: number;
  zeroPoint: number;
}

/**
 * Affine parameters covering `range`. The range is widened to include 0 so that zero (ReLU
 * outputs, zero padding) is exactly representable, as integer-only kernels require.
 */
export function affineParams(range: Range, bits: number): AffineParams {
  if (!Number.isInteger(bits) || bits < 2 || bits > 16)
    throw new Error(`activation bits must be an integer in [2, 16], got ${bits}`);
  const min = Math.min(0, range.min);
  const max = Math.max(0, range.max);
  const levels = 2 ** bits - 1;
  const scale = max > min ? (max - min) / levels : 1;
  const zeroPoint = Math.max(0, Math.min(levels, roundHalfEven(-min / scale)));
  return { bits, scale, zeroPoint };
}

export function quantizeValue(x: number, p: AffineParams): number {
  return Math.max(0, Math.min(2 ** p.bits - 1, roundHalfEven(x / p.scale) + p.zeroPoint));
}

export function dequantizeValue(q: number, p: AffineParams): number {
  return (q - p.zeroPoint) * p.scale;
}

/** Rounds a tensor onto the affine grid and back (simulated quantization). */
export function fakeQuantize(x: tf.Tensor, p: AffineParams): tf.Tensor {
  const fused = fusedFakeQuantize(x, p, false);
  if (fused) return fused;
  return tf.tidy(() =>
    x
      .div(p.scale)
      .round()
      .add(p.zeroPoint)
      .clipByValue(0, 2 ** p.bits - 1)
      .sub(p.zeroPoint)
      .mul(p.scale),
  );
}
