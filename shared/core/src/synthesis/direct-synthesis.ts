import type { SynthesisProgress } from '@dfq/contract';
import * as tf from '@tensorflow/tfjs';
import { normalizedPixelBounds } from '../data/normalize.js';
import type { ModelGraph } from '../model/graph.js';
import { inputNode } from '../model/graph.js';
import { type ChannelMoments, GraphRunner } from '../model/graph-runner.js';
import { seededRandom, tfSeed } from '../util/rng.js';
import { yieldToEventLoop } from '../util/yield.js';
import {
  type BnTarget,
  bnStatisticsLoss,
  bnTargets,
  disposeTargets,
  inputStatisticsLoss,
  momentsLoss,
} from './bn-statistics-loss.js';
import { balancedLabels, classCount } from './labels.js';
import type { SynthesisResult } from './synthesis-result.js';

export interface DirectSynthesisOptions {
  images: number;
  iterations: number;
  seed: number;
  /** Images optimized together; BN statistics are matched over each such batch. */
  batchSize?: number;
  learningRate?: number;
  /** Add a cross-entropy term pulling image i toward class i mod classes (IntraQ, GDFQ). */
  labels?: boolean;
  /** Match BN statistics over the whole batch (ZeroQ) or within each image. */
  statistics?: 'batch' | 'image';
  /** Random flips and shifts of up to 2 pixels before every step, so images cannot overfit one view (IntraQ). */
  jitter?: boolean;
  /**
   * End a batch early once its loss has stopped falling: after the learning rate has been halved
   * PLATEAU_HALVINGS times, each after 20 iterations without a 0.1% improvement.
   */
  stopOnPlateau?: boolean;
  /**
   * Average the BatchNorm-statistics terms over layers instead of summing them (ZeroQ sums). On a deep
   * model the sum drowns the label term: 52 layers of MobileNetV2 make about 270 against a
   * cross-entropy of 2, and images then reach their class one time in five.
   */
  averageLayers?: boolean;
  onProgress?: (p: SynthesisProgress) => void;
}

/** ZeroQ as released: batch statistics, no labels, no jitter. */
export const ZEROQ_PRESET = { labels: false, statistics: 'batch', jitter: false } as const;

/** dfq's direct default: ZeroQ plus a label term and jitter. */
export const DIRECT_PRESET = { labels: true, statistics: 'batch', jitter: true } as const;

/** Rolls an NHWC batch by (dy, dx) pixels and optionally mirrors it: a cheap, invertible view change. */
function jitterView(x: tf.Tensor, step: number, seed: number): tf.Tensor {
  const random = seededRandom(seed * 65_537 + step);
  const dy = Math.floor(random() * 5) - 2;
  const dx = Math.floor(random() * 5) - 2;
  const roll = (t: tf.Tensor, shift: number, axis: number) => {
    if (shift === 0) return t;
    const size = t.shape[axis] as number;
    const cut = (size - shift) % size;
    const begin = [0, 0, 0, 0];
    const head = [...t.shape];
    head[axis] = cut;
    const tailBegin = [...begin];
    tailBegin[axis] = cut;
    return tf.concat(
      [
        t.slice(
          tailBegin,
          Array.from(t.shape, (d, i) => (i === axis ? size - cut : d)),
        ),
        t.slice(begin, head),
      ],
      axis,
    );
  };
  const shifted = roll(roll(x, dy, 1), dx, 2);
  return random() < 0.5 ? tf.reverse(shifted, 2) : shifted;
}

/** Halvings of the learning rate after which stopOnPlateau ends a batch (the step is then 1/8 of the start). */
const PLATEAU_HALVINGS = 3;

/** Adam on a tensor we own, so the learning rate can drop on a plateau. */
class PixelAdam {
  private m: tf.Tensor;
  private v: tf.Tensor;
  private step = 0;

  constructor(
    shape: number[],
    public learningRate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-8,
  ) {
    this.m = tf.zeros(shape);
    this.v = tf.zeros(shape);
  }

  /** Returns x moved one step against grad; disposes nothing the caller owns. */
  apply(x: tf.Tensor, grad: tf.Tensor): tf.Tensor {
    this.step++;
    const [m, v, next] = tf.tidy(() => {
      const m = this.m.mul(this.beta1).add(grad.mul(1 - this.beta1));
      const v = this.v.mul(this.beta2).add(grad.square().mul(1 - this.beta2));
      const mHat = m.div(1 - this.beta1 ** this.step);
      const vHat = v.div(1 - this.beta2 ** this.step);
      return [m, v, x.sub(mHat.div(vHat.sqrt().add(this.epsilon)).mul(this.learningRate))];
    });
    this.m.dispose();
    this.v.dispose();
    this.m = m;
    this.v = v;
    return next;
  }

  dispose(): void {
    this.m.dispose();
    this.v.dispose();
  }
}

/**
 * ZeroQ-style synthesis: start from Gaussian noise in normalized input space and optimize the
 * pixels so every BatchNorm sees the mean and std it recorded in training. Pixels are kept
 * inside the box real images occupy; the learning rate halves when the loss plateaus.
 */
export async function synthesizeDirect(
  graph: ModelGraph,
  options: DirectSynthesisOptions,
): Promise<SynthesisResult> {
  const shape = inputNode(graph).shape;
  const batchSize = Math.min(options.batchSize ?? 64, options.images);
  const batches = Math.ceil(options.images / batchSize);
  const { low, high } = normalizedPixelBounds(graph.normalization);
  const runner = new GraphRunner(graph);
  const targets = bnTargets(graph);
  const taps = new Set(targets.map((t) => t.tap));
  const lowT = tf.tensor1d(low);
  const highT = tf.tensor1d(high);

  const classes = classCount(graph);
  const perImage = options.statistics === 'image';
  // Batch statistics come from the runner, fused with each BatchNorm where the backend can; per-image
  // statistics need the BatchNorm inputs themselves.
  const bnLayers = new Set(targets.map((t) => t.layer));
  const perImageLoss = (t: tf.Tensor, target: BnTarget): tf.Scalar =>
    tf.tidy(
      () =>
        tf
          .addN(tf.unstack(t).map((one) => bnStatisticsLoss(one.expandDims(0), target)))
          .div(t.shape[0] as number) as tf.Scalar,
    );
  let step = 0;
  let batchLabels: tf.Tensor | null = null;
  const lossOf = (input: tf.Tensor): tf.Scalar => {
    const x = options.jitter ? jitterView(input, step, options.seed) : input;
    const { output, taps: seen, moments } = runner.run(x, perImage ? { taps } : { moments: bnLayers });
    let statistics: tf.Tensor = tf.scalar(0);
    for (const target of targets) {
      const term = perImage
        ? perImageLoss(seen.get(target.tap) as tf.Tensor, target)
        : momentsLoss(moments.get(target.layer) as ChannelMoments, target);
      statistics = statistics.add(term);
    }
    if (options.averageLayers) statistics = statistics.div(Math.max(1, targets.length));
    let loss = inputStatisticsLoss(x).add(statistics);
    if (batchLabels) loss = loss.add(tf.losses.softmaxCrossEntropy(batchLabels, output));
    return loss as tf.Scalar;
  };
  const valueAndGrad = tf.valueAndGrad(lossOf);
  const labels = options.labels ? balancedLabels(options.images, classes) : null;

  const results: tf.Tensor4D[] = [];
  let x: tf.Tensor | undefined;
  let adam: PixelAdam | undefined;
  let lossInitial = 0;
  let lossFinal = 0;
  /** Most iterations any batch ran (fewer than asked when a plateau ended every batch). */
  let ran = 0;
  try {
    for (let b = 0; b < batches; b++) {
      const n = Math.min(batchSize, options.images - b * batchSize);
      x = tf.tidy(() =>
        tf
          .randomNormal([n, ...shape], 0, 1, 'float32', tfSeed(options.seed * 1000 + b))
          .maximum(lowT)
          .minimum(highT),
      );
      adam = new PixelAdam(x.shape, options.learningRate ?? 0.1);
      const batchClasses = labels?.slice(b * batchSize, b * batchSize + n);
      if (batchClasses) batchLabels = tf.tidy(() => tf.oneHot(tf.tensor1d(batchClasses, 'int32'), classes));
      let best = Number.POSITIVE_INFINITY;
      let sinceBest = 0;
      let halvings = 0;
      let last = 0;
      for (let it = 0; it < options.iterations; it++) {
        step = it;
        const { value, grad } = valueAndGrad(x);
        last = (await value.data())[0] ?? 0;
        if (it === 0) lossInitial += last / batches;
        const stepped = adam.apply(x, grad);
        const next: tf.Tensor = tf.tidy(() => stepped.maximum(lowT).minimum(highT));
        tf.dispose([value, grad, stepped, x]);
        x = next;
        if (last < best * (1 - 1e-3)) {
          best = last;
          sinceBest = 0;
        } else if (++sinceBest >= 20) {
          adam.learningRate *= 0.5;
          sinceBest = 0;
          halvings++;
        }
        ran = Math.max(ran, it + 1);
        // May throw (a cancelled job): the finally block still releases every tensor.
        options.onProgress?.({
          iteration: it + 1,
          iterations: options.iterations,
          batch: b + 1,
          batches,
          loss: last,
        });
        await yieldToEventLoop();
        if (options.stopOnPlateau && halvings >= PLATEAU_HALVINGS) break;
      }
      adam.dispose();
      adam = undefined;
      batchLabels?.dispose();
      batchLabels = null;
      lossFinal += last / batches;
      results.push(x as tf.Tensor4D);
      x = undefined;
    }
    const images = results.length === 1 ? (results[0] as tf.Tensor4D) : (tf.concat(results) as tf.Tensor4D);
    if (results.length > 1) tf.dispose(results);
    results.length = 0;
    return { method: 'direct', images, labels, iterations: ran, lossInitial, lossFinal };
  } finally {
    tf.dispose(results);
    if (x) x.dispose();
    batchLabels?.dispose();
    adam?.dispose();
    runner.dispose();
    disposeTargets(targets);
    lowT.dispose();
    highT.dispose();
  }
}
