import type { LabelledImages } from '../data/fashion-mnist.js';
import { quantizeNormalized, quantizePixels } from './input-quantizer.js';
import { runInteger } from './integer-executor.js';
import { type IntegerModel, integerInput } from './integer-model.js';

/** What the integer model did over a set: its predictions and every layer's accumulator figures. */
export interface IntegerRun {
  samples: number;
  predictions: Int32Array;
  overflows: Map<string, number>;
  maxAbsAccumulator: Map<string, number>;
  seconds: number;
}

function argmaxRows(logits: Int32Array, rows: number): Int32Array {
  const classes = logits.length / rows;
  return Int32Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let c = 1; c < classes; c++)
      if ((logits[r * classes + c] as number) > (logits[r * classes + best] as number)) best = c;
    return best;
  });
}

/** Runs the integer model over `count` images whose quantized input `inputOf(start, end)` gives. */
async function runOver(
  model: IntegerModel,
  count: number,
  inputOf: (start: number, end: number) => Int32Array,
  onBatch?: (done: number, total: number) => void,
): Promise<IntegerRun> {
  const start = performance.now();
  const predictions = new Int32Array(count);
  const overflows = new Map<string, number>();
  const maxAbsAccumulator = new Map<string, number>();
  const batchSize = 100;
  for (let from = 0; from < count; from += batchSize) {
    const to = Math.min(count, from + batchSize);
    const result = runInteger(model, inputOf(from, to), to - from);
    predictions.set(argmaxRows(result.logits, to - from), from);
    for (const [layer, n] of result.overflows) overflows.set(layer, (overflows.get(layer) ?? 0) + n);
    for (const [layer, m] of result.maxAbsAccumulator)
      maxAbsAccumulator.set(layer, Math.max(maxAbsAccumulator.get(layer) ?? 0, m));
    onBatch?.(to, count);
    // Lets progress reports and lock renewals through between batches.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return {
    samples: count,
    predictions,
    overflows,
    maxAbsAccumulator,
    seconds: (performance.now() - start) / 1000,
  };
}

/** The integer model on raw uint8 test images (quantized to the input grid with integer ops). */
export function runIntegerOnPixels(
  model: IntegerModel,
  set: LabelledImages,
  limit: number,
  onBatch?: (done: number, total: number) => void,
): Promise<IntegerRun> {
  const pixelsPerImage = set.height * set.width * set.channels;
  const grid = integerInput(model).grid;
  return runOver(
    model,
    Math.min(limit, set.count),
    (from, to) =>
      quantizePixels(
        set.images.subarray(from * pixelsPerImage, to * pixelsPerImage),
        model.normalization,
        grid,
      ),
    onBatch,
  );
}

/** The integer model on normalized float images (the synthetic calibration set). */
export function runIntegerOnNormalized(
  model: IntegerModel,
  images: Float32Array,
  count: number,
): Promise<IntegerRun> {
  const perImage = images.length / count;
  const grid = integerInput(model).grid;
  return runOver(model, count, (from, to) =>
    quantizeNormalized(images.subarray(from * perImage, to * perImage), grid),
  );
}
