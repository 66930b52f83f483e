/** Round half to even, the rule tf.round applies, so scalar and tensor quantizers agree bit for bit. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // `+ 0` turns -0 into 0, as tf.round does.
  return (Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0;
}
