import type * as tf from '@tensorflow/tfjs';

/**
 * Keeps an evenly strided sample of every value a tensor takes over the calibration set, plus
 * its exact min and max. Estimators that need the distribution (percentile, MSE, KL) and the
 * per-layer error report work from it; the cap keeps memory bounded on large image sets.
 */
export class ValueSample {
  private chunks: Float32Array[] = [];
  private kept = 0;
  private seen = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  constructor(private readonly cap = 1 << 20) {}

  observe(batch: tf.Tensor): void {
    const values = batch.dataSync() as Float32Array;
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
    }
    this.seen += values.length;
    this.chunks.push(Float32Array.from(values));
    this.kept += values.length;
    if (this.kept > 2 * this.cap) this.thin();
  }

  /** Halves the sample by keeping every other value: still spread over every batch seen. */
  private thin(): void {
    const all = this.values();
    const half = new Float32Array(Math.ceil(all.length / 2));
    for (let i = 0; i < half.length; i++) half[i] = all[2 * i] as number;
    this.chunks = [half];
    this.kept = half.length;
  }

  values(): Float32Array {
    if (this.chunks.length === 1) return this.chunks[0] as Float32Array;
    const out = new Float32Array(this.kept);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    this.chunks = [out];
    return out;
  }

  get count(): number {
    return this.seen;
  }
}
