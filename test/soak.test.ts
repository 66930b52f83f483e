// A bounded soak of the service on loopback: three tenants send 200 requests over a few minutes,
// mixing valid runs, hostile uploads, option and schedule abuse, against the real API, workers and
// Redis. Throughout, /healthz answers and no worker process grows past its memory budget (RSS
// sampled); at the end every refusal was a 4xx with a message, and every accepted run (from the
// API or fired by a schedule) finished exactly once.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SCHEDULE_QUEUE, STAGE_QUEUES, STAGES, stageJobId } from '@dfq/queue';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_DIR, TestCluster } from './support/cluster.js';

const cluster = new TestCluster();
const WORKER_MEMORY_MIB = 2048;
const TENANTS = ['soak_a', 'soak_b', 'soak_c'] as const;
const token = (tenant: string) => `tok-${tenant}`;
const QUICK = { images: 2, iterations: 2, calibration: 'minmax' };
const REQUESTS = 200;
let url = '';
let workerPid = 0;

beforeAll(async () => {
  await cluster.init();
  url = await cluster.startApi(TENANTS.map((t) => `${token(t)}=${t}`).join(','), {
    DFQ_WORKER_MEMORY_MIB: String(WORKER_MEMORY_MIB),
    DFQ_TENANT_MAX_ACTIVE_RUNS: '6',
    DFQ_TENANT_MAX_SCHEDULES: '2',
  });
  const worker = cluster.startWorker('synthesize', 'calibrate', 'quantize', 'schedules');
  workerPid = worker.child.pid as number;
});

afterAll(async () => {
  await cluster.close();
});

interface Answer {
  what: string;
  status: number;
  body: Record<string, unknown>;
}

async function call(tenant: string, what: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(`${url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token(tenant)}`,
      ...(typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text);
  } catch {
    body = { text };
  }
  return { what, status: res.status, body };
}

/** Example model files with model.json as given, as a multipart body. */
async function modelForm(modelJson?: string): Promise<FormData> {
  const form = new FormData();
  const json = modelJson ?? (await readFile(join(EXAMPLE_DIR, 'model.json'), 'utf8'));
  form.append('files', new Blob([json]), 'model.json');
  form.append(
    'files',
    new Blob([await readFile(join(EXAMPLE_DIR, 'group1-shard1of1.bin'))]),
    'group1-shard1of1.bin',
  );
  return form;
}

/** The RSS (MiB) of the worker process and each stage sandbox it forked. */
function workerRssMiB(): number[] {
  const pids = [workerPid];
  try {
    pids.push(
      ...execFileSync('pgrep', ['-P', String(workerPid)])
        .toString()
        .split('\n')
        .filter(Boolean)
        .map(Number),
    );
  } catch {
    // no children at the moment
  }
  return pids.flatMap((pid) => {
    try {
      const status = execFileSync('cat', [`/proc/${pid}/status`]).toString();
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
      return kb ? [Number(kb) / 1024] : [];
    } catch {
      return [];
    }
  });
}

describe('soak: 200 mixed requests from 3 tenants', () => {
  it('keeps /healthz up, workers within budget, refusals 4xx with a message, and every run exactly once', async () => {
    const example = await readFile(join(EXAMPLE_DIR, 'model.json'), 'utf8');
    const huge = (() => {
      const json = JSON.parse(example);
      json.modelTopology.config.layers[0].config.batch_input_shape = [null, 8192, 8192, 1];
      return JSON.stringify(json);
    })();
    const deep = example.replace(
      '"userDefinedMetadata": {',
      `"userDefinedMetadata": {"x": ${'['.repeat(100_000)}${']'.repeat(100_000)}, `,
    );
    const models: Record<string, string> = {};
    for (const tenant of TENANTS) {
      const res = await call(tenant, 'upload', '/v1/models', { method: 'POST', body: await modelForm() });
      expect(res.status).toBe(201);
      models[tenant] = res.body.modelId as string;
    }

    // Kinds of request, in rotation; each returns the answer (and says what it was).
    const kinds: ((tenant: string, i: number) => Promise<Answer>)[] = [
      (t, i) =>
        call(t, 'valid run', '/v1/runs', {
          method: 'POST',
          body: JSON.stringify({ modelId: models[t], options: { ...QUICK, seed: i } }),
        }),
      async (t) =>
        call(t, '8192x8192 upload+run', '/v1/runs', { method: 'POST', body: await modelForm(huge) }),
      async (t) => call(t, 'deep JSON upload', '/v1/models', { method: 'POST', body: await modelForm(deep) }),
      async (t) =>
        call(t, 'null model.json', '/v1/models', { method: 'POST', body: await modelForm('null') }),
      (t) =>
        call(t, 'option abuse', '/v1/runs', {
          method: 'POST',
          body: JSON.stringify({ modelId: models[t], options: { learningRate: 1e308, evalLimit: 1e15 } }),
        }),
      (t) =>
        call(t, 'dense cron', '/v1/schedules', {
          method: 'POST',
          body: JSON.stringify({ modelId: models[t], cron: '0-28,59 1/2 * * * *' }),
        }),
      (t, i) =>
        call(t, 'schedule', '/v1/schedules', {
          method: 'POST',
          body: JSON.stringify({
            scheduleId: `s${i % 7}`,
            modelId: models[t],
            cron: '* * * * *',
            options: QUICK,
          }),
        }),
      (t) =>
        call(t, 'text/plain', '/v1/runs', {
          method: 'POST',
          body: 'x',
          headers: { 'content-type': 'text/plain' },
        }),
      (t) => call(t, 'bad bearer', '/v1/runs', { headers: { authorization: `Bearer ${token(t)} junk` } }),
      (t) => call(t, 'list runs', '/v1/runs'),
    ];

    let healthFailures = 0;
    let healthChecks = 0;
    let peakRss = 0;
    const sampler = setInterval(() => {
      healthChecks++;
      fetch(`${url}/healthz`).then(
        (r) => {
          if (r.status !== 200) healthFailures++;
        },
        () => healthFailures++,
      );
      peakRss = Math.max(peakRss, ...workerRssMiB());
    }, 250);

    const answers: Answer[] = [];
    try {
      // Four requests in flight at a time, tenants and kinds in rotation, paced over a few minutes.
      for (let i = 0; i < REQUESTS; i += 4) {
        const batch = [0, 1, 2, 3].map((k) => {
          const n = i + k;
          const tenant = TENANTS[n % TENANTS.length] as string;
          return (kinds[n % kinds.length] as (t: string, i: number) => Promise<Answer>)(tenant, n);
        });
        answers.push(...(await Promise.all(batch)));
        await new Promise((r) => setTimeout(r, 2500));
      }
      // Stop the schedules so the run count settles, then let every accepted run finish.
      for (const tenant of TENANTS)
        for (let s = 0; s < 7; s++)
          await call(tenant, 'delete schedule', `/v1/schedules/s${s}`, { method: 'DELETE' });
      const deadline = Date.now() + 300_000;
      for (;;) {
        const states = await Promise.all(
          TENANTS.map(async (t) => (await call(t, 'list', '/v1/runs')).body.runs as { state: string }[]),
        );
        if (states.flat().every((r) => r.state === 'completed' || r.state === 'failed')) break;
        if (Date.now() > deadline) throw new Error('runs did not finish within 5 minutes of the soak');
        await new Promise((r) => setTimeout(r, 1000));
      }
    } finally {
      clearInterval(sampler);
    }

    const statuses: Record<string, number> = {};
    for (const a of answers) statuses[`${a.what} ${a.status}`] = (statuses[`${a.what} ${a.status}`] ?? 0) + 1;
    console.log(
      `soak: ${JSON.stringify({ statuses, healthChecks, healthFailures, peakRssMiB: Math.round(peakRss) })}`,
    );
    expect(answers).toHaveLength(REQUESTS);
    // No request was a server error; every refusal is a 4xx with a message.
    expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    for (const a of answers.filter((x) => x.status >= 400)) {
      expect(a.status, a.what).toBeLessThan(500);
      expect(typeof a.body.message, `${a.what}: ${JSON.stringify(a.body)}`).toBe('string');
      expect((a.body.message as string).length, a.what).toBeGreaterThan(10);
    }
    const accepted = answers.filter((a) => a.what === 'valid run' && a.status === 201);
    expect(accepted.length).toBeGreaterThan(5);
    expect(
      answers.filter((a) => a.what === 'valid run' && a.status !== 201).every((a) => a.status === 429),
    ).toBe(true);
    // Schedule ids rotate past the cap of 2 per tenant: some are refused with 429, none otherwise.
    expect(answers.filter((a) => a.what === 'schedule' && a.status === 429).length).toBeGreaterThan(0);
    expect(
      answers.filter((a) => a.what === 'schedule').every((a) => a.status === 201 || a.status === 429),
    ).toBe(true);
    for (const kind of [
      '8192x8192 upload+run',
      'deep JSON upload',
      'null model.json',
      'option abuse',
      'dense cron',
      'text/plain',
      'bad bearer',
    ])
      expect(
        answers.filter((a) => a.what === kind).every((a) => a.status >= 400 && a.status < 500),
        kind,
      ).toBe(true);

    expect(healthChecks).toBeGreaterThan(100);
    expect(healthFailures).toBe(0);
    expect(peakRss).toBeGreaterThan(50); // the sampler saw the workers
    expect(peakRss).toBeLessThan(WORKER_MEMORY_MIB);

    // Every accepted run, from the API or a schedule, is listed once and ran each stage once.
    const queue = (name: string) => new Queue(name, { connection: cluster.redis, prefix: cluster.prefix });
    const stageQueues = STAGES.map((stage) => [stage, queue(STAGE_QUEUES[stage])] as const);
    const schedules = queue(SCHEDULE_QUEUE);
    try {
      const listed = (
        await Promise.all(
          TENANTS.map(
            async (t) =>
              (
                await call(t, 'list', '/v1/runs')
              ).body.runs as { runId: string; source: string; state: string }[],
          ),
        )
      ).flat();
      const ids = listed.map((r) => r.runId);
      expect(new Set(ids).size).toBe(ids.length);
      for (const a of accepted) expect(ids).toContain(a.body.runId);
      expect(listed.filter((r) => r.source === 'api')).toHaveLength(accepted.length);
      const fired = (await schedules.getJobs(['completed'])).filter((j) => j.name === 'scheduled-run');
      expect(listed.filter((r) => r.source === 'schedule')).toHaveLength(fired.length);
      for (const run of listed) {
        expect(run.state, run.runId).toBe('completed');
        for (const [stage, q] of stageQueues) {
          const job = await q.getJob(stageJobId(run.runId, stage));
          expect(job?.attemptsMade, `${run.runId} ${stage}`).toBe(1);
        }
      }
    } finally {
      for (const [, q] of stageQueues) await q.close();
      await schedules.close();
    }
  }, 900_000);
});
