import { describe, it } from 'vitest';
import { expectBackendsAgree, Rng, tf } from './helpers.js';

describe('MaxPool and MaxPoolGrad', () => {
  // [input H, W, C, window, stride, padding]
  const cases = [
    [16, 16, 8, 3, 2, 'valid'],
    [15, 13, 4, 3, 2, 'same'],
    [12, 12, 3, 2, 2, 'same'],
    [9, 9, 5, 3, 1, 'same'],
    [10, 7, 2, 2, 3, 'valid'],
  ] as const;

  it('MaxPool matches cpu exactly', async () => {
    const rng = new Rng(78);
    for (const [h, w, c, k, s, pad] of cases) {
      const values = rng.values(2 * h * w * c);
      await expectBackendsAgree(
        `maxPool ${h}x${w}x${c} k${k} s${s} ${pad}`,
        () => tf.maxPool(tf.tensor4d(values, [2, h, w, c]), k, s, pad),
        ['MaxPool'],
      );
    }
  });

  it('MaxPoolGrad matches cpu, ties (ReLU zeros) going to the first maximum of each window', async () => {
    const rng = new Rng(77);
    for (const [h, w, c, k, s, pad] of cases) {
      const values = rng.values(2 * h * w * c);
      const upstream = rng.values(2 * h * w * c);
      await expectBackendsAgree(
        `maxPool grad ${h}x${w}x${c} k${k} s${s} ${pad}`,
        () =>
          tf.grad((x: tf.Tensor4D) => {
            const y = tf.maxPool(x, k, s, pad);
            return tf.sum(tf.mul(y, tf.tensor(upstream.subarray(0, y.size), y.shape)));
          })(tf.relu(tf.tensor4d(values, [2, h, w, c]))),
        ['MaxPoolGrad'],
      );
    }
  });
});
