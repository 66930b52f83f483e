import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const DFQ = join(ROOT, 'services/cli/bin/dfq.js');
const MODEL = join(ROOT, 'examples/resnet-fmnist-a/model.json');
const DATA = process.env.DFQ_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const SMALL = ['--images', '32', '--iterations', '10', '--no-save-images', '--seed', '3'];

describe('dfq run --quantizer pmf --acc-bits 16', () => {
  it('distils W4A4 weights on synthetic images and exports an integer model that never overflows 16 bits', async () => {
    const out = await mkdtemp(join(tmpdir(), 'dfq-pmf-'));
    const args = ['run', '--model', MODEL, '--out', out, ...SMALL, '--w-bits', '4', '--a-bits', '4'];
    // No --calib: the default (auto) must pick mse ranges for 4-bit activations.
    const extra = ['--quantizer', 'pmf', '--quantizer-steps', '30', '--acc-bits', '16'];
    const { stderr } = await run('node', [DFQ, ...args, ...extra, '--eval', DATA, '--eval-limit', '500'], {
      env: { ...process.env, DFQ_BACKEND: 'native' },
    });
    expect(stderr).toMatch(/step 30\/30 beta 300\.0/);
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    expect(report.config.calibration).toBe('auto');
    expect(report.calibration.method).toBe('mse');
    const q = report.quantization;
    expect(q.method).toBe('pmf');
    expect(q.training).toMatchObject({ projection: 'softmax', steps: 30, images: 32 });
    // Distillation moved weights off round-to-nearest (that it comes closer to FP32 than rounding is
    // weight-training.test.ts's claim). Its loss need not fall over 30 steps: the first step's soft
    // weights sit near FP32, and with 8-bit residual-add inputs little activation error is left to undo.
    expect(q.training.changedFromNearest).toBeGreaterThan(0);
    expect(Number.isFinite(q.training.lossFinal)).toBe(true);
    expect(q.accumulatorBits).toBe(16);
    const weighted = q.layers.filter((l: { accumulator: unknown }) => l.accumulator);
    expect(weighted).toHaveLength(10);
    for (const { accumulator: a, name } of weighted) {
      // The provable bound holds, and what the executor saw stays inside it.
      expect(a.worstCase, name).toBeLessThanOrEqual(a.limit);
      expect(a.observed, name).toBeLessThanOrEqual(a.worstCase);
      expect(a.overflows, name).toBe(0);
    }
    // 4-bit inner layers fit 16 bits; 8-bit first/last layers cannot and say why.
    expect(
      weighted.filter(
        (l: { accumulator: { accumulatorBits: number } }) => l.accumulator.accumulatorBits === 16,
      ).length,
    ).toBeGreaterThanOrEqual(6);
    expect(q.overflows).toBe(0);
    expect(q.overflowsChecked).toEqual({ syntheticImages: 32, testImages: 500 });
    expect(report.evaluation.integerAgreement).toBeGreaterThanOrEqual(0.99);
    expect(report.evaluation.quantizedAccuracy).toBeGreaterThan(0.85);
    const card = await readFile(join(out, 'card.md'), 'utf8');
    expect(card).toMatch(/PMF/);
    expect(card).toMatch(/fell back to 32/);
  });

  it('refuses pmf on a backend without weight gradients, naming the way out', async () => {
    const out = await mkdtemp(join(tmpdir(), 'dfq-pmf-wasm-'));
    const err = await run(
      'node',
      [DFQ, 'run', '--model', MODEL, '--out', out, ...SMALL, '--quantizer', 'pmf', '--quantizer-steps', '2'],
      { env: { ...process.env, DFQ_BACKEND: 'wasm' } },
    ).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(
      /error: --quantizer pmf trains weights and needs weight gradients.*use --backend native.*--quantizer rtn/,
    );
    // Refused before stage 1 does any work, with the message alone (no stack trace).
    expect(err.stderr).not.toMatch(/synthesis: direct/);
    expect(err.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(out, 'images/images.npy'))).toBe(false);
  });
});
