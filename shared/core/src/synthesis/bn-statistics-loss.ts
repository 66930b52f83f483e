import * as tf from '@tensorflow/tfjs';
import type { BatchNormNode, ModelGraph } from '../model/graph.js';

export interface BnTarget {
  /** The BatchNorm layer. */
  layer: string;
  /** The node whose output the BatchNorm normalizes (where statistics are read). */
  tap: string;
  mean: tf.Tensor1D;
  std: tf.Tensor1D;
}

/** The per-channel targets every BatchNorm recorded in training; dispose with disposeTargets. */
export function bnTargets(graph: ModelGraph): BnTarget[] {
  return graph.nodes
    .filter((n): n is BatchNormNode => n.op === 'batchNorm')
    .map((bn) => ({
      layer: bn.name,
      tap: bn.inputs[0] as string,
      mean: tf.tensor1d(bn.movingMean.data),
      std: tf.tidy(() => tf.tensor1d(bn.movingVariance.data).add(bn.epsilon).sqrt() as tf.Tensor1D),
    }));
}

export function disposeTargets(targets: BnTarget[]): void {
  for (const t of targets) {
    t.mean.dispose();
    t.std.dispose();
  }
}

/**
 * Per-channel mean and (biased) variance of an NHWC tensor over N, H and W. Written as a matrix
 * product with a ones vector rather than tf.moments: the gradient of a mean over broadcast axes
 * runs a Tile that costs more than the convolutions' backward pass on the wasm backend, while
 * the matMul gradient is one cheap outer product.
 */
export function channelMoments(x: tf.Tensor): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  return tf.tidy(() => {
    const channels = x.shape[x.rank - 1] as number;
    const rows = x.reshape([-1, channels]) as tf.Tensor2D;
    const weights = tf.fill([1, rows.shape[0]], 1 / rows.shape[0]) as tf.Tensor2D;
    const mean = tf.matMul(weights, rows).reshape([channels]) as tf.Tensor1D;
    const meanSquare = tf.matMul(weights, rows.square()).reshape([channels]);
    return { mean, variance: meanSquare.sub(mean.square()).relu() as tf.Tensor1D };
  });
}

/**
 * ZeroQ's statistics loss for one BatchNorm input x (NHWC): squared error between the batch's
 * per-channel mean and std and the recorded running mean and std, averaged over channels.
 */
export function bnStatisticsLoss(x: tf.Tensor, target: BnTarget, epsilon = 1e-5): tf.Scalar {
  return tf.tidy(() => {
    const { mean, variance } = channelMoments(x);
    const std = variance.add(epsilon).sqrt();
    return tf.add(mean.sub(target.mean).square().mean(), std.sub(target.std).square().mean()) as tf.Scalar;
  });
}

/** Pulls the input's per-channel statistics toward mean 0 and std 1 (what normalized real data has). */
export function inputStatisticsLoss(x: tf.Tensor, epsilon = 1e-5): tf.Scalar {
  return tf.tidy(() => {
    const { mean, variance } = channelMoments(x);
    return tf.add(mean.square().mean(), variance.add(epsilon).sqrt().sub(1).square().mean()) as tf.Scalar;
  });
}
