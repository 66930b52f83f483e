import * as tf from '@tensorflow/tfjs';
import type { Padding } from './graph.js';

/** Leading padding TF applies on one spatial axis (SAME puts the odd pixel at the end). */
function leadingPad(
  size: number,
  outSize: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: Padding,
) {
  if (padding === 'valid') return 0;
  const effective = (kernel - 1) * dilation + 1;
  return Math.floor(Math.max((outSize - 1) * stride + effective - size, 0) / 2);
}

/** Inserts stride-1 zeros between the rows and columns of an NHWC tensor. */
function insertZeros(dy: tf.Tensor4D, strides: [number, number]): tf.Tensor4D {
  const [sh, sw] = strides;
  if (sh === 1 && sw === 1) return dy;
  const [n, h, w, c] = dy.shape;
  return dy
    .reshape([n, h, 1, w, 1, c])
    .pad([
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ])
    .reshape([n, h * sh, w * sw, c])
    .slice([0, 0, 0, 0], [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c]) as tf.Tensor4D;
}

export interface FrozenConv2d {
  apply(x: tf.Tensor4D): tf.Tensor4D;
  dispose(): void;
}

/**
 * A 2-d convolution with a constant kernel whose input gradient is itself a forward
 * convolution (zero-inserted upstream gradient, spatially flipped and transposed kernel).
 * On the wasm backend the forward kernel runs on XNNPACK about 8x faster than
 * Conv2DBackpropInput, and synthesis spends most of its time in exactly that gradient.
 */
export function frozenConv2d(
  kernel: tf.Tensor4D,
  strides: [number, number],
  padding: Padding,
  dilations: [number, number],
): FrozenConv2d {
  const [kh, kw] = kernel.shape;
  // Made on first use: only the wasm path needs it.
  let flipped: tf.Tensor4D | null = null;
  const flippedKernel = () =>
    (flipped ??= tf.keep(tf.tidy(() => tf.reverse(kernel, [0, 1]).transpose([0, 1, 3, 2]) as tf.Tensor4D)));
  const op = tf.customGrad(((x: tf.Tensor4D, save: tf.GradSaveFunc) => {
    const input = x;
    const value = tf.conv2d(input, kernel, strides, padding, 'NHWC', dilations);
    save([input]);
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const [n, h, w] = input.shape;
        const [, ho, wo] = value.shape;
        const up = insertZeros(dy as tf.Tensor4D, strides);
        const padFor = (size: number, out: number, k: number, s: number, d: number, upLength: number) => {
          const effective = (k - 1) * d + 1;
          const before = effective - 1 - leadingPad(size, out, k, s, d, padding);
          return [before, size - upLength - before + effective - 1] as const;
        };
        const [top, bottom] = padFor(h, ho, kh, strides[0], dilations[0], up.shape[1]);
        const [left, right] = padFor(w, wo, kw, strides[1], dilations[1], up.shape[2]);
        // A negative pad means the last input rows never reached an output: crop instead.
        const cropped = up.slice(
          [0, 0, 0, 0],
          [n, up.shape[1] + Math.min(0, bottom), up.shape[2] + Math.min(0, right), -1],
        );
        const padded = cropped.pad([
          [0, 0],
          [top, Math.max(0, bottom)],
          [left, Math.max(0, right)],
          [0, 0],
        ]) as tf.Tensor4D;
        return tf.conv2d(padded, flippedKernel(), 1, 'valid', 'NHWC', dilations);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return {
    // Only wasm's Conv2DBackpropInput is the slow one; elsewhere (oneDNN on native) the backend's
    // own input gradient beats the zero-insert, pad, slice and forward convolution above.
    apply: (x) =>
      tf.getBackend() === 'wasm'
        ? (op(x) as tf.Tensor4D)
        : tf.conv2d(x, kernel, strides, padding, 'NHWC', dilations),
    dispose: () => flipped?.dispose(),
  };
}
