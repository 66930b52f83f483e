import * as tf from '@tensorflow/tfjs';
import type { LabelledImages } from '../data/fashion-mnist.js';
import { normalizedBatch, normalizedPixelBounds } from '../data/normalize.js';
import type { ModelGraph } from '../model/graph.js';
import { inputNode } from '../model/graph.js';
import { sampleIndices, tfSeed } from '../util/rng.js';
import type { SynthesisResult } from './synthesis-result.js';

/** Baseline: Gaussian noise in normalized space, clipped to the box real pixels map to. */
export function noiseImages(graph: ModelGraph, count: number, seed: number): SynthesisResult {
  const { low, high } = normalizedPixelBounds(graph.normalization);
  const images = tf.tidy(
    () =>
      tf
        .randomNormal([count, ...inputNode(graph).shape], 0, 1, 'float32', tfSeed(seed))
        .maximum(tf.tensor1d(low))
        .minimum(tf.tensor1d(high)) as tf.Tensor4D,
  );
  return { method: 'noise', images, iterations: 0, lossInitial: null, lossFinal: null };
}

/** Baseline: `count` real training images drawn at random (seeded). Never the data-free default. */
export function realImages(
  graph: ModelGraph,
  train: LabelledImages,
  count: number,
  seed: number,
): SynthesisResult {
  const picks = sampleIndices(train.count, count, seed);
  const images = tf.tidy(
    () => tf.concat(picks.map((i) => normalizedBatch(train, i, i + 1, graph.normalization))) as tf.Tensor4D,
  );
  return { method: 'real', images, iterations: 0, lossInitial: null, lossFinal: null };
}
