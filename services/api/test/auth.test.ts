import { ArtifactStore } from '@dfq/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleFiles, multipart } from './support/forms.js';
import { EXAMPLE_DIR, TestApi } from './support/harness.js';

const api = new TestApi();
const noAdmin = new TestApi();
let modelId = '';
let runId = '';
const scheduleId = 'nightly';

beforeAll(async () => {
  await api.start();
  await noAdmin.start({ adminToken: null });
  const upload = await api.inject({
    method: 'POST',
    url: '/v1/models',
    ...(await multipart(await exampleFiles(EXAMPLE_DIR))),
  });
  modelId = upload.json().modelId;
  runId = (await api.inject({ method: 'POST', url: '/v1/runs', payload: { modelId } })).json().runId;
  await new ArtifactStore(api.config.artifactsDir).put(`${api.tenantA}/runs/${runId}/report.json`, '{}');
  const schedule = await api.inject({
    method: 'POST',
    url: '/v1/schedules',
    payload: { scheduleId, cron: '0 3 * * *', modelId },
  });
  expect(schedule.statusCode, schedule.body).toBe(201);
});

afterAll(async () => {
  await api.close();
  await noAdmin.close();
});

/** Every /v1 route, with ids of tenant A's resources. */
function routes() {
  return [
    { method: 'POST', url: '/v1/models' },
    { method: 'POST', url: '/v1/runs', payload: { modelId } },
    { method: 'GET', url: '/v1/runs' },
    { method: 'GET', url: `/v1/runs/${runId}` },
    { method: 'GET', url: `/v1/runs/${runId}/artifacts` },
    { method: 'GET', url: `/v1/runs/${runId}/artifacts/report.json` },
    { method: 'POST', url: `/v1/runs/${runId}/cancel` },
    { method: 'POST', url: '/v1/schedules', payload: { cron: '0 3 * * *', modelId } },
    { method: 'GET', url: '/v1/schedules' },
    { method: 'DELETE', url: `/v1/schedules/${scheduleId}` },
  ] as const;
}

describe('authentication', () => {
  it('answers 401 on every /v1 route without a token or with a wrong one', async () => {
    for (const route of routes()) {
      for (const token of [null, 'not-a-token']) {
        const res = await api.inject({ ...route, token });
        expect(res.statusCode, `${route.method} ${route.url} token ${token}`).toBe(401);
        expect(res.json().message).toMatch(
          token === null ? /missing or malformed Authorization/ : /invalid API token/,
        );
      }
    }
    // Nothing happened on tenant A's behalf.
    expect((await api.inject({ method: 'GET', url: `/v1/runs/${runId}` })).json().state).toBe('queued');
  });

  it("answers 404 to another tenant for every one of tenant A's ids", async () => {
    const b = api.tokenB;
    const idRoutes = routes().filter(
      (r) => r.url.includes(runId) || r.url.includes(scheduleId) || 'payload' in r,
    );
    expect(idRoutes).toHaveLength(7);
    for (const route of idRoutes) {
      const res = await api.inject({ ...route, token: b });
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(404);
    }
    expect((await api.inject({ method: 'GET', url: '/v1/runs', token: b })).json().runs).toEqual([]);
    expect((await api.inject({ method: 'GET', url: '/v1/schedules', token: b })).json().schedules).toEqual(
      [],
    );
    // Tenant A's run and schedule are untouched.
    expect((await api.inject({ method: 'GET', url: `/v1/runs/${runId}` })).json().state).toBe('queued');
    const schedules = (await api.inject({ method: 'GET', url: '/v1/schedules' })).json().schedules;
    expect(schedules.map((s: { scheduleId: string }) => s.scheduleId)).toEqual([scheduleId]);
  });

  it('public routes need no token', async () => {
    for (const url of ['/healthz', '/readyz', '/openapi.json']) {
      expect((await api.inject({ method: 'GET', url, token: null })).statusCode, url).toBe(200);
    }
  });
});

describe('admin dashboard', () => {
  it('needs the admin token', async () => {
    for (const token of [null, api.tokenA]) {
      const res = await api.inject({ method: 'GET', url: '/admin/queues', token });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toContain('Basic');
    }
    const page = await api.inject({ method: 'GET', url: '/admin/queues', token: api.adminToken });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');

    const queues = await api.inject({
      method: 'GET',
      url: '/admin/queues/api/queues',
      token: api.adminToken,
    });
    expect(queues.statusCode).toBe(200);
    const names = queues
      .json()
      .queues.map((q: { name: string }) => q.name)
      .sort();
    expect(names).toEqual(['dfq-calibrate', 'dfq-quantize', 'dfq-schedules', 'dfq-synthesize']);

    const basic = Buffer.from(`admin:${api.adminToken}`).toString('base64');
    const browser = await api.inject({
      method: 'GET',
      url: '/admin/queues/api/queues',
      token: null,
      headers: { authorization: `Basic ${basic}` },
    });
    expect(browser.statusCode).toBe(200);
  });

  it('does not exist without DFQ_ADMIN_TOKEN', async () => {
    const res = await noAdmin.inject({ method: 'GET', url: '/admin/queues', token: noAdmin.adminToken });
    expect(res.statusCode).toBe(404);
  });
});
