import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { lowPassImages, selectBackend } from '../src/index.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('low-pass filter of synthetic images', () => {
  it('keeps a flat image as it is and the mean of any image', () => {
    const flat = tf.fill([1, 8, 8, 2], 0.7) as tf.Tensor4D;
    const out = lowPassImages(flat, 1);
    expect(out.shape).toEqual([1, 8, 8, 2]);
    for (const v of out.dataSync()) expect(v).toBeCloseTo(0.7, 5);
    const noisy = tf.randomUniform([2, 12, 12, 1], -1, 1, 'float32', 3) as tf.Tensor4D;
    const smoothed = lowPassImages(noisy, 0.5);
    // Mirrored borders move the mean a little; the interior carries almost all of it.
    const [after, before] = [smoothed.mean().dataSync()[0] as number, noisy.mean().dataSync()[0] as number];
    expect(Math.abs(after - before)).toBeLessThan(0.02);
    tf.dispose([flat, out, noisy, smoothed]);
  });

  it('damps a checkerboard (the highest frequency) and leaves pixels inside the input box', () => {
    const board = tf.tensor4d(
      Array.from({ length: 64 }, (_, i) => ((Math.floor(i / 8) + (i % 8)) % 2 === 0 ? 1 : -1)),
      [1, 8, 8, 1],
    );
    const out = lowPassImages(board, 1);
    const values = Array.from(out.dataSync());
    expect(Math.max(...values.map(Math.abs))).toBeLessThan(0.2);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(-1);
    tf.dispose([board, out]);
  });

  it('filters each channel on its own', () => {
    const image = tf.concat([tf.ones([1, 6, 6, 1]), tf.zeros([1, 6, 6, 1])], 3) as tf.Tensor4D;
    const out = lowPassImages(image, 0.8);
    const [ones, zeros] = tf.split(out, 2, 3) as [tf.Tensor, tf.Tensor];
    for (const v of ones.dataSync()) expect(v).toBeCloseTo(1, 5);
    for (const v of zeros.dataSync()) expect(v).toBeCloseTo(0, 5);
    tf.dispose([image, out, ones, zeros]);
  });

  it('refuses a sigma that is not positive, or too wide for the image', () => {
    const image = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    expect(() => lowPassImages(image, 0)).toThrow(/above 0/);
    expect(() => lowPassImages(image, 3)).toThrow(/pixels wide/);
    image.dispose();
  });
});
