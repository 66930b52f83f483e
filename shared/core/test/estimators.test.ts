import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  affineParams,
  bnBased,
  klDivergence,
  minMax,
  mseOptimal,
  percentile,
  RANGE_ESTIMATORS,
  seededRandom,
  selectBackend,
  ValueSample,
} from '../src/index.js';

beforeAll(async () => {
  await selectBackend('cpu');
});

/** A ReLU-like activation: mostly small positive values, a few large outliers, many exact zeros. */
function reluSample(n = 200_000, outliers = 5): ValueSample {
  const random = seededRandom(3);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = random();
    const g = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    values[i] = u < 0.4 ? 0 : Math.max(0, g);
  }
  for (let i = 0; i < outliers; i++) values[i * 97] = 12 + i;
  const sample = new ValueSample();
  sample.observe(tf.tensor1d(values));
  return sample;
}

function mse(values: Float32Array, range: { min: number; max: number }, bits: number): number {
  const p = affineParams(range, bits);
  let e = 0;
  for (const v of values) {
    const q = Math.max(0, Math.min(2 ** bits - 1, Math.round(v / p.scale) + p.zeroPoint));
    e += (v - (q - p.zeroPoint) * p.scale) ** 2;
  }
  return e / values.length;
}

describe('range estimators', () => {
  const sample = reluSample();
  const values = sample.values();

  it('min-max keeps every value, outliers included', () => {
    expect(minMax(sample, { bits: 4 })).toEqual({ min: 0, max: 16 });
  });

  it('percentile clips the rare outliers but keeps the bulk', () => {
    const r = percentile(99.99)(sample, { bits: 4 }) as { min: number; max: number };
    expect(r.max).toBeLessThan(10);
    expect(r.max).toBeGreaterThan(3);
  });

  it("the registered percentile estimator takes the run's percentile, 99.99 by default", () => {
    const at = (context: { bits: number; percentile?: number }) =>
      RANGE_ESTIMATORS.percentile(sample, context) as { min: number; max: number };
    expect(at({ bits: 4 })).toEqual(percentile(99.99)(sample, { bits: 4 }));
    expect(at({ bits: 4, percentile: 99 }).max).toBeLessThan(at({ bits: 4 }).max);
    expect(at({ bits: 4, percentile: 99 })).toEqual(percentile(99)(sample, { bits: 4 }));
  });

  it('MSE-optimal and KL ranges quantize these values with less error than min-max at 4 bits', () => {
    const base = mse(values, minMax(sample, { bits: 4 }) as { min: number; max: number }, 4);
    for (const estimator of [mseOptimal, klDivergence]) {
      const range = estimator(sample, { bits: 4 }) as { min: number; max: number };
      expect(range.min).toBe(0);
      expect(mse(values, range, 4)).toBeLessThan(base * 0.7);
    }
  });

  it('BN-based ranges follow beta +- 6|gamma|, clipped by a fused ReLU, and need a BatchNorm', () => {
    const prior = {
      mean: Float32Array.from([0.5, -1]),
      std: Float32Array.from([0.25, 2]),
      activation: 'relu',
    };
    expect(bnBased(6)(sample, { bits: 8, prior })).toEqual({ min: 0, max: 11 });
    expect(bnBased(6)(sample, { bits: 8, prior: { ...prior, activation: 'linear' } })).toEqual({
      min: -13,
      max: 11,
    });
    expect(bnBased(6)(sample, { bits: 8 })).toBeNull();
  });

  it('the value sample stays bounded but spans every batch', () => {
    const s = new ValueSample(1000);
    for (let b = 0; b < 10; b++) s.observe(tf.fill([700], b));
    expect(s.values().length).toBeLessThanOrEqual(2000);
    expect(new Set(s.values()).size).toBe(10);
    expect(s.count).toBe(7000);
    expect([s.min, s.max]).toEqual([0, 9]);
  });
});
