/**
 * Dyadic numbers m / 2^shift: how an integer-only runtime multiplies by a real scale (HAWQ-V3's
 * requantization). The executor's integers are float64 values holding integers, exact below
 * 2^53; a 22-bit multiplier times an int32 accumulator stays below that, so every product here
 * is exact and the only rounding is the one in `roundShift`.
 */

export interface Dyadic {
  /** Integer in [2^21, 2^22). */
  multiplier: number;
  /** Right shift in [0, 63]. */
  shift: number;
}

export const DYADIC_MULTIPLIER_BITS = 22;
export const MAX_DYADIC_SHIFT = 63;
const M_LOW = 2 ** (DYADIC_MULTIPLIER_BITS - 1);
const M_HIGH = 2 ** DYADIC_MULTIPLIER_BITS;

/** Smallest and largest (exclusive) scales `toDyadic` can represent. */
export const DYADIC_MIN_SCALE = M_LOW / 2 ** MAX_DYADIC_SHIFT;
export const DYADIC_MAX_SCALE = M_HIGH;

export class DyadicRangeError extends RangeError {
  override name = 'DyadicRangeError';
}

function checkScale(scale: number, what: string): void {
  if (!Number.isFinite(scale) || !(scale > 0)) {
    throw new DyadicRangeError(`${what}: scale ${scale} is not a positive finite number`);
  }
}

/** The shift that puts `scale`'s mantissa in [2^21, 2^22). */
function shiftFor(scale: number): number {
  // log2 may be off by one near powers of two; the loops settle it with exact power-of-two products.
  let shift = DYADIC_MULTIPLIER_BITS - 1 - Math.floor(Math.log2(scale));
  while (scale * 2 ** shift >= M_HIGH) shift--;
  while (scale * 2 ** shift < M_LOW) shift++;
  return shift;
}

/** scale ≈ multiplier / 2^shift with a 22-bit multiplier (relative error ≤ 2^-22). */
export function toDyadic(scale: number, what = 'dyadic'): Dyadic {
  checkScale(scale, what);
  let shift = shiftFor(scale);
  let multiplier = Math.round(scale * 2 ** shift);
  if (multiplier === M_HIGH) {
    multiplier = M_LOW;
    shift--;
  }
  if (shift < 0 || shift > MAX_DYADIC_SHIFT) {
    throw new DyadicRangeError(
      `${what}: scale ${scale} is outside the representable range [${DYADIC_MIN_SCALE}, ${DYADIC_MAX_SCALE}) ` +
        `of a ${DYADIC_MULTIPLIER_BITS}-bit multiplier with a right shift of 0..${MAX_DYADIC_SHIFT}`,
    );
  }
  return { multiplier, shift };
}

/**
 * Several scales on one shift (set by the largest, whose multiplier is in [2^21, 2^22)), so that
 * a sum of rescaled terms is rounded once. Much smaller scales get small multipliers (possibly 0:
 * such a term moves the result by less than 2^-21 of a step per unit).
 */
export function toDyadicShared(
  scales: readonly number[],
  what = 'dyadic',
): { multipliers: number[]; shift: number } {
  if (scales.length === 0) throw new DyadicRangeError(`${what}: no scales`);
  for (const s of scales) checkScale(s, what);
  const { shift } = toDyadic(Math.max(...scales), what);
  return { multipliers: scales.map((s) => Math.round(s * 2 ** shift)), shift };
}

export function dyadicValue(d: Dyadic): number {
  return d.multiplier / 2 ** d.shift;
}

/**
 * round(p / 2^shift) for an integer |p| < 2^53, ties rounded up (toward +∞): what adding
 * 2^(shift-1) and shifting arithmetically right does on hardware. Exact in doubles: the division by
 * a power of two only moves the exponent, and the remainder p - q·2^shift is a low part of p.
 */
export function roundShift(p: number, shift: number): number {
  const pow = 2 ** shift;
  const q = Math.floor(p / pow);
  return p - q * pow >= pow / 2 ? q + 1 : q;
}

/** round(acc · m / 2^shift), ties up; acc must be an integer with |acc · m| < 2^53 (any int32 is). */
export function rescale(acc: number, d: Dyadic): number {
  const p = acc * d.multiplier;
  if (!Number.isSafeInteger(p)) {
    throw new DyadicRangeError(`rescale: ${acc} × ${d.multiplier} is not an integer below 2^53`);
  }
  return roundShift(p, d.shift);
}
