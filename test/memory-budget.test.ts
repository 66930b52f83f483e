// The memory plan made before a run starts: batches shrink to the budget, and a model that cannot fit
// one image is refused in one paragraph (cause, numbers, flag), exit code non-zero, no stack trace.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const DFQ = join(ROOT, 'services/cli/bin/dfq.js');
const MODEL = join(ROOT, 'examples/resnet-fmnist-a/model.json');

/** A small CNN (conv, BatchNorm, ReLU, pool, dense) whose input is size x size x 3. */
async function tinyModel(size: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dfq-huge-'));
  const layer = (class_name: string, name: string, config: object, inputs: string[]) => ({
    class_name,
    name,
    config: { name, ...config },
    inbound_nodes: inputs.length ? [inputs.map((i) => [i, 0, 0, {}])] : [],
  });
  const weights: [string, number[]][] = [
    ['conv/kernel', [3, 3, 3, 8]],
    ['bn/gamma', [8]],
    ['bn/beta', [8]],
    ['bn/moving_mean', [8]],
    ['bn/moving_variance', [8]],
    ['fc/kernel', [8, 10]],
    ['fc/bias', [10]],
  ];
  const count = weights.reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);
  await writeFile(join(dir, 'weights.bin'), Buffer.from(new Float32Array(count).fill(0.5).buffer));
  await writeFile(
    join(dir, 'model.json'),
    JSON.stringify({
      format: 'layers-model',
      modelTopology: {
        class_name: 'Functional',
        config: {
          name: `tiny_${size}`,
          layers: [
            layer('InputLayer', 'input', { batch_input_shape: [null, size, size, 3] }, []),
            layer(
              'Conv2D',
              'conv',
              {
                filters: 8,
                kernel_size: [3, 3],
                strides: [1, 1],
                padding: 'same',
                use_bias: false,
                activation: 'linear',
              },
              ['input'],
            ),
            layer('BatchNormalization', 'bn', { axis: 3, epsilon: 1e-3, center: true, scale: true }, [
              'conv',
            ]),
            layer('Activation', 'relu', { activation: 'relu' }, ['bn']),
            layer('GlobalAveragePooling2D', 'gap', {}, ['relu']),
            layer('Dense', 'fc', { units: 10, activation: 'linear', use_bias: true }, ['gap']),
          ],
          input_layers: [['input', 0, 0]],
          output_layers: [['fc', 0, 0]],
        },
      },
      weightsManifest: [
        {
          paths: ['weights.bin'],
          weights: weights.map(([name, shape]) => ({ name, shape, dtype: 'float32' })),
        },
      ],
    }),
  );
  return join(dir, 'model.json');
}

async function refused(args: string[]) {
  const out = await mkdtemp(join(tmpdir(), 'dfq-refused-'));
  try {
    await run('node', [DFQ, 'run', ...args, '--out', out, '--no-save-images']);
  } catch (err) {
    const { code, stderr } = err as { code: number; stderr: string };
    return { code, stderr };
  }
  throw new Error('the run was not refused');
}

describe('memory budget', () => {
  it('refuses an 8192x8192 input before any work, naming the input size, the budget and the flag', async () => {
    const { code, stderr } = await refused(['--model', await tinyModel(8192), '--memory-budget', '4096']);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/error: the model's 8192x8192x3 input needs about [\d.]+ GiB per image/);
    expect(stderr).toMatch(/memory budget is 4\.00 GiB\. Raise --memory-budget to at least \d+/);
    expect(stderr).toMatch(/export the model at the input size it was trained at/);
    expect(stderr).not.toMatch(/^\s+at /m); // no stack trace
    expect(stderr).not.toMatch(/synthesis: direct/); // refused before synthesis began
  });

  it('refuses a model too large for the budget given', async () => {
    const { code, stderr } = await refused(['--model', MODEL, '--memory-budget', '64']);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(
      /the model's 28x28x1 input .* the memory budget is 64 MiB\. Raise --memory-budget/,
    );
    expect(stderr).not.toMatch(/^\s+at /m);
  });

  it('shrinks the synthesis batch to the budget, records the plan, and stays under it', async () => {
    const out = await mkdtemp(join(tmpdir(), 'dfq-budget-'));
    const budgetMiB = 500;
    const { stderr } = await run('node', [
      DFQ,
      'run',
      '--model',
      MODEL,
      '--out',
      out,
      '--images',
      '64',
      '--iterations',
      '1',
      '--memory-budget',
      String(budgetMiB),
      '--no-save-images',
    ]);
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    const { batchSize, memory } = report.synthesis;
    expect(batchSize).toBeGreaterThan(0);
    expect(batchSize).toBeLessThan(64);
    expect(stderr).toMatch(new RegExp(`batches of ${batchSize} \\(not 64: memory budget\\)`));
    expect(memory).toMatchObject({
      budgetBytes: budgetMiB * 2 ** 20,
      budgetSource: 'option',
      inputShape: [28, 28, 1],
    });
    expect(memory.estimatedPeakBytes).toBeLessThanOrEqual(budgetMiB * 2 ** 20);
    expect(report.peakRssBytes).toBeLessThan(budgetMiB * 2 ** 20);
  });
});
