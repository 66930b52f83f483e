import * as tf from '@tensorflow/tfjs';

/** How a weight's unconstrained scores become a distribution over its grid levels. */
export type SimplexProjection = 'softmax' | 'sparsemax';

/**
 * Sparsemax (Martins & Astudillo, 2016) along the last axis: the Euclidean projection onto the
 * probability simplex. Unlike softmax it reaches exact vertices at finite scale, which makes it
 * the projection of projected gradient descent.
 */
export const sparsemax: (z: tf.Tensor2D) => tf.Tensor2D = tf.customGrad(((
  z: tf.Tensor,
  save: tf.GradSaveFunc,
) => {
  const p = tf.tidy(() => {
    const levels = z.shape[1] as number;
    const sorted = tf.topk(z as tf.Tensor2D, levels).values;
    const cumulative = tf.cumsum(sorted, 1);
    const k = tf.range(1, levels + 1).reshape([1, levels]);
    // Support: the sorted entries with 1 + k z_(k) > sum_{j<=k} z_(j); it is a prefix.
    const inSupport = tf.greater(tf.add(1, tf.mul(k, sorted)), cumulative).cast('float32');
    const size = tf.sum(inSupport, 1, true);
    const lastInSupport = tf.oneHot(tf.sub(size, 1).reshape([-1]).cast('int32'), levels);
    const tau = tf.div(tf.sub(tf.sum(tf.mul(cumulative, lastInSupport), 1, true), 1), size);
    return tf.relu(tf.sub(z, tau));
  });
  save([p]);
  return {
    value: p,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [probabilities] = saved as [tf.Tensor];
      const support = tf.greater(probabilities, 0).cast('float32');
      const mean = tf.div(tf.sum(tf.mul(dy, support), 1, true), tf.sum(support, 1, true));
      return tf.mul(support, tf.sub(dy, mean));
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (z: tf.Tensor2D) => tf.Tensor2D;

export function project(scores: tf.Tensor2D, projection: SimplexProjection): tf.Tensor2D {
  return projection === 'softmax' ? tf.softmax(scores) : sparsemax(scores);
}
