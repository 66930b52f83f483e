// Step 11's findings that need the workers, tried against the real API and real workers on the real
// Redis: a run the API would refuse, queued behind its back, fails once at the worker (defence in
// depth); hostile JSON fails once; what a tenant reads carries no server path; files are private;
// delete routes take everything; one tenant's backlog does not hold up another's run.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STAGE_QUEUES, stageJobId } from '@dfq/queue';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepRetention } from '../services/workers/src/retention.js';
import { EXAMPLE_DIR, TestCluster } from './support/cluster.js';

const cluster = new TestCluster();
let url = '';
/** The quickest run the example model allows: the worker path end to end, little arithmetic. */
const QUICK = { images: 2, iterations: 2, calibration: 'minmax', saveImages: true };

beforeAll(async () => {
  await cluster.init();
  url = await cluster.startApi('tok-a=tenant_a,tok-b=tenant_b');
  cluster.startWorker('synthesize', 'calibrate', 'quantize');
});

afterAll(async () => {
  await cluster.close();
});

const api = (token: string, path: string, init: RequestInit = {}) =>
  fetch(`${url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
  });

/** The example model stored for a tenant with model.json edited (as a tenant's upload would land). */
async function storeExample(
  tenant: string,
  modelId: string,
  edit: (text: string) => string,
): Promise<string> {
  const key = await cluster.uploadExampleModel(tenant, modelId);
  const path = join(cluster.artifactsDir, key);
  await writeFile(path, edit(await readFile(path, 'utf8')));
  return key;
}

async function uploadExample(token: string): Promise<string> {
  const form = new FormData();
  for (const name of ['model.json', 'group1-shard1of1.bin'])
    form.append('files', new Blob([await readFile(join(EXAMPLE_DIR, name))]), name);
  const res = await fetch(`${url}/v1/models`, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { modelId: string }).modelId;
}

async function submit(token: string, modelId: string, options: object = QUICK): Promise<string> {
  const res = await api(token, '/v1/runs', { method: 'POST', body: JSON.stringify({ modelId, options }) });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { runId: string }).runId;
}

describe('a hostile tenant against the workers', () => {
  it('a run too large for a worker, queued behind the API, fails once with the limit named (no retries)', async () => {
    const key = await storeExample('tenant_a', 'huge', (text) => {
      const json = JSON.parse(text);
      json.modelTopology.config.layers[0].config.batch_input_shape = [null, 8192, 8192, 1];
      return JSON.stringify(json);
    });
    const run = await cluster.submit('tenant_a', key, {});
    const status = await cluster.waitForState('tenant_a', run.runId, ['failed'], 60_000);
    const synth = status.stages.find((s) => s.stage === 'synthesize');
    expect(synth?.attempts).toBe(1);
    expect(status.failedReason).toMatch(/8192x8192x1 input needs about .* DFQ_WORKER_MEMORY_MIB/);
    expect(status.failedReason).not.toContain(cluster.artifactsDir);
  });

  it('a model.json nested 200,000 deep fails once with a message, not three stack overflows', async () => {
    const key = await storeExample('tenant_a', 'deep', (t) =>
      t.replace(
        '"userDefinedMetadata": {',
        `"userDefinedMetadata": {"deep": ${'['.repeat(200_000)}${']'.repeat(200_000)}, `,
      ),
    );
    const run = await cluster.submit('tenant_a', key, QUICK);
    const status = await cluster.waitForState('tenant_a', run.runId, ['failed'], 60_000);
    expect(status.stages.find((s) => s.stage === 'synthesize')?.attempts).toBe(1);
    expect(status.failedReason).toMatch(/^models\/deep\/model\.json: the file nests 200002 levels deep/);
  });

  it('what a tenant reads has no server path; files are 0600 and folders 0700; delete takes it all', async () => {
    const modelId = await uploadExample('tok-a');
    const runId = await submit('tok-a', modelId, { ...QUICK, evaluate: true, evalLimit: 20 });
    await cluster.waitForState('tenant_a', runId, ['completed'], 180_000);
    const view = await (await api('tok-a', `/v1/runs/${runId}`)).text();
    expect(view).not.toContain(cluster.artifactsDir);
    expect(view).not.toMatch(/"\/(usr|tmp|home|root|work)\//);
    const report = JSON.parse(view).report;
    expect(report.config.modelPath).toBe(`models/${modelId}/model.json`);
    expect(report.config.evalDir).toBe("<the server's evaluation data>");
    const served = await (await api('tok-a', `/v1/runs/${runId}/artifacts/report.json`)).text();
    expect(served).not.toContain(cluster.artifactsDir);

    const tenantDir = join(cluster.artifactsDir, 'tenant_a');
    const entries = await readdir(tenantDir, { recursive: true });
    const mine = entries.filter((e) => e.includes(runId) || e.includes(modelId));
    expect(mine.length).toBeGreaterThan(10);
    for (const entry of mine) {
      const info = await stat(join(tenantDir, entry));
      expect((info.mode & 0o777).toString(8), entry).toBe(info.isDirectory() ? '700' : '600');
    }
    expect(entries.some((e) => e.startsWith(`generators/${modelId}`))).toBe(false); // direct images: none

    const inUse = await api('tok-a', '/v1/schedules', {
      method: 'POST',
      body: JSON.stringify({ scheduleId: 'nightly', cron: '0 3 * * *', modelId, options: QUICK }),
    });
    expect(inUse.status).toBe(201);
    const refused = await api('tok-a', `/v1/models/${modelId}`, { method: 'DELETE' });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { message: string }).message).toMatch(/schedule\(s\) nightly/);
    expect((await api('tok-a', '/v1/schedules/nightly', { method: 'DELETE' })).status).toBe(204);

    expect((await api('tok-b', `/v1/runs/${runId}`, { method: 'DELETE' })).status).toBe(404);
    expect((await api('tok-a', `/v1/runs/${runId}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api('tok-a', `/v1/runs/${runId}`)).status).toBe(404);
    expect((await api('tok-a', `/v1/models/${modelId}`, { method: 'DELETE' })).status).toBe(204);
    const left = await readdir(tenantDir, { recursive: true });
    expect(left.filter((e) => e.includes(runId) || e.includes(modelId))).toEqual([]);
  }, 240_000);

  it('fair share: with tenant A holding 20 queued runs, B’s one run starts before A’s fifth, and all 21 complete once', async () => {
    const [a, b] = await Promise.all([uploadExample('tok-a'), uploadExample('tok-b')]);
    const synthesize = new Queue(STAGE_QUEUES.synthesize, {
      connection: cluster.redis,
      prefix: cluster.prefix,
    });
    // Held while the backlog builds, so A really holds 20 queued runs when B's arrives.
    await synthesize.pause();
    const runsA: string[] = [];
    for (let i = 0; i < 20; i++) runsA.push(await submit('tok-a', a, { ...QUICK, seed: i }));
    const runB = await submit('tok-b', b);
    await synthesize.resume();
    for (const runId of runsA) await cluster.waitForState('tenant_a', runId, ['completed'], 600_000);
    await cluster.waitForState('tenant_b', runB, ['completed'], 60_000);
    try {
      const started = async (runId: string) => {
        const job = await synthesize.getJob(stageJobId(runId, 'synthesize'));
        expect(job?.attemptsMade, runId).toBe(1); // ran once: not lost, not repeated
        return job?.processedOn as number;
      };
      const startsA = await Promise.all(runsA.map(started));
      const startB = await started(runB);
      const fifthA = [...startsA].sort((x, y) => x - y)[4] as number;
      expect(startB).toBeLessThan(fifthA);
    } finally {
      await synthesize.close();
    }
    const listed = (await (await api('tok-a', '/v1/runs')).json()) as { runs: { runId: string }[] };
    expect(listed.runs.filter((r) => runsA.includes(r.runId))).toHaveLength(20);
  }, 700_000);

  it('retention deletes finished runs past the period with their artifacts, and keeps a queued one', async () => {
    const modelId = await uploadExample('tok-b');
    const done = await submit('tok-b', modelId);
    await cluster.waitForState('tenant_b', done, ['completed'], 120_000);
    const synthesize = new Queue(STAGE_QUEUES.synthesize, {
      connection: cluster.redis,
      prefix: cluster.prefix,
    });
    await synthesize.pause();
    try {
      const waiting = await submit('tok-b', modelId);
      const registry = cluster.registry;
      const sweep = await sweepRetention(
        { artifactsDir: cluster.artifactsDir, registry, status: cluster.status },
        Date.now() + 1000,
      );
      expect(sweep.runsDeleted).toBeGreaterThanOrEqual(1);
      expect(sweep.runsKeptActive).toBeGreaterThanOrEqual(1);
      expect(await registry.get('tenant_b', done)).toBeNull();
      expect(await readdir(join(cluster.artifactsDir, 'tenant_b/runs'))).not.toContain(done);
      expect(await registry.get('tenant_b', waiting)).not.toBeNull();
      expect((await api('tok-b', `/v1/runs/${done}`)).status).toBe(404);
    } finally {
      await synthesize.resume();
      await synthesize.close();
    }
  }, 180_000);
});
