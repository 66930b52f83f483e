// Step 11's findings that the API alone must refuse, each tried as a hostile tenant would, against the
// real API on the real Redis. Each failed on main before the fix it names; the workers' side of the
// same findings (defence in depth, fail once) is test/hostile-tenant.test.ts.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { STAGE_QUEUES } from '@dfq/queue';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleFiles, type FilePart, multipart } from './support/forms.js';
import { EXAMPLE_DIR, TestApi } from './support/harness.js';
import { exampleAtSize, exampleWith, exampleWithDeepMetadata } from './support/hostile-models.js';

const api = new TestApi();
let synthesize: Queue;
let modelId = '';

beforeAll(async () => {
  await api.start();
  synthesize = new Queue(STAGE_QUEUES.synthesize, {
    connection: { url: api.config.redisUrl },
    prefix: api.prefix,
  });
  modelId = (await upload(await exampleFiles(EXAMPLE_DIR))).json().modelId;
});

afterAll(async () => {
  await synthesize.close();
  await api.close();
});

async function upload(files: FilePart[], fields: Record<string, string> = {}, url = '/v1/models') {
  return api.inject({ method: 'POST', url, ...(await multipart(files, fields)) });
}

/** Weight `i` of the first manifest group of a model.json being edited. */
const weight = (json: { weightsManifest: { weights: Record<string, unknown>[] }[] }, i: number) =>
  (json.weightsManifest[0] as { weights: Record<string, unknown>[] }).weights[i] as Record<string, unknown>;

const storedModels = async () =>
  (await readdir(join(api.config.artifactsDir, api.tenantA, 'models')).catch(() => [])).length;

/** Nothing of a refused request may reach the queue. */
const queuedJobs = async () => (await synthesize.getJobCounts()).waiting ?? 0;

describe('a hostile tenant against the API', () => {
  it('refuses "Authorization: Bearer <valid token> junk" (strict Bearer parsing)', async () => {
    for (const header of [`Bearer ${api.tokenA} junk`, `Bearer  ${api.tokenA}`, ` Bearer ${api.tokenA}`]) {
      const res = await api.inject({
        method: 'GET',
        url: '/v1/runs',
        token: null,
        headers: { authorization: header },
      });
      expect(res.statusCode, header).toBe(401);
      expect(res.json().message).toMatch(/malformed Authorization header/);
    }
    const good = await api.inject({ method: 'GET', url: '/v1/runs' });
    expect(good.statusCode).toBe(200);
  });

  it('answers 415 to a text/plain body instead of reading it as a request', async () => {
    const res = await api.inject({
      method: 'POST',
      url: '/v1/runs',
      payload: JSON.stringify({ modelId }),
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().message).toMatch(/send application\/json, or multipart\/form-data/);
  });

  it('answers 422 naming the file and field to malformed models, not 500', async () => {
    const cases: [string, FilePart[], RegExp][] = [
      [
        'a weight of shape [-1]',
        await exampleWith((json) => {
          weight(json, 0).shape = [-1];
          return json;
        }),
        /^model\.json: weightsManifest\[0\]\.weights\[0\]\.shape \(weight stem_conv\/kernel\) is \[-1\]/,
      ],
      [
        'a weight without a shape',
        await exampleWith((json) => {
          delete weight(json, 1).shape;
          return json;
        }),
        /^model\.json: weightsManifest\[0\]\.weights\[1\]\.shape .* is missing or not an array/,
      ],
      ['a model.json that is null', await exampleWith(() => null), /^model\.json: the file is null/],
      [
        'a weight of 2^40 values',
        await exampleWith((json) => {
          weight(json, 0).shape = [2 ** 20, 2 ** 20];
          return json;
        }),
        /holds 1099511627776 values; at most/,
      ],
    ];
    for (const [what, files, message] of cases) {
      const res = await upload(files);
      expect(res.statusCode, `${what}: ${res.body}`).toBe(422);
      expect(res.json().message, what).toMatch(message);
      expect(res.json().message, what).not.toMatch(/\/tmp|dfq-api-test/);
    }
  });

  it('refuses a model.json nested 200,000 levels deep at upload (it overflowed the quantize stage)', async () => {
    const res = await upload(await exampleWithDeepMetadata(200_000));
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().message).toMatch(/^model\.json: the file nests 200002 levels deep; .* at most 64/);
  });

  it('refuses a run whose 8192x8192 input cannot fit a worker, at POST /v1/runs and /v1/schedules (413)', async () => {
    const huge = await upload(await exampleAtSize(8192));
    expect(huge.statusCode, huge.body).toBe(201); // a model may be stored; running it is what costs
    const hugeId = huge.json().modelId;
    const before = await queuedJobs();
    const run = await api.inject({ method: 'POST', url: '/v1/runs', payload: { modelId: hugeId } });
    expect(run.statusCode, run.body).toBe(413);
    expect(run.json().message).toMatch(/8192x8192x1 input needs about [\d.]+ GiB per image/);
    expect(run.json().message).toMatch(/shared worker gives one run, DFQ_WORKER_MEMORY_MIB/);
    const schedule = await api.inject({
      method: 'POST',
      url: '/v1/schedules',
      payload: { modelId: hugeId, cron: '0 3 * * *' },
    });
    expect(schedule.statusCode, schedule.body).toBe(413);
    // A run may not ask for more than a worker gives either.
    const greedy = await api.inject({
      method: 'POST',
      url: '/v1/runs',
      payload: { modelId, options: { memoryBudgetMiB: api.config.workerMemoryMiB + 1 } },
    });
    expect(greedy.statusCode, greedy.body).toBe(413);
    expect(greedy.json().message).toMatch(/options\.memoryBudgetMiB \d+ MiB is above the \d+ MiB/);
    // Uploaded and run in one call: refused, and the model is not kept.
    const models = await storedModels();
    const both = await upload(await exampleAtSize(8192), { options: '{}' }, '/v1/runs');
    expect(both.statusCode, both.body).toBe(413);
    expect(await storedModels()).toBe(models);
    expect(await queuedJobs()).toBe(before);
  });

  it('refuses a seconds field that fires many times in a minute, wherever in the cycle', async () => {
    const res = await api.inject({
      method: 'POST',
      url: '/v1/schedules',
      payload: { modelId, cron: '0-28,59 1/2 * * * *' },
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().message).toMatch(/fires up to 30 times in a minute/);
    const list = await api.inject({ method: 'GET', url: '/v1/schedules' });
    expect(list.json().schedules).toEqual([]);
  });

  it('refuses the unbounded option values of the finding, each named', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ learningRate: 1e308 }, /learningRate/],
      [{ evalLimit: 1e15 }, /evalLimit/],
      [{ inputMean: new Array(100_000).fill(0.5) }, /inputMean/],
    ];
    for (const [options, message] of cases) {
      const res = await api.inject({ method: 'POST', url: '/v1/runs', payload: { modelId, options } });
      expect(res.statusCode, Object.keys(options)[0]).toBe(400);
      expect(res.json().message).toMatch(message);
    }
  });
});

describe('per-tenant limits (429, naming the limit and its setting)', () => {
  const limited = new TestApi();
  let model = '';

  beforeAll(async () => {
    await limited.start(
      {},
      {
        DFQ_TENANT_MAX_ACTIVE_RUNS: '2',
        DFQ_TENANT_MAX_SCHEDULES: '1',
        DFQ_TENANT_MAX_MODELS: '2',
        DFQ_TENANT_TMAC_PER_DAY: '50',
      },
    );
    const res = await limited.inject({
      method: 'POST',
      url: '/v1/models',
      ...(await multipart(await exampleFiles(EXAMPLE_DIR))),
    });
    model = res.json().modelId;
  });

  afterAll(async () => {
    await limited.close();
  });

  const run = (options: object = {}, token?: string) =>
    limited.inject({ method: 'POST', url: '/v1/runs', payload: { modelId: model, options }, token });

  it('refuses a run that would take the tenant past its daily work budget, and charges nothing for it', async () => {
    const greedy = await run({
      images: 4096,
      iterations: 100_000,
      quantizer: 'pmf',
      quantizerSteps: 100_000,
    });
    expect(greedy.statusCode, greedy.body).toBe(429);
    expect(greedy.json().message).toMatch(
      /estimated [\d.e+]+ TMAC .* above its 50 TMAC a day \(DFQ_TENANT_TMAC_PER_DAY\)/,
    );
  });

  it('refuses a third queued run at DFQ_TENANT_MAX_ACTIVE_RUNS=2; another tenant is not held by it', async () => {
    expect((await run({ images: 8, iterations: 5 })).statusCode).toBe(201);
    expect((await run({ images: 8, iterations: 5 })).statusCode).toBe(201);
    const third = await run({ images: 8, iterations: 5 });
    expect(third.statusCode, third.body).toBe(429);
    expect(third.json().message).toMatch(
      /2 runs queued or running, its limit \(DFQ_TENANT_MAX_ACTIVE_RUNS=2\)/,
    );
    // Cancelling one frees its place.
    const listed = await limited.inject({ method: 'GET', url: '/v1/runs' });
    const first = listed.json().runs[0].runId;
    expect((await limited.inject({ method: 'POST', url: `/v1/runs/${first}/cancel` })).statusCode).toBe(202);
    expect((await run({ images: 8, iterations: 5 })).statusCode).toBe(201);
  });

  it('refuses a second schedule at DFQ_TENANT_MAX_SCHEDULES=1, but lets the tenant replace its own', async () => {
    const create = (scheduleId: string) =>
      limited.inject({
        method: 'POST',
        url: '/v1/schedules',
        payload: { scheduleId, cron: '0 3 * * *', modelId: model, options: { images: 8, iterations: 5 } },
      });
    expect((await create('one')).statusCode).toBe(201);
    expect((await create('one')).statusCode).toBe(201);
    const second = await create('two');
    expect(second.statusCode, second.body).toBe(429);
    expect(second.json().message).toMatch(/1 schedules, its limit \(DFQ_TENANT_MAX_SCHEDULES=1\)/);
  });

  it('refuses a third stored model at DFQ_TENANT_MAX_MODELS=2; deleting one makes room', async () => {
    const post = () =>
      exampleFiles(EXAMPLE_DIR).then(async (files) =>
        limited.inject({ method: 'POST', url: '/v1/models', ...(await multipart(files)) }),
      );
    const second = await post();
    expect(second.statusCode).toBe(201);
    const third = await post();
    expect(third.statusCode, third.body).toBe(429);
    expect(third.json().message).toMatch(/stores 2 models, its limit \(DFQ_TENANT_MAX_MODELS=2\)/);
    const removed = await limited.inject({ method: 'DELETE', url: `/v1/models/${second.json().modelId}` });
    expect(removed.statusCode).toBe(204);
    expect((await post()).statusCode).toBe(201);
  });
});
