import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Resvg } from '@resvg/resvg-js';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const DFQ = join(ROOT, 'services/cli/bin/dfq.js');
const MODEL = join(ROOT, 'examples/resnet-fmnist-a/model.json');
const DATA = process.env.DFQ_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const quick = ['--images', '16', '--iterations', '10', '--seed', '2'];

/** A card's charts: every PNG decodes to a picture with ink, every SVG parses to the same size. */
async function checkCharts(dir: string, card: string): Promise<string[]> {
  const pngs = [...card.matchAll(/!\[[^\]]*\]\(([^)]+\.png)\)/g)].map((m) => m[1] as string);
  for (const png of pngs) {
    const { data, info } = await sharp(join(dir, png)).raw().toBuffer({ resolveWithObject: true });
    expect(info.width).toBeGreaterThan(100);
    expect(data.some((v) => v < 128)).toBe(true);
    const svg = new Resvg(await readFile(join(dir, png.replace(/\.png$/, '.svg')), 'utf8'));
    expect([svg.width, svg.height]).toEqual([info.width, info.height]);
  }
  return pngs;
}

describe('mixed precision through dfq run, and dfq analyze', () => {
  it('fits --size-budget with per-layer bits that every export and the integer executor keep', async () => {
    const out = await mkdtemp(join(tmpdir(), 'dfq-mixed-'));
    // Halfway between uniform W4 and W8 weights of the example model (38,536 and 77,072 bytes).
    const budget = 57_804;
    await run(
      'node',
      [
        DFQ,
        'run',
        '--model',
        MODEL,
        '--out',
        out,
        ...quick,
        '--size-budget',
        String(budget),
        '--eval',
        DATA,
        '--eval-limit',
        '500',
      ],
      { env: { ...process.env, DFQ_BACKEND: 'wasm' }, maxBuffer: 32 * 2 ** 20 },
    );
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    const mixed = report.quantization.mixedPrecision;
    expect(mixed.bytes).toBeLessThanOrEqual(budget);
    expect(mixed.uniformBytes).toMatchObject({ w4: 38_536, w8: 77_072 });
    expect(new Set(Object.values(mixed.bits)).size).toBeGreaterThan(1);
    // The report's per-layer bits are the chosen ones, and the integer model agrees with them.
    for (const layer of report.quantization.layers.filter(
      (l: { weightBits: number | null }) => l.weightBits !== null,
    ))
      expect(layer.weightBits, layer.name).toBe(mixed.bits[layer.name]);
    const saved = JSON.parse(await readFile(join(out, 'quantized-model/model.json'), 'utf8'));
    expect(saved.userDefinedMetadata.dfq.weightBits).toEqual(mixed.bits);
    expect(report.evaluation.integerAgreement).toBeGreaterThanOrEqual(0.995);
    const card = await readFile(join(out, 'card.md'), 'utf8');
    expect(card).toContain('## Mixed precision');
    const pngs = await checkCharts(out, card);
    expect(pngs).toContain('card/mixed-precision-sensitivity.png');
    expect(pngs).toContain('card/mixed-precision-frontier.png');
    // The frontier: the program at five budgets, each measured; agreement grows with the bytes overall.
    expect(mixed.frontier).toHaveLength(5);
    expect(mixed.frontier[4].agreement).toBeGreaterThanOrEqual(mixed.frontier[0].agreement);
    // The three worst-calibrated activations, drawn from the values calibration saw.
    expect(pngs.filter((p) => p.startsWith('card/activation-histogram-'))).toHaveLength(3);
  }, 300_000);

  it('fits --bops-budget (a share of 8-bit weights’ bit operations), judged on images held out of calibration', async () => {
    const out = await mkdtemp(join(tmpdir(), 'dfq-mixed-'));
    await run('node', [DFQ, 'run', '--model', MODEL, '--out', out, ...quick, '--bops-budget', '0.6'], {
      env: { ...process.env, DFQ_BACKEND: 'wasm' },
      maxBuffer: 32 * 2 ** 20,
    });
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    const mixed = report.quantization.mixedPrecision;
    expect(mixed.budgetBops).toBeCloseTo(0.6 * mixed.uniformBops.w8, 0);
    expect(mixed.bops).toBeLessThanOrEqual(mixed.budgetBops);
    expect(mixed.bops).toBeGreaterThan(mixed.uniformBops.w4 * 0.5);
    expect(new Set(Object.values(mixed.bits)).size).toBeGreaterThan(1);
    // The choice was measured on images calibration never saw.
    expect(mixed.images).toBeGreaterThan(0);
    expect(report.calibration.images + mixed.images).toBe(report.synthesis.images);
    const refused = await run(
      'node',
      [DFQ, 'run', '--model', MODEL, '--out', out, ...quick, '--bops-budget', '0.05'],
      { env: { ...process.env, DFQ_BACKEND: 'wasm' } },
    ).catch((e) => e);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /--bops-budget 0\.05 allows .* bit operations per image, but the fewest \(every layer at 2-bit weights\) are/,
    );
  }, 300_000);

  it('refuses a budget below the smallest allocation before making any image, naming the bytes that would fit', async () => {
    const out = await mkdtemp(join(tmpdir(), 'dfq-mixed-'));
    const error = await run(
      'node',
      [DFQ, 'run', '--model', MODEL, '--out', out, ...quick, '--size-budget', '1000'],
      {
        env: { ...process.env, DFQ_BACKEND: 'wasm' },
      },
    ).catch((e) => e);
    expect(error.code).toBe(1);
    expect(error.stderr).toMatch(
      /--size-budget 1000 allows 1000 bytes of weights, but the smallest choice \(every layer at 2 bits\) takes 19268 bytes; uniform 8-bit weights take 77072 of 308288 FP32 bytes/,
    );
    expect(error.stderr).not.toMatch(/synthesis:/);
  }, 300_000);

  it('dfq analyze ranks the layers, with Hessian traces and charts', async () => {
    const out = await mkdtemp(join(tmpdir(), 'dfq-analyze-'));
    const { stdout } = await run('node', [DFQ, 'analyze', '--model', MODEL, '--out', out, ...quick], {
      env: { ...process.env, DFQ_BACKEND: 'native' },
    });
    const analysis = JSON.parse(await readFile(join(out, 'analysis/analysis.json'), 'utf8'));
    expect(analysis.sensitivity.layers).toHaveLength(10);
    expect(analysis.ranking).toHaveLength(10);
    expect(stdout).toContain(`most sensitive first`);
    expect(stdout.indexOf(analysis.ranking[0])).toBeLessThan(stdout.indexOf(analysis.ranking[9]));
    for (const layer of analysis.sensitivity.layers) {
      expect(Number.isFinite(layer.hessianTracePerWeight)).toBe(true);
      const kl = layer.candidates.map((c: { kl: number }) => c.kl);
      expect(kl[0]).toBeGreaterThan(kl[2]);
    }
    for (const chart of Object.values(analysis.artifacts.charts) as { png: string; svg: string }[]) {
      const { info } = await sharp(join(out, chart.png)).raw().toBuffer({ resolveWithObject: true });
      expect(new Resvg(await readFile(join(out, chart.svg), 'utf8')).width).toBe(info.width);
    }
  }, 300_000);
});
