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

  it('Softmax matches cpu, and so does its gradient', async () => {
    const values = rng.values(300 * 16).map((v) => v * 20);
    const upstream = rng.values(300 * 16);
    await expectBackendsAgree('softmax', () => tf.softmax(tf.tensor2d(values, [300, 16])), ['Softmax']);
    await expectBackendsAgree('softmax grad', () =>
      tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.softmax(x), tf.tensor(upstream, [300, 16]))))(
        tf.tensor2d(values, [300, 16]),
      ),
    );
  });

  it('fake quantization and its straight-through gradient are bitwise the composite chain on cpu', async () => {
    const size = 40_000;
    const p = { scale: 0.0371, zeroPoint: 7, bits: 4 };
    const lo = -p.zeroPoint * p.scale;
    const hi = (2 ** p.bits - 1 - p.zeroPoint) * p.scale;
    const values = rng.values(size).map((v) => v * 0.6);
    // The bounds themselves, halfway points and a NaN: where masks and rounding could disagree.
    values.set([lo, hi, Math.fround(lo), Math.fround(hi), 0.5 * p.scale, -1.5 * p.scale, Number.NaN]);
    const upstream = rng.values(size);
    const composite = (x: tf.Tensor) =>
      x
        .div(p.scale)
        .round()
        .add(p.zeroPoint)
        .clipByValue(0, 2 ** p.bits - 1)
        .sub(p.zeroPoint)
        .mul(p.scale);
    const ste = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
      save([x]);
      return {
        value: composite(x),
        gradFunc: (dy: tf.Tensor, [v]: tf.Tensor[]) =>
          tf.mul(
            dy,
            tf
              .logicalAnd(tf.greaterEqual(v as tf.Tensor, lo), tf.lessEqual(v as tf.Tensor, hi))
              .cast('float32'),
          ),
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    const bits = async (backend: string) => {
      await tf.setBackend(backend);
      const fused = fusedOps.available();
      const forward = (x: tf.Tensor) => (fused ? fusedOps.fakeQuantize(x, p, true) : ste(x));
      const [y, g] = tf.tidy(() => {
        const x = tf.tensor(values);
        return [
          fused ? fusedOps.fakeQuantize(x, p, false) : composite(x),
          tf.grad((v: tf.Tensor) => tf.sum(tf.mul(forward(v), tf.tensor(upstream))))(x),
        ];
      });
      const out = [y, g].map((t) => new Uint32Array(Float32Array.from((t as tf.Tensor).dataSync()).buffer));
      tf.dispose([y as tf.Tensor, g as tf.Tensor]);
      return out;
    };
    const [native, cpu] = [await bits('native'), await bits('cpu')];
    for (const k of [0, 1]) {
      const differing = (native[k] as Uint32Array).findIndex((b, i) => b !== (cpu[k] as Uint32Array)[i]);
      expect(differing, `${k === 0 ? 'values' : 'gradient'}: first differing element`).toBe(-1);
    }
  });

  it('mean-field expected levels and their gradient match softmax(beta * scores) . levels on cpu', async () => {
    const rows = 5000;
    const levels = [-7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7];
    const scores = rng.values(rows * levels.length).map((v) => v * 3);
    const upstream = rng.values(rows);
    for (const beta of [1, 37.5]) {
      await expectBackendsAgree(`expected levels beta ${beta}`, () => {
        const l = tf.tensor1d(levels);
        const f = (s: tf.Tensor) =>
          fusedOps.available()
            ? fusedOps.expectedLevels(s as tf.Tensor2D, l, beta)
            : tf.sum(tf.mul(tf.softmax(tf.mul(s, beta)), l), 1);
        const s = tf.tensor2d(scores, [rows, levels.length]);
        return [f(s), tf.grad((v: tf.Tensor) => tf.sum(tf.mul(f(v), tf.tensor(upstream))))(s)];
      });
    }
  });

  it('the relative feature error and its gradient match the composite on cpu', async () => {
    const a = rng.values(64 * 14 * 14 * 8);
    const t = rng.values(64 * 14 * 14 * 8).map((v) => v * 0.7);
    await expectBackendsAgree('relative squared error', () => {
      const teacher = tf.tensor(t);
      const f = (s: tf.Tensor) =>
        fusedOps.available()
          ? fusedOps.relativeSquaredError(s, teacher, 1e-8)
          : tf.div(tf.mean(tf.squaredDifference(s, teacher)), tf.add(tf.mean(tf.square(teacher)), 1e-8));
      const s = tf.tensor(a);
      return [f(s), tf.grad((v: tf.Tensor) => tf.mul(f(v), 3) as tf.Scalar)(s)];
    });
  });

  it("an Adam step matches tf.train.adam's formula", async () => {
    const size = 50_000;
    const [value, m, v, grad] = [0, 1, 2, 3].map((k) => rng.values(size).map((x) => (k === 2 ? x * x : x)));
    const settings = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, step: 3 };
    await expectBackendsAgree('adam step', () => {
      const [p, m0, v0, g] = [value, m, v, grad].map((a) => tf.tensor(a as Float32Array));
      if (fusedOps.available()) {
        const r = fusedOps.adamStep(
          p as tf.Tensor,
          m0 as tf.Tensor,
          v0 as tf.Tensor,
          g as tf.Tensor,
          settings,
        );
        return [r.value, r.m, r.v];
      }
      const { beta1: b1, beta2: b2, epsilon, learningRate: lr, step } = settings;
      const m1 = (m0 as tf.Tensor).mul(b1).add((g as tf.Tensor).mul(1 - b1));
      const v1 = (v0 as tf.Tensor).mul(b2).add((g as tf.Tensor).square().mul(1 - b2));
      const update = m1
        .div(1 - b1 ** step)
        .div(
          v1
            .div(1 - b2 ** step)
            .sqrt()
            .add(epsilon),
        )
        .mul(-lr);
      return [(p as tf.Tensor).add(update), m1, v1];
    });
  });

  it('GatherV2 picks slices exactly as cpu, along any axis', async () => {
    const values = rng.values(6 * 5 * 4 * 3);
    for (const axis of [0, 1, 3]) {
      const size = [6, 5, 4, 3][axis] as number;
      const picks = [size - 1, 0, 1, 0];
      await expectBackendsAgree(
        `gather axis ${axis}`,
        () => tf.gather(tf.tensor4d(values, [6, 5, 4, 3]), tf.tensor1d(picks, 'int32'), axis),
        ['GatherV2'],
      );
    }
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
