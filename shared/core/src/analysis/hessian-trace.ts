import * as tf from '@tensorflow/tfjs';
import type { WeightedNode } from '../model/graph.js';
import type { GraphRunner } from '../model/graph-runner.js';
import { tfSeed } from '../util/rng.js';
import { yieldToEventLoop } from '../util/yield.js';

export interface HessianTraceOptions {
  probes: number;
  seed: number;
  batchSize: number;
  /** Called after each probe (1-based). */
  onProbe?: (probe: number) => void | Promise<void>;
}

/** Step of the finite difference, relative to the layer's RMS weight. */
const RELATIVE_STEP = 1e-2;

/**
 * Hutchinson's estimate of each layer's Hessian trace, tr(H_LL) = E[v_Lᵀ (H v)_L] over Rademacher
 * vectors v (HAWQ-V2), for the cross-entropy of the model against FP32's own top-1 on the images
 * (data-free: the labels are the model's). H v comes from a central difference of gradients,
 * (g(W + εv) - g(W - εv)) / 2ε, so only first-order gradients are needed; all layers are probed at
 * once, and the cross-layer terms average out because each layer's v is independent.
 */
export async function hessianTraces(
  runner: GraphRunner,
  layers: readonly WeightedNode[],
  images: tf.Tensor4D,
  reference: tf.Tensor2D,
  options: HessianTraceOptions,
): Promise<Map<string, number>> {
  const n = images.shape[0];
  const kernels = layers.map((node) => tf.tensor(node.kernel.data, node.kernel.shape));
  const steps = layers.map((node) => {
    const data = node.kernel.data;
    const rms = Math.sqrt(data.reduce((a, w) => a + w * w, 0) / Math.max(1, data.length));
    return RELATIVE_STEP * (rms > 0 ? rms : 1);
  });
  const labels = tf.tidy(() => tf.oneHot(reference.argMax(1), reference.shape[1]));
  /** Gradient of the mean cross-entropy over all images with respect to each layer's kernel. */
  const gradients = async (at: tf.Tensor[]): Promise<tf.Tensor[]> => {
    let sum: tf.Tensor[] | null = null;
    for (let start = 0; start < n; start += options.batchSize) {
      const size = Math.min(options.batchSize, n - start);
      const grads = tf.tidy(() => {
        const x = images.slice([start, 0, 0, 0], [size, -1, -1, -1]);
        const y = labels.slice([start, 0], [size, -1]);
        const f = (...ks: tf.Tensor[]) => {
          const map = new Map(layers.map((node, i) => [node.name, ks[i] as tf.Tensor]));
          const logits = runner.run(x, { kernels: map }).output.reshape([size, -1]);
          return tf.losses.softmaxCrossEntropy(y, logits).mul(size / n) as tf.Scalar;
        };
        return tf.grads(f)(at);
      });
      if (sum === null) sum = grads;
      else {
        const next: tf.Tensor[] = sum.map((s, i) => s.add(grads[i] as tf.Tensor));
        tf.dispose([...sum, ...grads]);
        sum = next;
      }
      await yieldToEventLoop();
    }
    return sum ?? [];
  };
  const totals = layers.map(() => 0);
  try {
    for (let probe = 0; probe < options.probes; probe++) {
      const v = kernels.map((k, i) =>
        tf.tidy(() =>
          tf
            .randomUniform(k.shape, 0, 1, 'float32', tfSeed(options.seed * 7919 + probe * 131 + i))
            .less(0.5)
            .cast('float32')
            .mul(2)
            .sub(1),
        ),
      );
      const plus = kernels.map((k, i) => tf.tidy(() => k.add((v[i] as tf.Tensor).mul(steps[i] as number))));
      const minus = kernels.map((k, i) => tf.tidy(() => k.sub((v[i] as tf.Tensor).mul(steps[i] as number))));
      const gPlus = await gradients(plus);
      const gMinus = await gradients(minus);
      layers.forEach((_, i) => {
        const vHv = tf.tidy(
          () =>
            (gPlus[i] as tf.Tensor)
              .sub(gMinus[i] as tf.Tensor)
              .mul(v[i] as tf.Tensor)
              .sum()
              .dataSync()[0] as number,
        );
        totals[i] = (totals[i] as number) + vHv / (2 * (steps[i] as number));
      });
      tf.dispose([...v, ...plus, ...minus, ...gPlus, ...gMinus]);
      await options.onProbe?.(probe + 1);
    }
    return new Map(layers.map((node, i) => [node.name, (totals[i] as number) / Math.max(1, options.probes)]));
  } finally {
    tf.dispose([...kernels, labels]);
  }
}
