import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { onnx } from '@dfq/core';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const DFQ = join(ROOT, 'services/cli/bin/dfq.js');
const MODEL = join(ROOT, 'examples/resnet-fmnist-a/model.json');
const DATA = process.env.DFQ_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

describe('per-layer control (--keep-float, --layer-bits)', () => {
  it('keeps the named layer float in every export, gives another its own bits, and says so', async () => {
    const out = await mkdtemp(join(tmpdir(), 'dfq-layers-'));
    const { stdout } = await run('node', [
      DFQ,
      'run',
      ...['--model', MODEL, '--out', out, '--images', '16', '--iterations', '5'],
      ...['--keep-float', 'fc', '--layer-bits', 'layer2_0_a_conv=4/6'],
      ...['--eval', DATA, '--eval-limit', '500'],
    ]);
    expect(stdout).toMatch(/integer model +not written: layers kept in float \(fc\)/);
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    const layer = (name: string) => report.quantization.layers.find((l: { name: string }) => l.name === name);
    expect(layer('fc')).toBeUndefined();
    expect(layer('layer2_0_a_conv')).toMatchObject({ weightBits: 4, activationBits: 6 });
    expect(layer('layer2_0_b_conv')).toMatchObject({ weightBits: 8, activationBits: 8 });
    expect(report.quantization.keptFloat).toEqual(['fc']);
    expect(report.quantization.integerAgreementSynthetic).toBeNull();
    expect(report.artifacts.integerModel).toBeNull();
    expect(report.evaluation.integerAccuracy).toBeNull();
    expect(report.evaluation.onnxRuntimeAgreement).toBeGreaterThanOrEqual(0.99);

    // The QDQ export: fc's weights stay float, layer2_0_a_conv's are int8 values within 4 bits.
    const model = onnx.ModelProto.decode(await readFile(join(out, report.artifacts.onnxModel)));
    const initializer = (name: string) => model.graph?.initializer?.find((t) => t.name === name);
    expect(initializer('fc_w')?.dataType).toBe(onnx.TensorProto.DataType.FLOAT);
    expect(initializer('fc_w_q')).toBeUndefined();
    const q = initializer('layer2_0_a_conv_w_q');
    expect(q?.dataType).toBe(onnx.TensorProto.DataType.INT8);
    const values = new Int8Array(
      q?.rawData?.buffer.slice(
        q.rawData.byteOffset,
        q.rawData.byteOffset + q.rawData.byteLength,
      ) as ArrayBuffer,
    );
    expect(Math.max(...Array.from(values, Math.abs))).toBeLessThanOrEqual(7);
    const card = await readFile(join(out, 'card.md'), 'utf8');
    expect(card).toContain(
      '| layers kept in float | fc (weights and outputs; no integer-only model is written) |',
    );
    expect(card).toContain('| per-layer bits | layer2_0_a_conv: W4 A6 |');
  });

  it('refuses a name that is not a layer of the folded model before synthesizing anything', async () => {
    const out = await mkdtemp(join(tmpdir(), 'dfq-layers-'));
    const error = await run('node', [
      DFQ,
      'run',
      '--model',
      MODEL,
      '--out',
      out,
      '--keep-float',
      'stem_bn',
    ]).catch((e: { code: number; stderr: string }) => e);
    expect(error).toMatchObject({ code: expect.any(Number) });
    const { code, stderr } = error as { code: number; stderr: string };
    expect(code).not.toBe(0);
    expect(stderr).toMatch(
      /stem_bn, which is not a layer of the BatchNorm-folded model\. Its layers: input, stem_conv/,
    );
    expect(stderr).not.toMatch(/iteration/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
