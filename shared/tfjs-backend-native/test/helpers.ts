// Shared by the tests: a seeded RNG, and a runner that evaluates the same computation on 'cpu' and
// 'native' and checks the results agree.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { nativeKernelStats, registerNativeBackend, resetNativeKernelStats } from '../src/index.js';

const registration = registerNativeBackend();
if (!registration.ok) throw new Error(`native backend unavailable: ${registration.reason}`);

/** Mulberry32: small, fast and good enough to draw test shapes and values reproducibly. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(options: readonly T[]): T {
    const choice = options[Math.floor(this.next() * options.length)];
    if (choice === undefined) throw new Error('pick from an empty list');
    return choice;
  }

  /** `size` values uniform in [-1, 1). */
  values(size: number): Float32Array {
    return Float32Array.from({ length: size }, () => this.next() * 2 - 1);
  }
}

export const TOLERANCE = 1e-4;

/**
 * Runs `compute` on 'cpu' and on 'native' and expects every output to agree within TOLERANCE times the
 * largest cpu magnitude. `compute` must create its tensors itself (from prepared values), so that each
 * backend owns its inputs. Kernels listed in `nativeKernels` must have been served by oneDNN only.
 */
export async function expectBackendsAgree(
  label: string,
  compute: () => tf.Tensor | tf.Tensor[],
  nativeKernels: readonly string[] = [],
): Promise<void> {
  const expected = await evaluate('cpu', compute);
  resetNativeKernelStats();
  const actual = await evaluate('native', compute);
  const stats = nativeKernelStats();
  for (const kernel of nativeKernels) {
    expect(stats[kernel], `${label}: ${kernel} calls`).toMatchObject({ cpu: 0 });
    expect(stats[kernel]?.native, `${label}: ${kernel} native calls`).toBeGreaterThan(0);
  }
  expect(actual.length).toBe(expected.length);
  expected.forEach((want, i) => {
    const got = actual[i] as Float32Array;
    expect(got.length, `${label}: output ${i} size`).toBe(want.length);
    let scale = 0;
    let worst = 0;
    for (let j = 0; j < want.length; j++) {
      scale = Math.max(scale, Math.abs(want[j] as number));
      worst = Math.max(worst, Math.abs((want[j] as number) - (got[j] as number)));
    }
    expect(worst, `${label}: output ${i} max abs diff (max |cpu| ${scale})`).toBeLessThanOrEqual(
      TOLERANCE * Math.max(scale, 1e-6),
    );
  });
}

async function evaluate(backend: string, compute: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  let outputs: Float32Array[] = [];
  tf.tidy(() => {
    outputs = [compute()].flat().map((t) => Float32Array.from(t.dataSync()));
  });
  return outputs;
}

export { tf };
