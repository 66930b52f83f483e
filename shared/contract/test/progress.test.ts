import { describe, expect, it } from 'vitest';
import { asJobProgress, initialProgress, nextProgress, progressDetail, stageFraction } from '../src/index.js';

describe('job progress', () => {
  const start = initialProgress('quantize', 't0');

  it('keeps each loop’s counters in their own field, so no field changes type mid-run', () => {
    let p = nextProgress(start, { kind: 'phase', phase: 'quantization', message: 'pmf W4A4' }, 't1');
    p = nextProgress(
      p,
      {
        kind: 'distillation',
        progress: { step: 30, steps: 300, beta: 1.8, loss: 0.25, seconds: 9, etaSeconds: 81, block: null },
      },
      't2',
    );
    expect(p).toMatchObject({ stage: 'quantize', phase: 'quantization', at: 't2' });
    expect(p.distillation?.step).toBe(30);
    expect(progressDetail(p)).toBe('step 30/300 beta 1.8 loss 0.25000 ETA 81s');
    expect(stageFraction(p)).toBeCloseTo(0.05);
    // Block reconstruction says which block the step belongs to.
    const blockStep = nextProgress(
      p,
      {
        kind: 'distillation',
        progress: {
          ...(p.distillation as NonNullable<typeof p.distillation>),
          block: { index: 2, count: 9, output: 'add_1' },
        },
      },
      't2',
    );
    expect(progressDetail(blockStep)).toBe('block 2/9 (add_1) step 30/300 beta 1.8 loss 0.25000 ETA 81s');
    p = nextProgress(p, { kind: 'phase', phase: 'evaluation', message: 'top-1' }, 't3');
    p = nextProgress(p, { kind: 'evaluation', progress: { model: 'integer', done: 500, total: 1000 } }, 't4');
    expect(progressDetail(p)).toBe('integer: 500/1000 images');
    // The third model of four, half done: evaluation's share of the stage is 2.5 of 4 done.
    expect(stageFraction(p)).toBeCloseTo(0.5 + 0.5 * (2.5 / 4));
    const fractions = (['fp32', 'quantized', 'integer', 'onnx-runtime'] as const).flatMap((model) =>
      [0, 500, 1000].map((done) =>
        stageFraction(nextProgress(p, { kind: 'evaluation', progress: { model, done, total: 1000 } }, 't5')),
      ),
    );
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(fractions.at(-1)).toBeCloseTo(1);
  });

  it('reads only well-formed progress back', () => {
    expect(asJobProgress(0)).toBeNull();
    expect(asJobProgress({ stage: 'x' })).toBeNull();
    expect(asJobProgress(start)).toEqual(start);
  });
});
