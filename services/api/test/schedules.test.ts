import { createRedis, Schedules } from '@dfq/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleFiles, multipart } from './support/forms.js';
import { EXAMPLE_DIR, TestApi } from './support/harness.js';

const api = new TestApi();
const redis = createRedis(process.env.DFQ_REDIS_URL ?? 'redis://127.0.0.1:6379', 'producer');
let schedules: Schedules;
let modelId = '';

beforeAll(async () => {
  await api.start();
  schedules = new Schedules(redis, api.prefix);
  const upload = await api.inject({
    method: 'POST',
    url: '/v1/models',
    ...(await multipart(await exampleFiles(EXAMPLE_DIR))),
  });
  modelId = upload.json().modelId;
});

afterAll(async () => {
  await schedules.close();
  redis.disconnect();
  await api.close();
});

const create = (payload: Record<string, unknown>) =>
  api.inject({ method: 'POST', url: '/v1/schedules', payload: { modelId, ...payload } });

describe('schedules', () => {
  it('create, list and delete round-trip to BullMQ job schedulers', async () => {
    const res = await create({
      scheduleId: 'weekly_w4',
      cron: '30 2 * * 1',
      timezone: 'Europe/Berlin',
      options: { weightBits: 4 },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      scheduleId: 'weekly_w4',
      cron: '30 2 * * 1',
      timezone: 'Europe/Berlin',
      modelId,
    });
    expect(Date.parse(res.json().next)).toBeGreaterThan(Date.now());

    const stored = await schedules.list(api.tenantA);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      scheduleId: 'weekly_w4',
      cron: '30 2 * * 1',
      timezone: 'Europe/Berlin',
      modelKey: `${api.tenantA}/models/${modelId}/model.json`,
    });
    expect(stored[0]?.options.weightBits).toBe(4);

    const listed = (await api.inject({ method: 'GET', url: '/v1/schedules' })).json().schedules;
    expect(listed.map((s: { scheduleId: string }) => s.scheduleId)).toEqual(['weekly_w4']);

    const removed = await api.inject({ method: 'DELETE', url: '/v1/schedules/weekly_w4' });
    expect(removed.statusCode).toBe(204);
    expect(await schedules.queue.getJobScheduler(`${api.tenantA}--weekly_w4`)).toBeUndefined();
    expect(await schedules.list(api.tenantA)).toEqual([]);
    expect((await api.inject({ method: 'DELETE', url: '/v1/schedules/weekly_w4' })).statusCode).toBe(404);
  });

  it('defaults the id to a uuid and the time zone to UTC', async () => {
    const res = await create({ cron: '0 4 * * *' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().scheduleId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.json().timezone).toBe('UTC');
    await api.inject({ method: 'DELETE', url: `/v1/schedules/${res.json().scheduleId}` });
  });

  it('refuses bad cron patterns, time zones, ids and options', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ cron: 'every day' }, /invalid cron pattern/],
      [{ cron: '* * * * * *' }, /fires up to 60 times in a minute/],
      [{ cron: '0 3 * * *', timezone: 'Mars/Olympus' }, /unknown time zone/],
      [{ cron: '0 3 * * *', scheduleId: 'a/b' }, /scheduleId/],
      [{ cron: '0 3 * * *', options: { images: 0 } }, /images/],
    ];
    for (const [payload, message] of cases) {
      const res = await create(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().message).toMatch(message);
    }
    expect(await schedules.list(api.tenantA)).toEqual([]);
  });
});
