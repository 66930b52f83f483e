import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  NativeBackend,
  nativeBackendInfo,
  nativeKernelNames,
  nativeKernelStats,
  registerNativeBackend,
  resetNativeKernelStats,
  setNativeThreads,
} from '../src/index.js';
import { expectBackendsAgree, Rng, tf } from './helpers.js';

describe('registerNativeBackend', () => {
  it('is idempotent and registers every cpu kernel for native', async () => {
    expect(registerNativeBackend()).toEqual({ ok: true });
    expect(registerNativeBackend()).toEqual({ ok: true });
    const cpu = tf.getKernelsForBackend('cpu').map((k) => k.kernelName);
    const native = new Set(tf.getKernelsForBackend('native').map((k) => k.kernelName));
    expect(cpu.filter((name) => !native.has(name))).toEqual([]);
    expect(nativeKernelNames.every((name) => native.has(name))).toBe(true);
    await tf.setBackend('native');
    expect(tf.backend()).toBeInstanceOf(NativeBackend);
  });

  it('reports the oneDNN build', () => {
    const info = nativeBackendInfo();
    expect(info).toMatchObject({ available: true, cpuRuntime: 'openmp' });
    if (!info.available) return;
    expect(info.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(info.threads).toBeGreaterThanOrEqual(1);
  });
});

describe('setNativeThreads', () => {
  it('fixes the thread count or returns it to following the load, results unchanged', async () => {
    const rng = new Rng(32);
    const x = rng.values(2 * 9 * 9 * 8);
    const filter = rng.values(3 * 3 * 8 * 8);
    const conv = () => tf.conv2d(tf.tensor4d(x, [2, 9, 9, 8]), tf.tensor4d(filter, [3, 3, 8, 8]), 1, 'same');
    try {
      expect(setNativeThreads(1)).toBe(true);
      expect(nativeBackendInfo()).toMatchObject({ threads: 1, threadMode: 'fixed' });
      await expectBackendsAgree('one thread', conv, ['Conv2D']);
    } finally {
      setNativeThreads('auto');
    }
    expect(nativeBackendInfo()).toMatchObject({ threadMode: 'auto' });
    await expectBackendsAgree('auto', conv, ['Conv2D']);
    expect(() => setNativeThreads(0)).toThrow(RangeError);
  });
});

describe('fallback to the cpu kernels', () => {
  const rng = new Rng(31);
  const x = rng.values(2 * 3 * 6 * 6);
  const filter = rng.values(3 * 3 * 3 * 4);
  const slopes = rng.values(6 * 6 * 4);

  it('hands over what the addon does not implement, with the same results', async () => {
    const cases: [string, string, () => tf.Tensor][] = [
      [
        'NCHW conv2d',
        'Conv2D',
        () => tf.conv2d(tf.tensor4d(x, [2, 3, 6, 6]), tf.tensor4d(filter, [3, 3, 3, 4]), 1, 'same', 'NCHW'),
      ],
      [
        'int32 matMul',
        'BatchMatMul',
        () =>
          tf.matMul(
            tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'),
            tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'),
          ),
      ],
      [
        'prelu slopes varying over space',
        'FusedConv2D',
        () =>
          tf.fused.conv2d({
            x: tf.tensor4d(x, [2, 6, 6, 3]),
            filter: tf.tensor4d(filter, [3, 3, 3, 4]),
            strides: 1,
            pad: 'same',
            activation: 'prelu',
            preluActivationWeights: tf.tensor3d(slopes, [6, 6, 4]),
          }),
      ],
    ];
    for (const [label, kernel, compute] of cases) {
      await expectBackendsAgree(label, compute);
      expect(nativeKernelStats()[kernel], label).toEqual({ native: 0, cpu: 1 });
    }
  });
});

describe('the example ResNet-8', () => {
  const dir = new URL('../../../examples/resnet-fmnist-a/', import.meta.url);
  const modelJson = JSON.parse(readFileSync(new URL('model.json', dir), 'utf8'));
  const weights = readFileSync(new URL('group1-shard1of1.bin', dir));
  const rng = new Rng(41);
  const batch = 4;
  const images = rng.values(batch * 28 * 28);
  const upstream = rng.values(batch * 10);

  it('predicts and back-propagates like cpu, all convolutions on oneDNN', async () => {
    const load = () =>
      tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: modelJson.modelTopology,
          weightSpecs: modelJson.weightsManifest[0].weights,
          weightData: new Uint8Array(weights).buffer,
        }),
      );
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const model = await load();
      const out = tf.tidy(() => {
        const x = tf.tensor4d(images, [batch, 28, 28, 1]);
        const dy = tf.tensor2d(upstream, [batch, 10]);
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.mul(model.apply(x) as tf.Tensor, dy)) as tf.Scalar,
        );
        const logits = model.predict(x) as tf.Tensor;
        return [
          logits,
          value,
          ...Object.keys(grads)
            .sort()
            .map((name) => grads[name] as tf.Tensor),
        ];
      });
      const data = out.map((t) => Float32Array.from(t.dataSync()));
      tf.dispose(out);
      model.dispose();
      return data;
    };
    const expected = await run('cpu');
    resetNativeKernelStats();
    const actual = await run('native');
    const stats = nativeKernelStats();
    // tfjs-layers runs its convolutions and dense layers through the fused ops.
    for (const kernel of ['FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', '_FusedMatMul']) {
      expect(stats[kernel]?.cpu, kernel).toBe(0);
      expect(stats[kernel]?.native, kernel).toBeGreaterThan(0);
    }
    expect(actual.length).toBe(expected.length);
    expected.forEach((want, i) => {
      const got = actual[i] as Float32Array;
      const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const worst = want.reduce((m, v, j) => Math.max(m, Math.abs(v - (got[j] as number))), 0);
      expect(worst, `output ${i}`).toBeLessThanOrEqual(1e-4 * Math.max(scale, 1e-6));
    });
  });
});
