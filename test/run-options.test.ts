import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RUN_OPTION_KEYS, RUN_OPTIONS, type RunOptionKey, runOption, serviceKey } from '@dfq/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DFQ, EXAMPLE_DIR, TestCluster } from './support/cluster.js';

// The run-option table end to end: every option a client can set reaches the run, through the
// real CLI, HTTP API, Redis and workers. This is the test that catches a dropped option.
const run = promisify(execFile);
const cluster = new TestCluster();
let url = '';

beforeAll(async () => {
  await cluster.init();
  url = await cluster.startApi('tok-opts=opts');
  cluster.startWorker('synthesize', 'calibrate', 'quantize');
});

afterAll(async () => {
  await cluster.close();
});

const clientArgs = () => ['--api', url, '--token', 'tok-opts'];

/** Long flags a command's help lists. */
async function helpFlags(command: string): Promise<string[]> {
  const { stdout } = await run('node', [DFQ, command, '--help']);
  return [...stdout.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1] as string);
}

describe('every run option, through the real API and workers', () => {
  it('reaches the run: dfq submit with a non-default value of each lands in report.json', async () => {
    const keys = RUN_OPTION_KEYS.filter((k) => !runOption(k).localOnly);
    const flags = keys.flatMap((k) => runOption(k).toArgs(runOption(k).sample));
    const { stdout } = await run(
      'node',
      [DFQ, 'submit', ...clientArgs(), '--model', join(EXAMPLE_DIR, 'model.json'), ...flags],
      { env: cluster.env() },
    );
    const runId = stdout.trim();
    const watched = await run('node', [DFQ, 'watch', runId, ...clientArgs(), '--interval', '300'], {
      env: cluster.env(),
    }).catch((e) => e);
    expect(watched.stderr).toMatch(/completed/);
    const report = JSON.parse(
      await readFile(join(cluster.artifactsDir, 'opts/runs', runId, 'report.json'), 'utf8'),
    );
    for (const k of keys) {
      // The service evaluates on its own copy of the test set.
      // A tenant sees neither the server's data folder nor its own store layout.
      const expected = k === 'evalDir' ? "<the server's evaluation data>" : runOption(k).sample;
      expect(report.config[k], k).toEqual(expected);
    }
    // And the run did what the options say, not just record them.
    expect(report.backend).toBe('cpu');
    expect(report.synthesis).toMatchObject({ method: 'generative', images: 6 });
    expect(report.quantization).toMatchObject({ method: 'pmf', weightBits: 4, activationBits: 6 });
    expect(report.quantization.training.steps).toBe(2);
    expect(report.quantization.accumulatorBits).toBe(16);
    expect(report.calibration.method).toBe('kl');
    expect(report.evaluation.samples).toBe(40);
    expect(report.model.normalization).toMatchObject({ mean: [0.3], std: [0.4], source: 'options' });
    expect(report.artifacts.images).toBeNull();
    // --size-budget and --max-drop chose the bits: within the budget, with more than one width.
    expect(report.quantization.mixedPrecision.bytes).toBeLessThanOrEqual(
      report.quantization.mixedPrecision.budgetBytes,
    );
    expect(new Set(Object.values(report.quantization.mixedPrecision.bits)).size).toBeGreaterThan(1);
    // Every option at once on the slow cpu backend, mixed-precision search included, through the queue.
  }, 300_000);

  it('every flag of dfq run is accepted by POST /v1/runs or marked local-only; dfq submit takes the same', async () => {
    const byFlag = new Map(RUN_OPTION_KEYS.map((k) => [RUN_OPTIONS[k].flag as string, k as RunOptionKey]));
    const structural = new Set(['--model', '--out', '--help']);
    const doc = await (await fetch(`${url}/openapi.json`)).json();
    const accepted = Object.keys(
      doc.paths['/v1/runs'].post.requestBody.content['application/json'].schema.properties.options.properties,
    );
    const runFlags = await helpFlags('run');
    for (const flag of runFlags.filter((f) => !structural.has(f))) {
      const key = byFlag.get(flag);
      expect(key, `${flag} is not in the run-option table`).toBeDefined();
      const row = runOption(key as RunOptionKey);
      if (!row.localOnly) expect(accepted, flag).toContain(serviceKey(key as RunOptionKey));
    }
    expect(runFlags.length).toBeGreaterThanOrEqual(RUN_OPTION_KEYS.length);
    const submitFlags = await helpFlags('submit');
    expect(submitFlags.filter((f) => byFlag.has(f)).sort()).toEqual(
      runFlags.filter((f) => byFlag.has(f)).sort(),
    );
  });
});
