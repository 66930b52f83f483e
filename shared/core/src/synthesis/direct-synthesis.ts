import * as tf from '@tensorflow/tfjs';
import { normalizedPixelBounds } from '../data/normalize.js';
import type { ModelGraph } from '../model/graph.js';
import { inputNode } from '../model/graph.js';
import { GraphRunner } from '../model/graph-runner.js';
import { yieldToEventLoop } from '../util/yield.js';
import { bnStatisticsLoss, bnTargets, disposeTargets, inputStatisticsLoss } from './bn-statistics-loss.js';
import type { SynthesisProgress, SynthesisResult } from './synthesis-result.js';

export interface DirectSynthesisOptions {
  images: number;
  iterations: number;
  seed: number;
  /** Images optimized together; BN statistics are matched over each such batch. */
  batchSize?: number;
  learningRate?: number;
  onProgress?: (p: SynthesisProgress) => void;
}

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

  const lossOf = (x: tf.Tensor): tf.Scalar => {
    const { taps: seen } = runner.run(x, { taps });
    let loss = inputStatisticsLoss(x);
    for (const target of targets)
      loss = loss.add(bnStatisticsLoss(seen.get(target.tap) as tf.Tensor, target));
    return loss;
  };
  const valueAndGrad = tf.valueAndGrad(lossOf);

  const results: tf.Tensor4D[] = [];
  let x: tf.Tensor | undefined;
  let adam: PixelAdam | undefined;
  let lossInitial = 0;
  let lossFinal = 0;
  try {
    for (let b = 0; b < batches; b++) {
      const n = Math.min(batchSize, options.images - b * batchSize);
      x = tf.tidy(() =>
        tf
          .randomNormal([n, ...shape], 0, 1, 'float32', options.seed * 1000 + b)
          .maximum(lowT)
          .minimum(highT),
      );
      adam = new PixelAdam(x.shape, options.learningRate ?? 0.1);
      let best = Number.POSITIVE_INFINITY;
      let sinceBest = 0;
      let last = 0;
      for (let it = 0; it < options.iterations; it++) {
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
        }
        // May throw (a cancelled job): the finally block still releases every tensor.
        options.onProgress?.({
          iteration: it + 1,
          iterations: options.iterations,
          batch: b + 1,
          batches,
          loss: last,
        });
        await yieldToEventLoop();
      }
      adam.dispose();
      adam = undefined;
      lossFinal += last / batches;
      results.push(x as tf.Tensor4D);
      x = undefined;
    }
    const images = results.length === 1 ? (results[0] as tf.Tensor4D) : (tf.concat(results) as tf.Tensor4D);
    if (results.length > 1) tf.dispose(results);
    results.length = 0;
    return { method: 'direct', images, iterations: options.iterations, lossInitial, lossFinal };
  } finally {
    tf.dispose(results);
    if (x) x.dispose();
    adam?.dispose();
    runner.dispose();
    disposeTargets(targets);
    lowT.dispose();
    highT.dispose();
  }
}
