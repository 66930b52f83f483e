import { describe, it } from 'vitest';
import { expectBackendsAgree, Rng, tf } from './helpers.js';

interface MatMulCase {
  aShape: number[];
  bShape: number[];
  transposeA: boolean;
  transposeB: boolean;
  outShape: number[];
}

/** Random operands of rank 2 to 4, with equal batches or (if `broadcast`) a batch of one on either side. */
function randomCase(rng: Rng, broadcast = true): MatMulCase {
  const m = rng.int(1, 17);
  const n = rng.int(1, 19);
  const k = rng.int(1, 23);
  const transposeA = rng.next() < 0.5;
  const transposeB = rng.next() < 0.5;
  const rank = rng.pick([2, 2, 3, 4]);
  const batch = Array.from({ length: rank - 2 }, () => rng.int(2, 3));
  const ones = batch.map(() => 1);
  const layout = broadcast ? rng.pick(['same', 'broadcastA', 'broadcastB']) : 'same';
  const aBatch = layout === 'broadcastA' ? ones : batch;
  const bBatch = layout === 'broadcastB' ? ones : batch;
  return {
    aShape: [...aBatch, ...(transposeA ? [k, m] : [m, k])],
    bShape: [...bBatch, ...(transposeB ? [n, k] : [k, n])],
    transposeA,
    transposeB,
    outShape: [...batch, m, n],
  };
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const label = (c: MatMulCase) =>
  `a ${c.aShape}${c.transposeA ? 'ᵀ' : ''} b ${c.bShape}${c.transposeB ? 'ᵀ' : ''}`;

describe('BatchMatMul', () => {
  it('matches cpu for transposes, ranks and batch broadcasting', async () => {
    const rng = new Rng(21);
    for (let i = 0; i < 30; i++) {
      const c = randomCase(rng);
      const a = rng.values(sizeOf(c.aShape));
      const b = rng.values(sizeOf(c.bShape));
      await expectBackendsAgree(
        label(c),
        () => tf.matMul(tf.tensor(a, c.aShape), tf.tensor(b, c.bShape), c.transposeA, c.transposeB),
        ['BatchMatMul'],
      );
    }
  });

  it('gradients match cpu', async () => {
    const rng = new Rng(22);
    for (let i = 0; i < 15; i++) {
      // TF.js has no gradient for broadcast batches.
      const c = randomCase(rng, false);
      const a = rng.values(sizeOf(c.aShape));
      const b = rng.values(sizeOf(c.bShape));
      const dy = rng.values(sizeOf(c.outShape));
      await expectBackendsAgree(`grad ${label(c)}`, () => {
        const loss = (x: tf.Tensor, y: tf.Tensor) =>
          tf.sum(tf.mul(tf.matMul(x, y, c.transposeA, c.transposeB), tf.tensor(dy, c.outShape)));
        return tf.grads(loss)([tf.tensor(a, c.aShape), tf.tensor(b, c.bShape)]);
      }, ['BatchMatMul']);
    }
  });
});

describe('_FusedMatMul', () => {
  it('matches cpu with bias and every activation', async () => {
    const rng = new Rng(23);
    for (const activation of ['linear', 'relu', 'relu6', 'leakyrelu', 'prelu', 'sigmoid', 'elu'] as const) {
      for (const withBias of [false, true]) {
        const c = randomCase(rng);
        const n = c.outShape[c.outShape.length - 1] as number;
        const a = rng.values(sizeOf(c.aShape));
        const b = rng.values(sizeOf(c.bShape));
        const bias = rng.values(n);
        const slopes = rng.values(n);
        await expectBackendsAgree(
          `${activation} bias=${withBias} ${label(c)}`,
          () =>
            tf.fused.matMul({
              a: tf.tensor(a, c.aShape),
              b: tf.tensor(b, c.bShape),
              transposeA: c.transposeA,
              transposeB: c.transposeB,
              ...(withBias ? { bias: tf.tensor1d(bias) } : {}),
              activation,
              ...(activation === 'prelu' ? { preluActivationWeights: tf.tensor1d(slopes) } : {}),
              ...(activation === 'leakyrelu' ? { leakyreluAlpha: 0.3 } : {}),
            }),
          ['_FusedMatMul'],
        );
      }
    }
  });
});
