import { describe, expect, it } from 'vitest';
import { fusedOps } from '../src/index.js';
import { DEFAULT_POOL_LIMIT, setOutputPoolLimit } from '../src/output-memory.js';
import { expectBackendsAgree, Rng, tf } from './helpers.js';

// The fused kernels exist on 'native' only: the same computation runs there through them, and on 'cpu'
// through the composite TF.js ops they replace, and the two must agree (values and gradients).
function moments(x: tf.Tensor) {
  if (fusedOps.available()) return fusedOps.channelMoments(x);
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return { mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

function affineMoments(x: tf.Tensor, scale: tf.Tensor1D, shift: tf.Tensor1D) {
  if (fusedOps.available()) return fusedOps.channelAffineMoments(x, scale, shift);
  return { y: x.mul(scale).add(shift), ...moments(x) };
}

describe('fused per-channel ops', () => {
  const rng = new Rng(11);
  // Small (serial) and large enough to split across threads.
  const shapes = [
    [2, 3, 5, 7],
    [16, 28, 28, 16],
  ] as const;

  it('channelMoments: mean and variance, and their gradient, match tf.moments on cpu', async () => {
    for (const shape of shapes) {
      const size = shape.reduce((a, b) => a * b, 1);
      // An offset channel mean checks that the variance does not cancel.
      const values = rng.values(size).map((v, i) => v + (i % shape[3] === 0 ? 100 : 0));
      const wMean = rng.values(shape[3]);
      const wVar = rng.values(shape[3]);
      const loss = (x: tf.Tensor) => {
        const m = moments(x);
        return tf.add(tf.sum(tf.mul(m.mean, wMean)), tf.sum(tf.mul(m.variance, wVar))) as tf.Scalar;
      };
      await expectBackendsAgree(`moments ${shape}`, () => {
        const x = tf.tensor4d(values, [...shape]);
        const m = moments(x);
        return [m.mean, m.variance, tf.grad(loss)(x)];
      });
    }
  });

  it('channelAffineMoments: the affine output, the moments and the gradient through both match cpu', async () => {
    for (const shape of shapes) {
      const size = shape.reduce((a, b) => a * b, 1);
      const values = rng.values(size);
      const upstream = rng.values(size);
      const scaleValues = rng.values(shape[3]);
      const shiftValues = rng.values(shape[3]);
      const wVar = rng.values(shape[3]);
      await expectBackendsAgree(`affine moments ${shape}`, () => {
        const x = tf.tensor4d(values, [...shape]);
        const scale = tf.tensor1d(scaleValues);
        const shift = tf.tensor1d(shiftValues);
        const loss = (v: tf.Tensor) => {
          const r = affineMoments(v, scale, shift);
          return tf.add(
            tf.sum(tf.mul(r.y, tf.tensor(upstream, r.y.shape))),
            tf.sum(tf.mul(r.variance, wVar)),
          );
        };
        const r = affineMoments(x, scale, shift);
        return [r.y, r.mean, r.variance, tf.grad(loss as (v: tf.Tensor) => tf.Scalar)(x)];
      });
    }
  });

  it('Relu and Relu6 gradients are exact, NaN, -0 and the bounds included', async () => {
    const size = 64 * 1024;
    const values = rng.values(size).map((v) => v * 8);
    values.set([Number.NaN, -0, 0, 6, -6, 6.000001, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    const upstream = rng.values(size);
    upstream.set([-1, -2, Number.POSITIVE_INFINITY, 1, -3, 2, 1, 1]);
    for (const op of [tf.relu, tf.relu6]) {
      // Bitwise, not within a tolerance: the signs of zeros and the NaNs must match too.
      const bits = async (backend: string) => {
        await tf.setBackend(backend);
        const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(op(x), tf.tensor(upstream))))(tf.tensor(values));
        const out = new Uint32Array(Float32Array.from(await g.data()).buffer);
        g.dispose();
        return out;
      };
      const [native, cpu] = [await bits('native'), await bits('cpu')];
      const differing = native.findIndex((b, i) => b !== cpu[i]);
      expect(differing, `${op.name}: first differing element`).toBe(-1);
    }
  });

  it('elementwise kernels split across threads give the serial results: broadcast add, step', async () => {
    const values = rng.values(64 * 28 * 28 * 16);
    const channel = rng.values(16);
    await expectBackendsAgree(
      'broadcast add',
      () => tf.add(tf.tensor4d(values, [64, 28, 28, 16]), tf.tensor1d(channel)),
      ['Add'],
    );
    await expectBackendsAgree('step', () => tf.step(tf.tensor(values), 0.5), ['Step']);
  });

  it('MaxPool forward and gradient are exact where threads split the batch', async () => {
    const values = rng.values(4 * 40 * 40 * 16);
    const upstream = rng.values(4 * 20 * 20 * 16);
    await expectBackendsAgree(
      'maxPool grad 4x40x40x16',
      () =>
        tf.grad((x: tf.Tensor4D) =>
          tf.sum(tf.mul(tf.maxPool(x, 3, 2, 'same'), tf.tensor(upstream, [4, 20, 20, 16]))),
        )(tf.relu(tf.tensor4d(values, [4, 40, 40, 16]))),
      ['MaxPoolGrad'],
    );
  });

  it('reused output memory never leaks old values into a new result, with and without a pool', async () => {
    await tf.setBackend('native');
    for (const limit of [0, 64 * 1024 * 1024]) {
      setOutputPoolLimit(limit);
      const a = tf.fill([256, 256], 3);
      const b = tf.add(a, a); // freed below: its memory may be handed to the next output of its size
      b.dispose();
      const c = tf.sub(a, a);
      expect(Array.from(new Set(await c.data()))).toEqual([0]);
      tf.dispose([a, c]);
    }
    setOutputPoolLimit(DEFAULT_POOL_LIMIT);
  });
});
