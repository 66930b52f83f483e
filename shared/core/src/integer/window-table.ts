import { convAxis, type IntegerConv } from './integer-model.js';

/** The in-bounds taps of every output pixel's window: taps [start[p], start[p+1]). */
export interface WindowTable {
  start: Int32Array;
  /** Input pixel (row-major over h·w) each tap reads. */
  pixel: Int32Array;
  /** Kernel position (ky·kw + kx) of each tap. */
  tap: Int32Array;
}

/**
 * Precomputed windows of a convolution or pool over an [h, w, c] input, with TF's padding:
 * taps that fall in the padding are left out (for a conv they would add (z - z) · w = 0; pools skip them).
 */
export function windowTable(
  inShape: readonly number[],
  outShape: readonly number[],
  kernel: readonly [number, number],
  strides: readonly [number, number],
  dilations: readonly [number, number],
  padding: IntegerConv['padding'],
): WindowTable {
  const [h, w] = inShape as [number, number];
  const [oh, ow] = outShape as [number, number];
  const padY = convAxis(h, kernel[0], strides[0], dilations[0], padding).padBefore;
  const padX = convAxis(w, kernel[1], strides[1], dilations[1], padding).padBefore;
  const start = new Int32Array(oh * ow + 1);
  const pixel: number[] = [];
  const tap: number[] = [];
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      start[oy * ow + ox] = pixel.length;
      for (let ky = 0; ky < kernel[0]; ky++) {
        const iy = oy * strides[0] - padY + ky * dilations[0];
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < kernel[1]; kx++) {
          const ix = ox * strides[1] - padX + kx * dilations[1];
          if (ix < 0 || ix >= w) continue;
          pixel.push(iy * w + ix);
          tap.push(ky * kernel[1] + kx);
        }
      }
    }
  }
  start[oh * ow] = pixel.length;
  return { start, pixel: Int32Array.from(pixel), tap: Int32Array.from(tap) };
}
