import { describe, expect, it } from 'vitest';
import { reductionBlocks } from '../src/kernels/reduce_ops.js';
import { expectBackendsAgree, Rng, tf } from './helpers.js';

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function randomShape(rng: Rng, maxRank = 4): number[] {
  return Array.from({ length: rng.int(0, maxRank) }, () => rng.int(1, 6));
}

/** Two shapes that broadcast to `shape`: some axes set to 1, some leading axes dropped. */
function broadcastPair(rng: Rng, shape: number[]): [number[], number[]] {
  const operand = () => {
    const s = shape.map((d) => (rng.next() < 0.3 ? 1 : d));
    return s.slice(rng.int(0, Math.min(2, s.length)));
  };
  return [operand(), operand()];
}

describe('binary arithmetic', () => {
  const ops = [
    ['Add', tf.add],
    ['Sub', tf.sub],
    ['Multiply', tf.mul],
    ['RealDiv', tf.div],
    ['SquaredDifference', tf.squaredDifference],
  ] as const;

  it('matches cpu with broadcasting', async () => {
    const rng = new Rng(51);
    for (const [kernel, op] of ops) {
      const shapes: [number[], number[]][] = [
        [[2, 5, 5, 3], [3]], // NHWC tensor with a per-channel vector
        [[3], [2, 5, 5, 3]],
        [
          [4, 1, 6],
          [1, 5, 1],
        ],
        [[], [3, 2]],
      ];
      for (let i = 0; i < 8; i++) shapes.push(broadcastPair(rng, randomShape(rng)));
      for (const [aShape, bShape] of shapes) {
        const a = rng.values(sizeOf(aShape));
        const b = rng.values(sizeOf(bShape)).map((v) => (kernel === 'RealDiv' ? v + Math.sign(v) * 0.5 : v));
        await expectBackendsAgree(
          `${kernel} ${JSON.stringify(aShape)} ${JSON.stringify(bShape)}`,
          () => op(tf.tensor(a, aShape), tf.tensor(b, bShape)),
          [kernel],
        );
      }
    }
  });
});

describe('Relu, Step and Square', () => {
  it('match cpu, NaN included', async () => {
    const rng = new Rng(52);
    const values = rng.values(1000);
    await expectBackendsAgree('relu', () => tf.relu(tf.tensor(values, [10, 10, 10])), ['Relu']);
    await expectBackendsAgree('step', () => tf.step(tf.tensor(values), 0.25), ['Step']);
    await expectBackendsAgree('square', () => tf.square(tf.tensor(values)), ['Square']);
    await tf.setBackend('native');
    const special = tf.tensor([Number.NaN, -0, 0, -1, 2]);
    expect(Array.from(tf.relu(special).dataSync())).toEqual([Number.NaN, 0, 0, 0, 2]);
    expect(Array.from(tf.step(special, 0.5).dataSync())).toEqual([Number.NaN, 0.5, 0.5, 0.5, 1]);
  });
});

describe('FusedBatchNorm', () => {
  it('matches cpu for per-channel, cyclic and missing parameters', async () => {
    const rng = new Rng(55);
    const shape = [3, 5, 4, 6];
    const x = rng.values(sizeOf(shape));
    const params = (n: number) => ({
      mean: rng.values(n),
      variance: rng.values(n).map((v) => v * v + 0.1),
      offset: rng.values(n),
      scale: rng.values(n),
    });
    const perChannel = params(6);
    const perRow = params(24); // one value per (w, c): cycles over x with period 24
    const tensor = (v: Float32Array, n: number) => (n === 6 ? tf.tensor1d(v) : tf.tensor2d(v, [4, 6]));
    const cases = [
      ['per channel', perChannel, 6, true],
      ['per row', perRow, 24, true],
      ['no scale or offset', perChannel, 6, false],
    ] as const;
    for (const [label, p, n, withAffine] of cases) {
      await expectBackendsAgree(
        label,
        () =>
          tf.batchNorm(
            tf.tensor(x, shape),
            tensor(p.mean, n),
            tensor(p.variance, n),
            withAffine ? tensor(p.offset, n) : undefined,
            withAffine ? tensor(p.scale, n) : undefined,
            1e-5,
          ),
        ['FusedBatchNorm'],
      );
    }
  });
});

describe('Sum and Mean', () => {
  it('match cpu over random axes, with and without keepDims', async () => {
    const rng = new Rng(53);
    const cases: [number[], number[]][] = [
      [
        [8, 7, 7, 16],
        [0, 1, 2],
      ], // per-channel statistics of an NHWC tensor
      [
        [8, 7, 7, 16],
        [1, 2],
      ], // global average pooling
      [[8, 10], [1]],
      [
        [5, 4, 3],
        [0, 2],
      ], // two blocks: handed to the cpu kernel
    ];
    for (let i = 0; i < 12; i++) {
      const shape = randomShape(rng).concat(rng.int(1, 9));
      const axes = shape.map((_, axis) => axis).filter(() => rng.next() < 0.5);
      cases.push([shape, axes]);
    }
    for (const [shape, axes] of cases) {
      const x = rng.values(sizeOf(shape));
      const keepDims = rng.next() < 0.5;
      const native = reductionBlocks(shape, axes) !== null;
      const label = `${JSON.stringify(shape)} axes ${JSON.stringify(axes)} keepDims ${keepDims}`;
      await expectBackendsAgree(
        `sum ${label}`,
        () => tf.sum(tf.tensor(x, shape), axes, keepDims),
        native ? ['Sum'] : [],
      );
      await expectBackendsAgree(
        `mean ${label}`,
        () => tf.mean(tf.tensor(x, shape), axes, keepDims),
        native ? ['Mean'] : [],
      );
    }
  });
});

describe('Slice, PadV2 and Tile', () => {
  it('match cpu on random shapes', async () => {
    const rng = new Rng(54);
    for (let i = 0; i < 15; i++) {
      const shape = randomShape(rng, 4).concat(rng.int(2, 6));
      const x = rng.values(sizeOf(shape));
      const begin = shape.map((d) => rng.int(0, d - 1));
      const size = shape.map((d, j) => rng.int(1, d - (begin[j] as number)));
      await expectBackendsAgree(`slice ${shape} begin ${begin} size ${size}`, () =>
        tf.slice(tf.tensor(x, shape), begin, size),
      );
      const paddings = shape.map(() => [rng.int(0, 2), rng.int(0, 2)] as [number, number]);
      const constant = rng.pick([0, 0, -1.5]);
      await expectBackendsAgree(
        `pad ${shape} ${JSON.stringify(paddings)} ${constant}`,
        () => tf.pad(tf.tensor(x, shape), paddings, constant),
        ['PadV2'],
      );
      const reps = shape.map(() => rng.int(1, 3));
      await expectBackendsAgree(`tile ${shape} reps ${reps}`, () => tf.tile(tf.tensor(x, shape), reps), [
        'Tile',
      ]);
    }
    // The slice a padded 3x3 convolution's gradient takes: strided, so served natively.
    const x = rng.values(4 * 30 * 30 * 16);
    await expectBackendsAgree(
      'slice of a padded NHWC tensor',
      () => tf.slice(tf.tensor(x, [4, 30, 30, 16]), [0, 1, 1, 0], [4, 28, 28, 16]),
      ['Slice'],
    );
  });
});
