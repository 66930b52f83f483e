// Kernel outputs are freed when their last tensor is disposed; nothing a caller can still reach is freed.
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POOL_LIMIT, setOutputPoolLimit } from '../src/output-memory.js';
import { Rng, tf } from './helpers.js';

/** The array the backend stores for `t`: what a kernel would read. */
function storedValues(t: tf.Tensor): Float32Array {
  return (tf.backend() as MathBackendCPU).data.get(t.dataId).values as Float32Array;
}

function convOutput(seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tidy(() =>
    tf.conv2d(
      tf.tensor4d(rng.values(2 * 8 * 8 * 4), [2, 8, 8, 4]),
      tf.tensor4d(rng.values(3 * 3 * 4 * 6), [3, 3, 4, 6]),
      1,
      'same',
    ),
  );
}

describe('native output memory', () => {
  beforeAll(async () => {
    await tf.setBackend('native');
    // Freed at once, not kept for reuse, so that freeing shows (the pool has its own test below).
    setOutputPoolLimit(0);
  });
  afterAll(() => setOutputPoolLimit(DEFAULT_POOL_LIMIT));

  it('keeps a freed output for the next output of its size, up to the pool limit, then frees the oldest', () => {
    setOutputPoolLimit(4 * 1024);
    const first = tf.tidy(() => tf.add(tf.ones([512]), 1)); // 2 KiB
    const second = tf.tidy(() => tf.add(tf.ones([512]), 2));
    const third = tf.tidy(() => tf.add(tf.ones([512]), 3));
    const buffers = [first, second, third].map((t) => storedValues(t).buffer);
    tf.dispose([first, second, third]); // the pool holds two of them: the oldest is freed
    expect(buffers.map((b) => b.byteLength)).toEqual([0, 2048, 2048]);
    const reused = tf.tidy(() => tf.add(tf.ones([512]), 4));
    expect(buffers).toContain(storedValues(reused).buffer);
    expect(Array.from(new Set(reused.dataSync()))).toEqual([5]);
    reused.dispose();
    setOutputPoolLimit(0);
    expect(buffers.map((b) => b.byteLength)).toEqual([0, 0, 0]);
  });

  it('frees a kernel output when its tensor is disposed', () => {
    const y = convOutput(1);
    const stored = storedValues(y);
    expect(stored.buffer.byteLength).toBeGreaterThan(0);
    y.dispose();
    expect(stored.buffer.byteLength).toBe(0);
  });

  it('hands out copies on reads, which outlive the tensor', async () => {
    const y = convOutput(2);
    const expected = Array.from(storedValues(y));
    const sync = y.dataSync();
    const async = await y.data();
    expect(sync).not.toBe(storedValues(y));
    y.dispose();
    expect(Array.from(sync)).toEqual(expected);
    expect(Array.from(async as Float32Array)).toEqual(expected);
  });

  it('keeps memory shared by views alive until the last of them is disposed', () => {
    const y = convOutput(3);
    const stored = storedValues(y);
    const expected = Array.from(stored);
    // The cpu backend's unstack slices without copying: its parts share y's memory.
    const parts = tf.unstack(y);
    y.dispose();
    expect(stored.buffer.byteLength).toBeGreaterThan(0);
    expect(Array.from(parts[1]?.dataSync() ?? [])).toEqual(expected.slice(expected.length / 2));
    const reshaped = tf.reshape(parts[0] as tf.Tensor, [-1]);
    (parts[0] as tf.Tensor).dispose();
    (parts[1] as tf.Tensor).dispose();
    expect(Array.from(reshaped.dataSync())).toEqual(expected.slice(0, expected.length / 2));
    reshaped.dispose();
    expect(stored.buffer.byteLength).toBe(0);
  });

  it('never frees an array the caller handed in', () => {
    const mine = new Float32Array(4096).fill(1.5);
    tf.tensor1d(mine).dispose();
    expect(mine.buffer.byteLength).toBe(4096 * 4);
    expect(mine[4095]).toBe(1.5);
  });

  it('frees as it goes: a loop of large outputs does not wait for the garbage collector', () => {
    const rng = new Rng(4);
    const x = tf.tensor4d(rng.values(8 * 64 * 64 * 8), [8, 64, 64, 8]);
    const filter = tf.tensor4d(rng.values(8 * 64), [1, 1, 8, 64]); // 8 MiB outputs
    const before = process.memoryUsage().arrayBuffers;
    let grown = 0;
    for (let i = 0; i < 40; i += 1) {
      tf.conv2d(x, filter, 1, 'same').dispose();
      grown = Math.max(grown, process.memoryUsage().arrayBuffers - before);
    }
    tf.dispose([x, filter]);
    expect(grown).toBeLessThan(24 * 2 ** 20);
  });
});
