import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const DFQ = join(ROOT, 'services/cli/bin/dfq.js');
const MODEL = join(ROOT, 'examples/resnet-fmnist-a/model.json');
const DATA = process.env.DFQ_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

describe('dfq run (embedded, one process)', () => {
  it('writes a complete report, a reloadable quantized model and the synthetic images', async () => {
    const out = await mkdtemp(join(tmpdir(), 'dfq-run-'));
    const args = [
      'run',
      '--model',
      MODEL,
      '--out',
      out,
      '--images',
      '16',
      '--iterations',
      '10',
      '--eval',
      DATA,
      '--eval-limit',
      '1000',
      '--seed',
      '5',
    ];
    const { stdout, stderr } = await run('node', [DFQ, ...args], {
      env: { ...process.env, DFQ_BACKEND: 'wasm' },
    });
    expect(stderr).toMatch(/backend: tensor backend: wasm/);
    expect(stdout).toMatch(/accuracy +FP32 \d+\.\d+%/);
    // Each evaluated model reports its own progress, the integer executor's included.
    for (const model of ['fp32', 'quantized', 'integer'])
      expect(stderr).toMatch(new RegExp(`\\] +${model}: 1000/1000 images`));

    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    expect(report.backend).toBe('wasm');
    expect(report.model).toMatchObject({ params: 78426, layers: 33 });
    expect(report.config).toMatchObject({
      weightBits: 8,
      activationBits: 8,
      synth: 'auto',
      images: 16,
      iterations: 10,
      seed: 5,
    });
    // The default (auto) makes direct images for the default quantizer, rtn.
    expect(report.synthesis).toMatchObject({ method: 'direct', images: 16, iterations: 10 });
    expect(report.synthesis.lossFinal).toBeLessThan(report.synthesis.lossInitial);
    // The default (auto) keeps min-max ranges for 8-bit activations.
    expect(report.config.calibration).toBe('auto');
    expect(report.calibration.method).toBe('minmax');
    expect(report.quantization.bytesQuantized).toBeLessThan(report.quantization.bytesFp32 / 3);
    expect(report.evaluation.samples).toBe(1000);
    // Real accuracy on real test images: a loader or preprocessing slip drops this far below.
    expect(report.evaluation.fp32Accuracy).toBeGreaterThan(0.88);
    expect(report.evaluation.quantizedAccuracy).toBeGreaterThan(report.evaluation.fp32Accuracy - 0.02);
    expect(report.peakRssBytes).toBeGreaterThan(0);
    expect(report.tensorsAtEnd).toBe(0);
    expect(report.totalSeconds).toBeGreaterThan(0);

    const images = await readdir(join(out, 'images'));
    expect(images.filter((f) => /^image-\d{4}\.png$/.test(f))).toHaveLength(16);
    expect(images).toContain('contact-sheet.png');
    const png = await readFile(join(out, 'images', 'image-0000.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    const saved = JSON.parse(await readFile(join(out, 'quantized-model', 'model.json'), 'utf8'));
    expect(saved.format).toBe('layers-model');
    expect(
      saved.modelTopology.config.layers.some(
        (l: { class_name: string }) => l.class_name === 'BatchNormalization',
      ),
    ).toBe(false);

    // The integer-only model and the stock-TF.js uint8 model are evaluated on the same images.
    expect(report.quantization.method).toBe('rtn');
    expect(report.quantization.overflows).toBe(0);
    expect(report.evaluation.integerAgreement).toBeGreaterThanOrEqual(0.995);
    expect(report.evaluation.integerAccuracy).toBeGreaterThan(report.evaluation.fp32Accuracy - 0.02);
    expect(report.evaluation.tfjsUint8Accuracy).toBeGreaterThan(report.evaluation.fp32Accuracy - 0.02);
    expect(await readdir(join(out, 'integer-model'))).toEqual(['integer-model.json', 'integer-weights.bin']);
    const uint8 = JSON.parse(await readFile(join(out, 'tfjs-uint8-model', 'model.json'), 'utf8'));
    expect(uint8.weightsManifest[0].weights[0].quantization).toMatchObject({ dtype: 'uint8' });
    const card = await readFile(join(out, 'card.md'), 'utf8');
    for (const layer of report.quantization.layers) expect(card).toContain(layer.name);
    expect(card).toContain(`${(100 * report.evaluation.integerAccuracy).toFixed(2)}%`);
  });

  it('fails with the loader message and exit code 1 on a bad model path', async () => {
    const err = await run('node', [
      DFQ,
      'run',
      '--model',
      '/nonexistent/model.json',
      '--out',
      join(tmpdir(), 'dfq-x'),
    ]).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/error: Model file \/nonexistent\/model.json does not exist/);
  });

  it('rejects out-of-range options before doing any work', async () => {
    const err = await run('node', [
      DFQ,
      'run',
      '--model',
      MODEL,
      '--out',
      join(tmpdir(), 'dfq-y'),
      '--w-bits',
      '40',
    ]).catch((e) => e);
    expect(err.code).not.toBe(0);
    expect(err.stderr).toMatch(/--w-bits.*integer from 1 to 16/);
  });
});

describe('tensor backend choice', () => {
  it('auto takes native when its addon loads, and says why it fell back when it does not', async () => {
    const native = await mkdtemp(join(tmpdir(), 'dfq-native-'));
    const fallback = await mkdtemp(join(tmpdir(), 'dfq-fallback-'));
    const args = ['run', '--model', MODEL, '--images', '4', '--iterations', '2', '--no-save-images'];
    const env = { ...process.env, DFQ_BACKEND: '' };
    await run('node', [DFQ, ...args, '--out', native], { env });
    const { stderr } = await run('node', [DFQ, ...args, '--out', fallback], {
      env: { ...env, DFQ_NATIVE: 'off' },
    });
    const chosen = JSON.parse(await readFile(join(native, 'report.json'), 'utf8'));
    const fellBack = JSON.parse(await readFile(join(fallback, 'report.json'), 'utf8'));
    expect(chosen.backend).toBe('native');
    expect(fellBack.backend).toBe('wasm');
    expect(fellBack.backendAttempts).toContainEqual({
      backend: 'native',
      ok: false,
      reason: 'disabled by DFQ_NATIVE=off',
    });
    expect(stderr).toMatch(/tensor backend: wasm \(.*native: disabled by DFQ_NATIVE=off/);
  });
});
