import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  createFlowProducer,
  createRedis,
  createRun,
  queuePrefix,
  RunRegistry,
  SCHEDULE_QUEUE,
  type ScheduleJobData,
  STAGE_QUEUES,
  type StageName,
} from '@dfq/queue';
import { type Job, Worker } from 'bullmq';
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
    worker = new Worker(
      SCHEDULE_QUEUE,
      async (job: Job<ScheduleJobData>) => {
        const { tenant, scheduleId, modelKey, options } = job.data;
        const run = await createRun(
          { registry, flows },
          { tenant, modelKey, options, source: 'schedule', scheduleId },
        );
        log(`schedule ${tenant}/${scheduleId} fired: run ${run.runId}`);
        return { runId: run.runId };
      },
      common,
    );
    extra = {
      close: async () => {
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
