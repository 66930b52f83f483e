import { createHash } from 'node:crypto';
import { STAGE_QUEUES, STAGES, stageJobId } from '@dfq/queue';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleFiles, multipart } from './support/forms.js';
import { EXAMPLE_DIR, TestApi } from './support/harness.js';

const api = new TestApi();
let queues: Queue[] = [];
let modelId = '';

beforeAll(async () => {
  await api.start();
  const connection = { url: api.config.redisUrl };
  queues = STAGES.map((s) => new Queue(STAGE_QUEUES[s], { connection, prefix: api.prefix }));
  const res = await api.inject({
    method: 'POST',
    url: '/v1/models',
    ...(await multipart(await exampleFiles(EXAMPLE_DIR))),
  });
  modelId = res.json().modelId;
});

afterAll(async () => {
  await Promise.all(queues.map((q) => q.close()));
  await api.close();
});

async function jobIds(runId: string) {
  const jobs = await Promise.all(STAGES.map((stage, i) => queues[i]?.getJob(stageJobId(runId, stage))));
  return jobs.map((j) => j?.id ?? null);
}

async function createRun(options?: unknown) {
  return api.inject({
    method: 'POST',
    url: '/v1/runs',
    payload: { modelId, ...(options ? { options } : {}) },
  });
}

describe('runs', () => {
  it('creating a run enqueues its three stage jobs and shows it queued', async () => {
    const res = await createRun({ images: 8, iterations: 5 });
    expect(res.statusCode, res.body).toBe(201);
    const { runId } = res.json();
    expect(res.json().modelId).toBe(modelId);
    expect(await jobIds(runId)).toEqual([`${runId}-synthesize`, `${runId}-calibrate`, `${runId}-quantize`]);

    const run = (await api.inject({ method: 'GET', url: `/v1/runs/${runId}` })).json();
    expect(run).toMatchObject({
      runId,
      modelId,
      source: 'api',
      scheduleId: null,
      state: 'queued',
      report: null,
    });
    expect(run.options).toMatchObject({ images: 8, iterations: 5, weightBits: 8 });
    expect(run.stages.map((s: { stage: string }) => s.stage)).toEqual(STAGES);

    const list = (await api.inject({ method: 'GET', url: '/v1/runs' })).json();
    expect(list.runs[0]).toMatchObject({ runId, state: 'queued', modelId });
  });

  it('cancel makes the run cancelled and takes its jobs off the queues', async () => {
    const { runId } = (await createRun()).json();
    const res = await api.inject({ method: 'POST', url: `/v1/runs/${runId}/cancel` });
    expect(res.statusCode).toBe(202);
    expect((await api.inject({ method: 'GET', url: `/v1/runs/${runId}` })).json().state).toBe('cancelled');
    expect(await jobIds(runId)).toEqual([null, null, null]);
  });

  it('uploads a model and queues its run in one multipart call', async () => {
    const form = await multipart(await exampleFiles(EXAMPLE_DIR), { options: JSON.stringify({ seed: 7 }) });
    const res = await api.inject({ method: 'POST', url: '/v1/runs', ...form });
    expect(res.statusCode, res.body).toBe(201);
    const { runId, modelId: uploaded } = res.json();
    expect(uploaded).not.toBe(modelId);
    expect((await api.inject({ method: 'GET', url: `/v1/runs/${runId}` })).json().options.seed).toBe(7);
    expect((await jobIds(runId)).every((id) => id !== null)).toBe(true);
  });

  it('refuses bad run options with zod’s message', async () => {
    const res = await createRun({ weightBits: 40 });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain('expected number to be <=16');
    expect(res.json().message).toContain('weightBits');

    const unknown = await createRun({ colour: 'blue' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().message).toContain('Unrecognized key: "colour"');

    const form = await multipart(await exampleFiles(EXAMPLE_DIR), { options: '{"synth": "magic"}' });
    const multi = await api.inject({ method: 'POST', url: '/v1/runs', ...form });
    expect(multi.statusCode).toBe(400);
    expect(multi.json().message).toContain('synth');

    const notJson = await api.inject({
      method: 'POST',
      url: '/v1/runs',
      ...(await multipart(await exampleFiles(EXAMPLE_DIR), { options: '{nope' })),
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().message).toContain('not valid JSON');
  });

  it('refuses options that cannot work together, naming the request fields', async () => {
    const res = await createRun({ synth: 'real' });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/options\.synth real .*set options\.evaluate too/);
    // A service takes fewer images than a local run; the table's service limit applies.
    const many = await createRun({ images: 5000 });
    expect(many.statusCode).toBe(400);
    expect(many.json().message).toContain('images');
  });

  it('refuses a malformed body and an unknown model', async () => {
    const noModel = await api.inject({ method: 'POST', url: '/v1/runs', payload: {} });
    expect(noModel.statusCode).toBe(400);
    const extra = await api.inject({ method: 'POST', url: '/v1/runs', payload: { modelId, foo: 1 } });
    expect(extra.statusCode).toBe(400);
    const missing = await api.inject({
      method: 'POST',
      url: '/v1/runs',
      payload: { modelId: '00000000-0000-4000-8000-000000000000' },
    });
    expect(missing.statusCode).toBe(404);
  });

  it('lists and serves the run’s artifacts with their sha256, and its report', async () => {
    const { runId } = (await createRun()).json();
    const prefix = `${api.tenantA}/runs/${runId}`;
    const { ArtifactStore } = await import('@dfq/core');
    const store = new ArtifactStore(api.config.artifactsDir);
    await store.put(`${prefix}/report.json`, JSON.stringify({ top1: 0.91 }));
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const ref = await store.put(`${prefix}/images/contact-sheet.png`, png);

    const list = (await api.inject({ method: 'GET', url: `/v1/runs/${runId}/artifacts` })).json();
    expect(list.artifacts.map((a: { key: string }) => a.key)).toEqual([
      'images/contact-sheet.png',
      'report.json',
    ]);

    const file = await api.inject({
      method: 'GET',
      url: `/v1/runs/${runId}/artifacts/images/contact-sheet.png`,
    });
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toBe('image/png');
    expect(file.headers['x-dfq-sha256']).toBe(ref.sha256);
    expect(createHash('sha256').update(file.rawPayload).digest('hex')).toBe(ref.sha256);

    expect((await api.inject({ method: 'GET', url: `/v1/runs/${runId}` })).json().report).toEqual({
      top1: 0.91,
    });

    const missing = await api.inject({ method: 'GET', url: `/v1/runs/${runId}/artifacts/nope.json` });
    expect(missing.statusCode).toBe(404);
    for (const key of ['../../../etc/passwd', '..%2F..%2Fmodels', '%2Fetc%2Fpasswd']) {
      const res = await api.inject({ method: 'GET', url: `/v1/runs/${runId}/artifacts/${key}` });
      expect([400, 404], key).toContain(res.statusCode);
      expect(res.headers['x-dfq-sha256']).toBeUndefined();
    }
  });
});
