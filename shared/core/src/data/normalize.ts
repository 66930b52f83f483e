import * as tf from '@tensorflow/tfjs';
import type { InputNormalization } from '../model/graph.js';
import type { LabelledImages } from './fashion-mnist.js';

/** Batch [start, end) of uint8 images as a normalized float NHWC tensor. */
export function normalizedBatch(
  set: LabelledImages,
  start: number,
  end: number,
  norm: InputNormalization,
): tf.Tensor4D {
  return tf.tidy(() => {
    const size = set.height * set.width * set.channels;
    const pixels = set.images.subarray(start * size, end * size);
    const x = tf
      .tensor4d(Float32Array.from(pixels), [end - start, set.height, set.width, set.channels])
      .div(255);
    return normalize(x, norm) as tf.Tensor4D;
  });
}

export function normalize(pixels01: tf.Tensor, norm: InputNormalization): tf.Tensor {
  return tf.tidy(() => pixels01.sub(tf.tensor1d(norm.mean)).div(tf.tensor1d(norm.std)));
}

export function denormalize(x: tf.Tensor, norm: InputNormalization): tf.Tensor {
  return tf.tidy(() => x.mul(tf.tensor1d(norm.std)).add(tf.tensor1d(norm.mean)));
}

/** The normalized values that pixels 0 and 1 map to, per channel (the valid input box). */
export function normalizedPixelBounds(norm: InputNormalization): { low: number[]; high: number[] } {
  const n = Math.max(norm.mean.length, norm.std.length);
  const at = (a: number[], i: number) => (a.length === 1 ? (a[0] as number) : (a[i] as number));
  const low = Array.from({ length: n }, (_, i) => (0 - at(norm.mean, i)) / at(norm.std, i));
  const high = Array.from({ length: n }, (_, i) => (1 - at(norm.mean, i)) / at(norm.std, i));
  return { low, high };
}
