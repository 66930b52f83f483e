import * as tf from '@tensorflow/tfjs';
import { fusedFakeQuantize } from '../model/fused-ops.js';
import type { AffineParams } from './activation-quantizer.js';
import { fakeQuantize } from './activation-quantizer.js';

/**
 * Fake quantization whose gradient is the clipped straight-through estimator: rounding passes
 * gradients unchanged (its true derivative is zero almost everywhere), clipping stops them
 * outside the representable range.
 */
export function fakeQuantizeSte(x: tf.Tensor, p: AffineParams): tf.Tensor {
  const fused = fusedFakeQuantize(x, p, true);
  if (fused) return fused;
  const lo = -p.zeroPoint * p.scale;
  const hi = (2 ** p.bits - 1 - p.zeroPoint) * p.scale;
  const op = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    save([input]);
    return {
      value: fakeQuantize(input, p),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [v] = saved as [tf.Tensor];
        return tf.mul(dy, tf.logicalAnd(tf.greaterEqual(v, lo), tf.lessEqual(v, hi)).cast('float32'));
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x);
}
