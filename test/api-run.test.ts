import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA, DFQ, EXAMPLE_DIR, reproducible, TestCluster } from './support/cluster.js';

const run = promisify(execFile);
const cluster = new TestCluster();
let url = '';

beforeAll(async () => {
  await cluster.init();
  url = await cluster.startApi('tok-acme=acme,tok-other=other');
  cluster.startWorker('synthesize', 'calibrate', 'quantize');
});

afterAll(async () => {
  await cluster.close();
});

const client = (token: string) => ['--api', url, '--token', token];

describe('a run submitted through the HTTP API', () => {
  it('completes with the report the embedded run gives, and its artifacts download intact', async () => {
    const flags = ['--images', '8', '--iterations', '6', '--eval', '--eval-limit', '300', '--seed', '4'];
    const env = cluster.env();
    const { stdout: submitted } = await run(
      'node',
      [DFQ, 'submit', ...client('tok-acme'), '--model', join(EXAMPLE_DIR, 'model.json'), ...flags],
      { env },
    );
    const runId = submitted.trim();
    expect(runId).toMatch(/^[0-9a-f-]{36}$/);
    const watched = await run('node', [DFQ, 'watch', runId, ...client('tok-acme'), '--interval', '200'], {
      env,
    });
    expect(watched.stderr).toMatch(/\[#{30}\] completed/);

    // Another tenant cannot see it.
    const foreign = await run('node', [DFQ, 'status', runId, ...client('tok-other')], { env }).catch(
      (e) => e,
    );
    expect(foreign.stderr).toMatch(/HTTP 404/);

    const out = join(tmpdir(), `dfq-fetch-${runId}`);
    const fetched = await run('node', [DFQ, 'fetch', runId, ...client('tok-acme'), '--out', out], { env });
    expect(fetched.stdout).toMatch(/artifacts written .* sha256 checked/);
    const files = (await readdir(out, { recursive: true })).filter((f) => f.includes('.'));
    expect(files).toEqual(
      expect.arrayContaining([
        'report.json',
        'images/images.npy',
        'calibration/profile.json',
        'quantized-model/model.json',
      ]),
    );
    // The downloaded bytes are the stored bytes.
    for (const f of ['report.json', 'images/images.npy']) {
      const stored = await readFile(join(cluster.artifactsDir, 'acme/runs', runId, f));
      const downloaded = await readFile(join(out, f));
      expect(createHash('sha256').update(downloaded).digest('hex')).toBe(
        createHash('sha256').update(stored).digest('hex'),
      );
    }

    const embedded = await cluster.embeddedRun([...flags.filter((f) => f !== '--eval'), '--eval', DATA]);
    const queued = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    expect(reproducible(queued)).toEqual(reproducible(embedded));

    const { stdout: status } = await run('node', [DFQ, 'status', runId, ...client('tok-acme')], { env });
    expect(status).toMatch(new RegExp(`run ${runId}: completed`));
    expect(status).toMatch(/accuracy +FP32 \d+\.\d+% +quantized \d+\.\d+%/);
  });
});
