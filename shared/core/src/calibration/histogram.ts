/** A fixed-bin histogram of sampled values over [low, high]. */
export interface Histogram {
  low: number;
  high: number;
  counts: Float64Array;
}

export function histogram(values: Float32Array, low: number, high: number, bins = 2048): Histogram {
  const counts = new Float64Array(bins);
  const width = (high - low) / bins || 1;
  for (const v of values) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor((v - low) / width)));
    counts[b] = (counts[b] as number) + 1;
  }
  return { low, high, counts };
}

export function binCenter(h: Histogram, i: number): number {
  return h.low + ((i + 0.5) * (h.high - h.low)) / h.counts.length;
}
