import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  createFlowProducer,
  createRedis,
  createRun,
  PRIVATE_UMASK,
  queuePrefix,
  RunRegistry,
  RunStatusReader,
  SCHEDULE_QUEUE,
  type ScheduleJobData,
  STAGE_QUEUES,
  type StageName,
  TenantLimitError,
  TenantUsage,
  tenantLimitsFromEnv,
} from '@dfq/queue';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { RETENTION_EVERY_MS, RETENTION_JOB, RETENTION_SCHEDULER_ID, sweepRetention } from './retention.js';
import { handBackFlag, type WorkerSettings, workerSettings } from './worker-env.js';

export type WorkerKind = StageName | 'schedules';
export const WORKER_KINDS: WorkerKind[] = ['synthesize', 'calibrate', 'quantize', 'schedules'];

export interface RunningWorker {
  kind: WorkerKind;
  worker: Worker;
  /** Stops taking jobs, lets the current one finish (or hands it back after the timeout), closes Redis. */
  close(): Promise<void>;
}

type Log = (message: string) => void;

function processorFile(stage: StageName): string {
  return fileURLToPath(new URL(`./processors/${stage}.js`, import.meta.url));
}

/**
 * Starts one worker. Stage workers run each job in a forked sandbox process, one at a time:
 * tensor work blocks its event loop for long stretches, and a blocked loop cannot renew the
 * job lock. The schedules worker is light: it turns each fired schedule into a run.
 */
export function startWorker(
  kind: WorkerKind,
  settings: WorkerSettings = workerSettings(),
  log: Log = () => {},
): RunningWorker {
  const connection = createRedis(settings.redisUrl, 'worker');
  const common = {
    connection,
    prefix: queuePrefix(),
    concurrency: 1,
    lockDuration: settings.lockDurationMs,
    stalledInterval: settings.stalledIntervalMs,
    // A worker killed mid-job leaves it stalled; two such deaths are tolerated before the job fails.
    maxStalledCount: 2,
  };
  let worker: Worker;
  let extra: { close(): Promise<void> } | undefined;
  if (kind === 'schedules') {
    const producer = createRedis(settings.redisUrl, 'worker');
    const flows = createFlowProducer(producer);
    const registry = new RunRegistry(producer);
    const usage = new TenantUsage(producer);
    const limits = tenantLimitsFromEnv();
    const status = new RunStatusReader(producer);
    worker = new Worker(
      SCHEDULE_QUEUE,
      async (job: Job) => {
        if (job.name === RETENTION_JOB) {
          const cutoff = Date.now() - settings.retentionDays * 86_400_000;
          const sweep = await sweepRetention(
            { artifactsDir: settings.artifactsDir, registry, status },
            cutoff,
          );
          log(`retention: ${JSON.stringify(sweep)}`);
          return sweep;
        }
        const { tenant, scheduleId, modelKey, options, tmac } = job.data as ScheduleJobData;
        // A fired run meets the tenant's limits as an API request does; over them, this firing is
        // skipped (failed once, not retried) and the schedule fires again next time.
        const run = await createRun(
          { registry, flows, admission: { usage, limits } },
          { tenant, modelKey, options, source: 'schedule', scheduleId, tmac: tmac ?? 0 },
        ).catch((err) => {
          throw err instanceof TenantLimitError ? new UnrecoverableError(err.message) : err;
        });
        log(`schedule ${tenant}/${scheduleId} fired: run ${run.runId}`);
        return { runId: run.runId };
      },
      common,
    );
    const retention = new Queue(SCHEDULE_QUEUE, { connection: producer, prefix: queuePrefix() });
    retention.on('error', () => {});
    if (settings.retentionDays > 0)
      void retention
        .upsertJobScheduler(
          RETENTION_SCHEDULER_ID,
          { every: RETENTION_EVERY_MS },
          { name: RETENTION_JOB, opts: { removeOnComplete: 100, removeOnFail: 100 } },
        )
        .catch((err) => log(`retention scheduler: ${(err as Error).message}`));
    extra = {
      close: async () => {
        await retention.close();
        await status.close();
        await usage.close();
        await flows.close();
        producer.disconnect();
      },
    };
  } else {
    worker = new Worker(STAGE_QUEUES[kind], processorFile(kind), { ...common, useWorkerThreads: false });
  }
  worker.on('error', (err) => log(`${kind} worker error: ${err.message}`));
  worker.on('failed', (job, err) =>
    log(`${kind} job ${job?.id} failed (attempt ${job?.attemptsMade}): ${err.message}`),
  );
  worker.on('completed', (job) => log(`${kind} job ${job.id} completed`));

  return {
    kind,
    worker,
    async close() {
      const closing = worker.close();
      const timeout = new Promise<'timeout'>((r) =>
        setTimeout(() => r('timeout'), settings.shutdownTimeoutMs).unref(),
      );
      if ((await Promise.race([closing, timeout])) === 'timeout') {
        log(
          `${kind} worker: current job did not finish in ${settings.shutdownTimeoutMs} ms; handing it back`,
        );
        writeFileSync(handBackFlag(process.pid), '');
        await closing;
        rmSync(handBackFlag(process.pid), { force: true });
      }
      await extra?.close();
      connection.disconnect();
    },
  };
}

/** Starts workers of the given kinds and closes them all on SIGINT/SIGTERM. */
export function startWorkers(kinds: WorkerKind[], log: Log = (m) => console.error(m)): RunningWorker[] {
  const settings = workerSettings();
  // Inherited by the stage sandboxes this process forks.
  process.umask(PRIVATE_UMASK);
  const workers = kinds.map((k) => startWorker(k, settings, log));
  log(
    `dfq workers started: ${kinds.join(', ')} (redis ${settings.redisUrl}, artifacts ${settings.artifactsDir})`,
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: finishing current jobs`);
    await Promise.all(workers.map((w) => w.close()));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  return workers;
}
