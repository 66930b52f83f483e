import * as tf from '@tensorflow/tfjs';
import { channelMoments } from '../model/fused-ops.js';
import type { BatchNormNode, ModelGraph } from '../model/graph.js';
import type { ChannelMoments } from '../model/graph-runner.js';

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
 * ZeroQ's statistics loss for one BatchNorm input x (NHWC): squared error between the batch's
 * per-channel mean and std and the recorded running mean and std, averaged over channels.
 */
export function bnStatisticsLoss(x: tf.Tensor, target: BnTarget, epsilon = 1e-5): tf.Scalar {
  return tf.tidy(() => momentsLoss(channelMoments(x), target, epsilon));
}

/** bnStatisticsLoss from moments already taken (GraphRunner's `moments` option). */
export function momentsLoss(moments: ChannelMoments, target: BnTarget, epsilon = 1e-5): tf.Scalar {
  return tf.tidy(() => {
    const std = moments.variance.add(epsilon).sqrt();
    return tf.add(
      moments.mean.sub(target.mean).square().mean(),
      std.sub(target.std).square().mean(),
    ) as tf.Scalar;
  });
}

/** Pulls the input's per-channel statistics toward mean 0 and std 1 (what normalized real data has). */
export function inputStatisticsLoss(x: tf.Tensor, epsilon = 1e-5): tf.Scalar {
  return tf.tidy(() => {
    const { mean, variance } = channelMoments(x);
    return tf.add(mean.square().mean(), variance.add(epsilon).sqrt().sub(1).square().mean()) as tf.Scalar;
  });
}
