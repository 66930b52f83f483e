import type { InputNormalization } from '../model/graph.js';
import { roundHalfEven } from '../util/round.js';
import { DyadicRangeError, roundShift, toDyadic } from './dyadic.js';

/** The input tensor's grid: the input node's IntegerGrid, or the AffineParams it came from. */
export interface InputGrid {
  scale: number;
  zeroPoint: number;
  bits: number | null;
}

function levelsOf(grid: InputGrid): number {
  if (grid.bits === null) throw new RangeError('the input grid must have a bit width');
  return 2 ** grid.bits - 1;
}

function perChannel(values: readonly number[], c: number): number {
  return (values.length === 1 ? values[0] : values[c]) as number;
}

/**
 * Raw uint8 pixels (NHWC, channel = index mod the normalization's channel count) onto the input
 * grid with integer operations only. q = round(((p/255 - mean)/std)/s) + z is affine in p, so it
 * folds into one dyadic multiply and one integer offset added before the rounding shift:
 * q = roundShift(p·m + O, shift), with O = round((z - mean/(std·s)) · 2^shift).
 */
export function quantizePixels(
  pixels: Uint8Array,
  normalization: InputNormalization,
  grid: InputGrid,
): Int32Array {
  const channels = Math.max(normalization.mean.length, normalization.std.length);
  const max = levelsOf(grid);
  const multipliers: number[] = [];
  const offsets: number[] = [];
  const shifts: number[] = [];
  for (let c = 0; c < channels; c++) {
    const mean = perChannel(normalization.mean, c);
    const std = perChannel(normalization.std, c);
    const { multiplier, shift } = toDyadic(1 / (255 * std * grid.scale), `input channel ${c} scale`);
    const offset = Math.round((grid.zeroPoint - mean / (std * grid.scale)) * 2 ** shift);
    if (!Number.isSafeInteger(offset + 255 * multiplier) || !Number.isSafeInteger(offset - 255 * multiplier))
      throw new DyadicRangeError(`input channel ${c}: offset ${offset} is too large to add exactly`);
    multipliers.push(multiplier);
    offsets.push(offset);
    shifts.push(shift);
  }
  const out = new Int32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const c = i % channels;
    const q = roundShift(
      (pixels[i] as number) * (multipliers[c] as number) + (offsets[c] as number),
      shifts[c] as number,
    );
    out[i] = Math.min(Math.max(q, 0), max);
  }
  return out;
}

/**
 * Normalized float images onto the input grid, exactly as the fake-quantized model rounds them:
 * tf divides in float32, rounds half to even, then adds the zero point and clips.
 */
export function quantizeNormalized(x: Float32Array, grid: InputGrid): Int32Array {
  const max = levelsOf(grid);
  const scale = Math.fround(grid.scale);
  const out = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const q = roundHalfEven(Math.fround((x[i] as number) / scale)) + grid.zeroPoint;
    out[i] = Math.min(Math.max(q, 0), max);
  }
  return out;
}

/** (q - zeroPoint) · scale: integers back to real values (for checks and reading logits). */
export function dequantize(q: ArrayLike<number>, grid: { scale: number; zeroPoint: number }): Float64Array {
  return Float64Array.from({ length: q.length }, (_, i) => ((q[i] as number) - grid.zeroPoint) * grid.scale);
}
