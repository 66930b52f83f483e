// Per-channel ops of the training loops, in their composite TF.js form, or fused into one kernel each
// way when the backend in force offers them (the native backend does: see its fused-ops.ts). Same
// results within float rounding; the fused form makes one pass over the activation instead of several.
import type { FusedOps } from '@dfq/tfjs-backend-native';
import * as tf from '@tensorflow/tfjs';

/**
 * What a backend package offers in place of the composites below (the native backend's interface;
 * a type-only import, so core never loads that optional package itself).
 */
export type FusedOpsProvider = FusedOps;

let provider: FusedOpsProvider | null = null;

/** Called by backend selection when a backend package offers fused ops. */
export function useFusedOps(offered: FusedOpsProvider | null): void {
  provider = offered;
}

function fused(): FusedOpsProvider | null {
  return provider?.available() ? provider : null;
}

/**
 * Per-channel mean and (biased) variance of an NHWC tensor over N, H and W. The composite is a matrix
 * product with a ones vector rather than tf.moments: the gradient of a mean over broadcast axes runs a
 * Tile that costs more than the convolutions' backward pass on the wasm backend, while the matMul
 * gradient is one cheap outer product.
 */
export function channelMoments(x: tf.Tensor): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const native = fused();
  if (native) return native.channelMoments(x);
  return tf.tidy(() => {
    const channels = x.shape[x.rank - 1] as number;
    const rows = x.reshape([-1, channels]) as tf.Tensor2D;
    const weights = tf.fill([1, rows.shape[0]], 1 / rows.shape[0]) as tf.Tensor2D;
    const mean = tf.matMul(weights, rows).reshape([channels]) as tf.Tensor1D;
    const meanSquare = tf.matMul(weights, rows.square()).reshape([channels]);
    return { mean, variance: meanSquare.sub(mean.square()).relu() as tf.Tensor1D };
  });
}

/** x * scale + shift along the last axis (BatchNorm at inference). */
export function channelAffine(x: tf.Tensor, scale: tf.Tensor1D, shift: tf.Tensor1D): tf.Tensor {
  const native = fused();
  if (native) return native.channelAffine(x, scale, shift);
  return tf.tidy(() => x.mul(scale).add(shift));
}

/** channelAffine(x, scale, shift) and channelMoments(x) together: one pass each way when fused. */
export function channelAffineMoments(
  x: tf.Tensor,
  scale: tf.Tensor1D,
  shift: tf.Tensor1D,
): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const native = fused();
  if (native) return native.channelAffineMoments(x, scale, shift);
  return { y: channelAffine(x, scale, shift), ...channelMoments(x) };
}

/**
 * The fused form of an activation's fake quantization, or null when the backend has none (callers
 * then run their composite: quantization/activation-quantizer.ts, straight-through.ts).
 */
export function fusedFakeQuantize(
  x: tf.Tensor,
  params: { scale: number; zeroPoint: number; bits: number },
  ste: boolean,
): tf.Tensor | null {
  return fused()?.fakeQuantize(x, params, ste) ?? null;
}

/** The fake quantization's straight-through gradient (dy inside the grid's range, else 0), fused where offered. */
export function fusedSteGradient(
  dy: tf.Tensor,
  x: tf.Tensor,
  params: { scale: number; zeroPoint: number; bits: number },
): tf.Tensor | null {
  return fused()?.steGradient(dy, x, params) ?? null;
}

/** Mean-field weights, softmax(beta * scores) . levels per row, fused where the backend can (else null). */
export function fusedExpectedLevels(
  scores: tf.Tensor2D,
  levels: tf.Tensor1D,
  beta: number,
): tf.Tensor1D | null {
  return fused()?.expectedLevels(scores, levels, beta) ?? null;
}

/** One fused Adam step (new value and moments), or null when the backend has none. */
export function fusedAdamStep(
  value: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  grad: tf.Tensor,
  settings: { learningRate: number; beta1: number; beta2: number; epsilon: number; step: number },
): { value: tf.Tensor; m: tf.Tensor; v: tf.Tensor } | null {
  return fused()?.adamStep(value, m, v, grad, settings) ?? null;
}

/**
 * mean((student - teacher)^2) / (mean(teacher^2) + epsilon): distillation's feature term, relative so
 * that every layer weighs alike whatever its scale. Differentiable in the student. Call inside tf.tidy.
 */
export function relativeSquaredError(student: tf.Tensor, teacher: tf.Tensor, epsilon = 1e-8): tf.Scalar {
  const native = fused();
  if (native) return native.relativeSquaredError(student, teacher, epsilon);
  return tf.div(
    tf.mean(tf.squaredDifference(student, teacher)),
    tf.add(tf.mean(tf.square(teacher)), epsilon),
  );
}
