import * as tf from '@tensorflow/tfjs';
import type { ModelGraph } from '../model/graph.js';
import { isWeighted } from '../model/graph.js';
import type { GraphRunner } from '../model/graph-runner.js';
import { bnStatisticsLoss, bnTargets, disposeTargets } from './bn-statistics-loss.js';

/** The node whose output feeds the last conv/dense layer: the model's penultimate features. */
export function penultimateNode(graph: ModelGraph): string {
  const last = [...graph.nodes].reverse().find(isWeighted);
  const source = last?.inputs[0];
  if (!source) throw new Error(`model ${graph.name} has no final weighted layer`);
  return source;
}

interface Predictions {
  classes: Int32Array;
  confidence: Float32Array;
  features: Float32Array[];
}

/** Class, softmax confidence and penultimate features of every image, in batches. */
export function predictWithFeatures(runner: GraphRunner, images: tf.Tensor4D, batchSize = 256): Predictions {
  const feature = penultimateNode(runner.graph);
  const n = images.shape[0];
  const classes = new Int32Array(n);
  const confidence = new Float32Array(n);
  const features: Float32Array[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const [cls, conf, feat] = tf.tidy(() => {
      const batch = images.slice([start, 0, 0, 0], [size, -1, -1, -1]);
      const { output, taps } = runner.run(batch, { taps: new Set([feature]), releaseEarly: true });
      const probs = tf.softmax(output);
      return [probs.argMax(-1), probs.max(-1), (taps.get(feature) as tf.Tensor).reshape([size, -1])];
    });
    classes.set(cls.dataSync() as Int32Array, start);
    confidence.set(conf.dataSync() as Float32Array, start);
    const f = feat.dataSync() as Float32Array;
    const width = f.length / size;
    for (let i = 0; i < size; i++) features.push(f.slice(i * width, (i + 1) * width));
    tf.dispose([cls, conf, feat]);
  }
  return { classes, confidence, features };
}

/** Mean pairwise cosine distance (1 - cos) between feature vectors of the same class, averaged over classes. */
export function withinClassDiversity(features: Float32Array[], labels: ArrayLike<number>): number {
  const byClass = new Map<number, Float32Array[]>();
  features.forEach((f, i) => {
    const c = labels[i] as number;
    byClass.set(c, [...(byClass.get(c) ?? []), f]);
  });
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0)) || 1;
  const perClass: number[] = [];
  for (const group of byClass.values()) {
    if (group.length < 2) continue;
    const norms = group.map(norm);
    let total = 0;
    let pairs = 0;
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const a = group[i] as Float32Array;
        const b = group[j] as Float32Array;
        let dot = 0;
        for (let k = 0; k < a.length; k++) dot += (a[k] as number) * (b[k] as number);
        total += 1 - dot / ((norms[i] as number) * (norms[j] as number));
        pairs++;
      }
    }
    perClass.push(total / pairs);
  }
  return perClass.length ? perClass.reduce((a, b) => a + b, 0) / perClass.length : 0;
}

/** The BN-statistics loss of each BatchNorm layer over a whole image set (what synthesis minimized). */
export function bnLossPerLayer(runner: GraphRunner, images: tf.Tensor4D): Record<string, number> {
  const targets = bnTargets(runner.graph);
  try {
    return tf.tidy(() => {
      const { taps } = runner.run(images, { taps: new Set(targets.map((t) => t.tap)), releaseEarly: true });
      return Object.fromEntries(
        targets.map((t) => [
          t.layer,
          bnStatisticsLoss(taps.get(t.tap) as tf.Tensor, t).dataSync()[0] as number,
        ]),
      );
    });
  } finally {
    disposeTargets(targets);
  }
}
