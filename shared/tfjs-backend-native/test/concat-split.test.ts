import { describe, it } from 'vitest';
import { expectBackendsAgree, Rng, tf } from './helpers.js';

describe('Concat, SplitV and Reverse', () => {
  const rng = new Rng(5);

  it('concatenate on every axis and split back (the gradient) exactly as cpu', async () => {
    const shapes = [
      [2, 5, 4, 3],
      [2, 5, 4, 6],
    ];
    for (let axis = 0; axis < 4; axis++) {
      const parts = [3, 1, 2].map((k) => {
        const shape = [2, 5, 4, 3];
        shape[axis] = k;
        return { shape, values: rng.values(shape.reduce((a, b) => a * b, 1)) };
      });
      await expectBackendsAgree(
        `concat axis ${axis}`,
        () =>
          tf.concat(
            parts.map((p) => tf.tensor(p.values, p.shape)),
            axis,
          ),
        ['Concat'],
      );
      const upstream = rng.values(parts.reduce((n, p) => n + p.values.length, 0));
      await expectBackendsAgree(
        `concat gradient axis ${axis}`,
        () =>
          tf.grads((...xs: tf.Tensor[]) => {
            const y = tf.concat(xs, axis);
            return tf.sum(tf.mul(y, tf.tensor(upstream, y.shape)));
          })(parts.map((p) => tf.tensor(p.values, p.shape))),
        ['SplitV'],
      );
    }
    const whole = rng.values(2 * 5 * 4 * 6);
    await expectBackendsAgree('split into sizes', () => tf.split(tf.tensor(whole, shapes[1]), [1, 3, 2], 3), [
      'SplitV',
    ]);
  });

  it('reverses any set of axes exactly as cpu', async () => {
    const values = rng.values(3 * 4 * 5 * 2);
    for (const axes of [[0], [2], [1, 2], [0, 1, 2, 3], [3]]) {
      await expectBackendsAgree(
        `reverse ${axes}`,
        () => tf.reverse(tf.tensor4d(values, [3, 4, 5, 2]), axes),
        ['Reverse'],
      );
    }
  });
});
