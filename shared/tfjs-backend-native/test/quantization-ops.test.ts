// The kernels of fake quantization and of the other small ops of evaluation and synthesis: Round,
// ClipByValue, Maximum, Minimum, Relu6, LeakyRelu, Neg, Sqrt, Rsqrt, Exp, Log, Max, Min and ArgMax.
// Unlike the other tests these demand bitwise equality with cpu (Object.is per element: same NaNs,
// same signed zeros), except Exp and Log, which use libm instead of V8's Math and must agree within
// 1e-6 relative per element.
import { describe, expect, it } from 'vitest';
import { nativeKernelStats, resetNativeKernelStats } from '../src/index.js';
import { Rng, tf } from './helpers.js';

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function randomShape(rng: Rng, minRank = 0, maxRank = 4): number[] {
  return Array.from({ length: rng.int(minRank, maxRank) }, () => rng.int(1, 6));
}

/** Two shapes that broadcast to `shape`: some axes set to 1, some leading axes dropped. */
function broadcastPair(rng: Rng, shape: number[]): [number[], number[]] {
  const operand = () => {
    const s = shape.map((d) => (rng.next() < 0.3 ? 1 : d));
    return s.slice(rng.int(0, Math.min(2, s.length)));
  };
  return [operand(), operand()];
}

/** Values in [-scale, scale) with exact halves, integers, signed zeros and a NaN mixed in. */
function trickyValues(rng: Rng, size: number, scale = 4): Float32Array {
  const special = [0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0, -0, 3, -3, Number.NaN, 1e-30, -1e-30, 6, -6];
  return Float32Array.from({ length: size }, () =>
    rng.next() < 0.2 ? rng.pick(special) : (rng.next() * 2 - 1) * scale,
  );
}

type Outputs = (Float32Array | Int32Array)[];

function run(backend: string, compute: () => tf.Tensor | tf.Tensor[]): Outputs {
  void tf.setBackend(backend); // synchronous for cpu and native
  expect(tf.getBackend()).toBe(backend);
  let outputs: Outputs = [];
  tf.tidy(() => {
    outputs = [compute()].flat().map((t) => {
      const v = t.dataSync();
      return v instanceof Int32Array ? Int32Array.from(v) : Float32Array.from(v as Float32Array);
    });
  });
  return outputs;
}

/**
 * Runs `compute` on cpu and native; every output must be identical (or within `relative` of the cpu
 * value), and `kernel` must have been served natively only.
 */
function expectSame(
  label: string,
  compute: () => tf.Tensor | tf.Tensor[],
  kernel: string,
  relative = 0,
): void {
  const want = run('cpu', compute);
  resetNativeKernelStats();
  const got = run('native', compute);
  const stats = nativeKernelStats()[kernel];
  expect(stats, `${label}: ${kernel} calls`).toMatchObject({ cpu: 0 });
  expect(stats?.native, `${label}: ${kernel} native calls`).toBeGreaterThan(0);
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    const g = got[i] as Float32Array | Int32Array;
    expect(g.constructor, `${label}: output ${i} dtype`).toBe(w.constructor);
    expect(g.length, `${label}: output ${i} size`).toBe(w.length);
    for (let j = 0; j < w.length; j++) {
      const a = w[j] as number;
      const b = g[j] as number;
      if (Object.is(a, b)) continue;
      const close = relative > 0 && Math.abs(a - b) <= relative * Math.abs(a);
      if (!close) expect.fail(`${label}: output ${i}[${j}] native ${b}, cpu ${a}`);
    }
  });
}

describe('Round and ClipByValue', () => {
  it('match cpu exactly, halves, signed zeros and NaN included', async () => {
    await tf.ready();
    const rng = new Rng(71);
    for (let i = 0; i < 12; i++) {
      const shape = randomShape(rng);
      const x = trickyValues(rng, sizeOf(shape), rng.pick([1, 4, 300, 1e8]));
      expectSame(`round ${JSON.stringify(shape)}`, () => tf.round(tf.tensor(x, shape)), 'Round');
      const lo = rng.pick([0, -1, -0.3, -2.5]);
      const hi = rng.pick([255, 1, 0.7, 2.5]);
      expectSame(
        `clip ${lo} ${hi} ${JSON.stringify(shape)}`,
        () => tf.clipByValue(tf.tensor(x, shape), lo, hi),
        'ClipByValue',
      );
    }
    // Round's corner: the cpu's banker's rounding gives +0 for -0.5 (nearbyint gives -0).
    void tf.setBackend('native');
    const special = tf.tensor([
      -0.5,
      -0.4,
      -0,
      0.5,
      1.5,
      2.5,
      -2.5,
      8388607.5,
      -8388609,
      Number.NaN,
      Infinity,
    ]);
    expect(Array.from(tf.round(special).dataSync())).toEqual([
      0,
      -0,
      -0,
      0,
      2,
      2,
      -2,
      8388608,
      -8388609,
      NaN,
      Infinity,
    ]);
  });

  it('run the fake-quantization chain natively, as activation-quantizer.ts writes it', () => {
    const rng = new Rng(72);
    const shape = [3, 7, 5, 4];
    const x = trickyValues(rng, sizeOf(shape), 6);
    const scale = 6 / 255;
    const zeroPoint = 37;
    const fakeQuant = () =>
      tf.tensor(x, shape).div(scale).round().add(zeroPoint).clipByValue(0, 255).sub(zeroPoint).mul(scale);
    for (const kernel of ['RealDiv', 'Round', 'Add', 'ClipByValue', 'Sub', 'Multiply']) {
      expectSame(`fake quant (${kernel})`, fakeQuant, kernel);
    }
  });
});

describe('Maximum and Minimum', () => {
  it('match cpu exactly with broadcasting, NaN and signed zeros', () => {
    const rng = new Rng(73);
    const shapes: [number[], number[]][] = [
      [[2, 5, 5, 3], [3]], // per-channel vector
      [[2, 5, 5, 3], []], // scalar
      [[], [4, 3]],
      [
        [4, 1, 6],
        [1, 5, 1],
      ],
    ];
    for (let i = 0; i < 8; i++) shapes.push(broadcastPair(rng, randomShape(rng)));
    for (const [aShape, bShape] of shapes) {
      const a = trickyValues(rng, sizeOf(aShape));
      const b = trickyValues(rng, sizeOf(bShape));
      const label = `${JSON.stringify(aShape)} ${JSON.stringify(bShape)}`;
      expectSame(`maximum ${label}`, () => tf.maximum(tf.tensor(a, aShape), tf.tensor(b, bShape)), 'Maximum');
      expectSame(`minimum ${label}`, () => tf.minimum(tf.tensor(a, aShape), tf.tensor(b, bShape)), 'Minimum');
    }
    void tf.setBackend('native');
    const pos = tf.tensor([0, -0, Number.NaN, 1]);
    const neg = tf.tensor([-0, 0, 1, Number.NaN]);
    expect(Array.from(tf.maximum(pos, neg).dataSync())).toEqual([0, 0, NaN, NaN]);
    expect(Object.is(tf.minimum(pos, neg).dataSync()[0], -0)).toBe(true);
  });
});

describe('elementwise activations and arithmetic', () => {
  it('Relu6, LeakyRelu, Neg, Sqrt and Rsqrt match cpu exactly; Exp and Log within 1e-6', () => {
    const rng = new Rng(74);
    for (let i = 0; i < 6; i++) {
      const shape = randomShape(rng, 1);
      const x = trickyValues(rng, sizeOf(shape), 8);
      const positive = x.map((v) => Math.abs(v) + 1e-3);
      const label = JSON.stringify(shape);
      const t = (values: Float32Array) => () => tf.tensor(values, shape);
      const alpha = rng.pick([0.2, 0.01, 0.3333333]);
      expectSame(`relu6 ${label}`, () => tf.relu6(t(x)()), 'Relu6');
      expectSame(`leakyRelu ${alpha} ${label}`, () => tf.leakyRelu(t(x)(), alpha), 'LeakyRelu');
      expectSame(`neg ${label}`, () => tf.neg(t(x)()), 'Neg');
      expectSame(`sqrt ${label}`, () => tf.sqrt(t(x)()), 'Sqrt'); // negative values give NaN on both
      expectSame(`rsqrt ${label}`, () => tf.rsqrt(t(positive)()), 'Rsqrt');
      expectSame(`exp ${label}`, () => tf.exp(t(x)()), 'Exp', 1e-6);
      expectSame(`log ${label}`, () => tf.log(t(positive)()), 'Log', 1e-6);
    }
  });
});

describe('Max, Min and ArgMax', () => {
  it('match cpu exactly over random axes, NaN and ties included', () => {
    const rng = new Rng(75);
    for (let i = 0; i < 16; i++) {
      const shape = randomShape(rng, 1);
      // Few distinct values, so ties (and ties between 0 and -0) are common.
      const x = Float32Array.from({ length: sizeOf(shape) }, () =>
        rng.next() < 0.05 ? Number.NaN : rng.pick([-1, -0, 0, 0.5, 2, rng.next()]),
      );
      // Adjacent reduced axes (one block), as the addon serves them.
      const start = rng.int(0, shape.length - 1);
      const axes = Array.from({ length: rng.int(1, shape.length - start) }, (_, k) => start + k);
      const keepDims = rng.next() < 0.5;
      const label = `${JSON.stringify(shape)} axes ${JSON.stringify(axes)}`;
      expectSame(`max ${label}`, () => tf.max(tf.tensor(x, shape), axes, keepDims), 'Max');
      expectSame(`min ${label}`, () => tf.min(tf.tensor(x, shape), axes, keepDims), 'Min');
      const axis = rng.int(-shape.length, shape.length - 1);
      expectSame(
        `argMax ${JSON.stringify(shape)} axis ${axis}`,
        () => tf.argMax(tf.tensor(x, shape), axis),
        'ArgMax',
      );
    }
    // The evaluation's prediction: logits [batch, classes].
    const logits = new Rng(76).values(250 * 10);
    expectSame('argMax logits', () => tf.argMax(tf.tensor(logits, [250, 10]), -1), 'ArgMax');
  });

  it('hand non-adjacent reduction axes to the cpu kernel', () => {
    const x = new Rng(77).values(2 * 3 * 4);
    resetNativeKernelStats();
    const want = run('cpu', () => tf.max(tf.tensor(x, [2, 3, 4]), [0, 2]));
    const got = run('native', () => tf.max(tf.tensor(x, [2, 3, 4]), [0, 2]));
    expect(Array.from(got[0] as Float32Array)).toEqual(Array.from(want[0] as Float32Array));
    expect(nativeKernelStats().Max).toMatchObject({ native: 0, cpu: 1 });
  });
});
