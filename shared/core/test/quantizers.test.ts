import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  affineParams,
  dequantizeValue,
  fakeQuantize,
  quantizeSymmetricPerChannel,
  quantizeValue,
  roundHalfEven,
  seededRandom,
  selectBackend,
} from '../src/index.js';

beforeAll(async () => {
  await selectBackend('cpu');
});

describe('symmetric per-channel weight quantization', () => {
  const random = seededRandom(7);
  const channels = 5;
  // Channels with very different magnitudes: a per-tensor scale would crush the small ones.
  const data = Float32Array.from(
    { length: 3 * 3 * 4 * channels },
    (_, i) => (random() * 2 - 1) * 10 ** ((i % channels) - 2),
  );

  for (const bits of [3, 4, 8]) {
    it(`keeps every weight within half a step of its channel's grid at ${bits} bits`, () => {
      const q = quantizeSymmetricPerChannel(
        { shape: [3, 3, 4, channels], data },
        bits,
        channels,
        (i) => i % channels,
      );
      const qmax = 2 ** (bits - 1) - 1;
      data.forEach((w, i) => {
        const scale = q.scales[i % channels] as number;
        expect(Math.abs(q.q[i] as number)).toBeLessThanOrEqual(qmax);
        expect(Math.abs(w - (q.dequantized[i] as number))).toBeLessThanOrEqual(scale / 2 + 1e-7);
        expect(Math.abs((q.dequantized[i] as number) - (q.q[i] as number) * scale)).toBeLessThanOrEqual(
          1e-6 * Math.abs(w) + 1e-12,
        );
      });
    });
  }

  it('sets each channel scale to its own max |w| / qmax', () => {
    const q = quantizeSymmetricPerChannel(
      { shape: [3, 3, 4, channels], data },
      8,
      channels,
      (i) => i % channels,
    );
    for (let c = 0; c < channels; c++) {
      let max = 0;
      data.forEach((w, i) => {
        if (i % channels === c) max = Math.max(max, Math.abs(w));
      });
      expect(Math.abs((q.scales[c] as number) - max / 127)).toBeLessThanOrEqual(1e-6 * (max / 127));
    }
    // The largest weight of each channel lands exactly on the outermost level.
    expect(Math.max(...Array.from(q.q, Math.abs))).toBe(127);
  });

  it('binarizes with the least-squares scale mean |w| (BWN)', () => {
    const q = quantizeSymmetricPerChannel(
      { shape: [3, 3, 4, channels], data },
      1,
      channels,
      (i) => i % channels,
    );
    expect(new Set(q.q)).toEqual(new Set([-1, 1]));
    for (let c = 0; c < channels; c++) {
      const members = Array.from(data).filter((_, i) => i % channels === c);
      const meanAbs = members.reduce((a, w) => a + Math.abs(w), 0) / members.length;
      expect(Math.abs((q.scales[c] as number) - meanAbs)).toBeLessThanOrEqual(1e-6 * meanAbs);
    }
    data.forEach((w, i) => {
      expect(Math.sign(q.q[i] as number)).toBe(w < 0 ? -1 : 1);
    });
  });

  it('ternarizes with the TWN threshold 0.7 mean |w|', () => {
    const q = quantizeSymmetricPerChannel(
      { shape: [3, 3, 4, channels], data },
      2,
      channels,
      (i) => i % channels,
    );
    for (let c = 0; c < channels; c++) {
      const members = Array.from(data).filter((_, i) => i % channels === c);
      const meanAbs = members.reduce((a, w) => a + Math.abs(w), 0) / members.length;
      const kept = members.filter((w) => Math.abs(w) > 0.7 * meanAbs);
      const alpha = kept.reduce((a, w) => a + Math.abs(w), 0) / kept.length;
      expect(Math.abs((q.scales[c] as number) - alpha)).toBeLessThanOrEqual(1e-6 * alpha);
    }
    // Ternary rounds w / α half-even onto {-1, 0, 1}: zero exactly below α/2.
    data.forEach((w, i) => {
      const s = q.scales[i % channels] as number;
      expect(q.q[i]).toBe(Math.abs(w) < s / 2 ? 0 : Math.sign(w));
    });
  });

  it('leaves an all-zero channel exactly zero', () => {
    const q = quantizeSymmetricPerChannel(
      { shape: [2, 2], data: Float32Array.from([0, 1, 0, -0.5]) },
      4,
      2,
      (i) => i % 2,
    );
    expect(Array.from(q.dequantized.filter((_, i) => i % 2 === 0))).toEqual([0, 0]);
  });
});

describe('asymmetric per-tensor activation quantization', () => {
  it('represents zero exactly, whatever the range', () => {
    for (const range of [
      { min: 0.3, max: 5 },
      { min: -2.7, max: 0.9 },
      { min: -5, max: -1 },
    ]) {
      const p = affineParams(range, 8);
      expect(dequantizeValue(quantizeValue(0, p), p)).toBe(0);
    }
  });

  it('errs by at most half a step inside the range and clips outside it', () => {
    const p = affineParams({ min: -1.3, max: 4.1 }, 4);
    for (let x = -1.3; x <= 4.1; x += 0.01)
      expect(Math.abs(dequantizeValue(quantizeValue(x, p), p) - x)).toBeLessThanOrEqual(p.scale / 2 + 1e-9);
    expect(dequantizeValue(quantizeValue(100, p), p)).toBeCloseTo((15 - p.zeroPoint) * p.scale, 9);
  });

  it('fake-quantizes tensors exactly as the scalar quantizer does', () => {
    const p = affineParams({ min: -0.8, max: 2.2 }, 6);
    const values = Array.from({ length: 500 }, (_, i) => -1 + i * 0.0073);
    const fake = fakeQuantize(tf.tensor1d(values), p).dataSync();
    values.forEach((x, i) => {
      expect(fake[i]).toBeCloseTo(dequantizeValue(quantizeValue(x, p), p), 5);
    });
  });

  it('rounds half to even like tf.round', () => {
    const halves = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5];
    expect(halves.map(roundHalfEven)).toEqual(Array.from(tf.round(tf.tensor1d(halves)).dataSync()));
  });
});
