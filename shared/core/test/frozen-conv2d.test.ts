import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/index.js';
import { frozenConv2d } from '../src/model/frozen-conv2d.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const cases: {
  size: [number, number];
  k: [number, number];
  s: [number, number];
  pad: 'same' | 'valid';
  d: [number, number];
}[] = [
  { size: [9, 9], k: [3, 3], s: [1, 1], pad: 'same', d: [1, 1] },
  { size: [8, 8], k: [3, 3], s: [2, 2], pad: 'same', d: [1, 1] },
  { size: [9, 7], k: [3, 3], s: [2, 2], pad: 'same', d: [1, 1] },
  { size: [10, 10], k: [3, 3], s: [2, 2], pad: 'valid', d: [1, 1] },
  { size: [9, 9], k: [1, 1], s: [2, 2], pad: 'valid', d: [1, 1] },
  { size: [11, 10], k: [3, 2], s: [1, 2], pad: 'valid', d: [1, 1] },
  { size: [12, 12], k: [3, 3], s: [1, 1], pad: 'same', d: [2, 2] },
  { size: [7, 7], k: [5, 5], s: [3, 3], pad: 'same', d: [1, 1] },
];

function dilateKernel(w: tf.Tensor4D, [dh, dw]: [number, number]): tf.Tensor4D {
  const [kh, kw, ci, co] = w.shape;
  const values = w.arraySync();
  const out = tf.buffer([(kh - 1) * dh + 1, (kw - 1) * dw + 1, ci, co]);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < ci; c++)
        for (let o = 0; o < co; o++) out.set(values[i]?.[j]?.[c]?.[o] as number, i * dh, j * dw, c, o);
  return out.toTensor() as tf.Tensor4D;
}

describe('frozenConv2d', () => {
  for (const c of cases) {
    it(`matches tf.conv2d and its input gradient: ${c.size} k${c.k} s${c.s} ${c.pad} d${c.d}`, () => {
      tf.tidy(() => {
        const x = tf.randomNormal([2, ...c.size, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
        const w = tf.randomNormal([...c.k, 3, 5], 0, 1, 'float32', 2) as tf.Tensor4D;
        const probe = (y: tf.Tensor) => y.mul(tf.randomNormal(y.shape, 0, 1, 'float32', 3)).sum();
        const conv = frozenConv2d(w, c.s, c.pad, c.d);
        const ours = tf.grad((v: tf.Tensor) => probe(conv.apply(v as tf.Tensor4D)))(x);
        // TF.js has no gradient for dilated conv2d: the reference spells the dilation out as zeros in the kernel.
        const dilated = dilateKernel(w, c.d);
        const reference = tf.grad((v: tf.Tensor) => probe(tf.conv2d(v as tf.Tensor4D, dilated, c.s, c.pad)))(
          x,
        );
        const scale = reference.abs().max().dataSync()[0] as number;
        expect(ours.shape).toEqual(x.shape);
        expect(ours.sub(reference).abs().max().dataSync()[0]).toBeLessThanOrEqual(1e-4 * scale);
        expect(
          conv
            .apply(x)
            .sub(tf.conv2d(x, w, c.s, c.pad, 'NHWC', c.d))
            .abs()
            .max()
            .dataSync()[0],
        ).toBeLessThan(1e-4);
        conv.dispose();
      });
    });
  }
});
