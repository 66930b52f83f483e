import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { asJobProgress } from '@dfq/contract';
import { stageJobId } from '@dfq/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA, reproducible, TestCluster, type WorkerProcess } from './support/cluster.js';

const _run = promisify(execFile);
const cluster = new TestCluster();

beforeAll(async () => {
  await cluster.init();
});

afterAll(async () => {
  await cluster.close();
});

/**
 * A worker logs "job … completed" from BullMQ's completed event, which fires after the run's
 * state is already written; stopping the workers first means every such line has been printed.
 */
async function stopAndReadLogs(workers: WorkerProcess[]): Promise<string> {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
  return workers.map((w) => w.output()).join('\n');
}

async function report(prefix: string) {
  return JSON.parse(await readFile(join(cluster.artifactsDir, prefix, 'report.json'), 'utf8'));
}

describe('runs through BullMQ workers over the real Redis', () => {
  it('a queued run reports exactly what the embedded dfq run reports for the same seed', async () => {
    cluster.startWorker('synthesize', 'calibrate', 'quantize');
    const modelKey = await cluster.uploadExampleModel('acme');
    const options = { images: 16, iterations: 8, evaluate: true, evalLimit: 500, seed: 9 };
    const queued = await cluster.submit('acme', modelKey, options);
    await cluster.waitForState('acme', queued.runId, ['completed'], 120_000);

    const embedded = await cluster.embeddedRun([
      ...['--images', '16', '--iterations', '8', '--eval', DATA, '--eval-limit', '500', '--seed', '9'],
    ]);
    const distributed = await report(`acme/runs/${queued.runId}`);
    expect(reproducible(distributed)).toEqual(reproducible(embedded));
    expect(distributed.evaluation.samples).toBe(500);
  });

  it('a worker killed with SIGKILL mid-synthesis loses nothing: the stage reruns elsewhere and the run completes once', async () => {
    for (const w of cluster.workers) w.child.kill('SIGTERM');
    await Promise.all(cluster.workers.map((w) => w.exited));
    const victim = cluster.startWorker('synthesize');
    const modelKey = await cluster.uploadExampleModel('acme', 'kill');
    const queued = await cluster.submit('acme', modelKey, { images: 8, iterations: 400, seed: 3 });
    const synthJob = () => cluster.status.queues.synthesize.getJob(stageJobId(queued.runId, 'synthesize'));
    // Kill only once synthesis is visibly under way.
    for (let i = 0; ; i++) {
      const progress = asJobProgress((await synthJob())?.progress)?.synthesis;
      if ((progress?.iteration ?? 0) >= 5) break;
      if (i > 400) throw new Error(`synthesis never started: ${victim.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    victim.child.kill('SIGKILL');
    await victim.exited;
    const survivors = [cluster.startWorker('synthesize'), cluster.startWorker('calibrate', 'quantize')];
    await cluster.waitForState('acme', queued.runId, ['completed'], 150_000);

    const logs = await stopAndReadLogs(survivors);
    expect(logs.match(new RegExp(`synthesize job ${queued.runId}-synthesize completed`, 'g'))).toHaveLength(
      1,
    );
    expect(logs.match(new RegExp(`quantize job ${queued.runId}-quantize completed`, 'g'))).toHaveLength(1);
    const files = (
      await readdir(join(cluster.artifactsDir, 'acme/runs', queued.runId), { recursive: true })
    ).sort();
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(files.filter((f) => /image-\d{4}\.png$/.test(f))).toHaveLength(8);
    for (const f of [
      'report.json',
      'images/images.npy',
      'images/contact-sheet.png',
      'calibration/profile.json',
      'quantized-model/model.json',
    ]) {
      expect(files).toContain(f);
    }
    expect((await report(`acme/runs/${queued.runId}`)).synthesis.iterations).toBe(400);
  });

  it('SIGTERM lets a worker finish its job or hand it back, and exit cleanly; the run still completes once', async () => {
    for (const w of cluster.workers) if (w.child.exitCode === null) w.child.kill('SIGTERM');
    await Promise.all(cluster.workers.map((w) => w.exited));
    const stopping = cluster.startWorker('synthesize');
    const modelKey = await cluster.uploadExampleModel('acme', 'term');
    const queued = await cluster.submit('acme', modelKey, {
      images: 8,
      iterations: 400,
      seed: 4,
      saveImages: false,
    });
    const synthJob = () => cluster.status.queues.synthesize.getJob(stageJobId(queued.runId, 'synthesize'));
    for (let i = 0; ; i++) {
      const progress = asJobProgress((await synthJob())?.progress)?.synthesis;
      if ((progress?.iteration ?? 0) >= 3) break;
      if (i > 400) throw new Error(`synthesis never started: ${stopping.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const signalled = Date.now();
    stopping.child.kill('SIGTERM');
    expect(await stopping.exited).toBe(0);
    // DFQ_SHUTDOWN_TIMEOUT_MS is 5 s in these tests: the worker may not hold on longer than that.
    expect(Date.now() - signalled).toBeLessThan(15_000);
    expect(stopping.output()).toMatch(/SIGTERM: finishing current jobs/);
    const survivors = [cluster.startWorker('synthesize', 'calibrate', 'quantize')];
    await cluster.waitForState('acme', queued.runId, ['completed'], 150_000);
    const logs = stopping.output() + (await stopAndReadLogs(survivors));
    expect(logs.split(`quantize job ${queued.runId}-quantize completed`).length - 1).toBe(1);
  });

  it('20 runs submitted at once against two workers of each kind all complete, none lost or duplicated', async () => {
    for (const w of cluster.workers) if (w.child.exitCode === null) w.child.kill('SIGTERM');
    await Promise.all(cluster.workers.map((w) => w.exited));
    const pool = [
      cluster.startWorker('synthesize'),
      cluster.startWorker('synthesize'),
      cluster.startWorker('calibrate'),
      cluster.startWorker('calibrate'),
      cluster.startWorker('quantize'),
      cluster.startWorker('quantize'),
    ];
    const modelKey = await cluster.uploadExampleModel('burst');
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        cluster.submit('burst', modelKey, { images: 2, iterations: 1, seed: i, saveImages: false }),
      ),
    );
    await Promise.all(runs.map((r) => cluster.waitForState('burst', r.runId, ['completed'], 240_000)));
    const listed = await cluster.registry.list('burst');
    expect(listed.map((r) => r.runId).sort()).toEqual(runs.map((r) => r.runId).sort());
    const logs = await stopAndReadLogs(pool);
    for (const r of runs) {
      for (const stage of ['synthesize', 'calibrate', 'quantize']) {
        expect(logs.split(`${stage} job ${r.runId}-${stage} completed`).length - 1).toBe(1);
      }
      expect((await report(`burst/runs/${r.runId}`)).config.seed).toBe(runs.indexOf(r));
    }
    // Both workers of each kind took part.
    for (const w of pool) expect(w.output()).toMatch(/job .* completed/);
  });

  it('a model that is not valid fails its run once, clearly, and leaves other runs alone', async () => {
    cluster.startWorker('synthesize', 'calibrate', 'quantize');
    const good = await cluster.uploadExampleModel('acme', 'good');
    const bad = await cluster.uploadExampleModel('acme', 'bad');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      join(cluster.artifactsDir, 'acme/models/bad/model.json'),
      '{"format": "layers-model", "modelTopology": ',
    );
    const badRun = await cluster.submit('acme', bad, { images: 2, iterations: 1 });
    const goodRun = await cluster.submit('acme', good, { images: 2, iterations: 1, saveImages: false });
    const failed = await cluster.waitForState('acme', badRun.runId, ['failed'], 60_000);
    expect(failed.failedReason).toMatch(/not valid JSON/);
    expect(failed.stages.find((s) => s.stage === 'synthesize')?.attempts).toBe(1);
    await cluster.waitForState('acme', goodRun.runId, ['completed'], 60_000);
  });
});

describe('schedules', () => {
  it('a schedule fires runs until it is deleted', async () => {
    const { Schedules, runOptionsSchema } = await import('@dfq/queue');
    const schedules = new Schedules(cluster.redis, cluster.prefix);
    cluster.startWorker('schedules');
    const modelKey = await cluster.uploadExampleModel('clock');
    await schedules.upsert(
      'clock',
      'every-second',
      '* * * * * *',
      'UTC',
      modelKey,
      runOptionsSchema.parse({ images: 2, iterations: 1 }),
    );
    expect((await schedules.list('clock')).map((s) => s.scheduleId)).toEqual(['every-second']);
    const scheduled = async () =>
      (await cluster.registry.list('clock')).filter(
        (r) => r.source === 'schedule' && r.scheduleId === 'every-second',
      );
    for (let i = 0; (await scheduled()).length < 2; i++) {
      if (i > 100) throw new Error('the schedule never fired twice');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await schedules.remove('clock', 'every-second')).toBe(true);
    expect(await schedules.list('clock')).toEqual([]);
    await new Promise((r) => setTimeout(r, 1500)); // a job fired just before removal may still land
    const settled = (await scheduled()).length;
    await new Promise((r) => setTimeout(r, 3000));
    expect((await scheduled()).length).toBe(settled);
    await schedules.close();
  });
});
