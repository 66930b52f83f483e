import { type FlowJob, FlowProducer, type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { STAGE_QUEUES, STAGES, type StageName, stageJobId } from './queue-names.js';
import { queuePrefix } from './redis-connection.js';
import type { RunRecord } from './run-registry.js';
import type { StageJobData } from './run-request.js';
import { runPrefix } from './store-keys.js';

/** Retries with backoff for transient faults; completed and failed jobs are trimmed, not kept forever. */
export const STAGE_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
  removeOnFail: { age: 30 * 24 * 3600, count: 10_000 },
};

export function stageJobData(run: RunRecord): StageJobData {
  return {
    runId: run.runId,
    tenant: run.tenant,
    prefix: runPrefix(run.tenant, run.runId),
    modelKey: run.modelKey,
    options: run.options,
    createdAt: run.createdAt,
  };
}

/** A FlowProducer on the run queues' prefix. */
export function createFlowProducer(connection: Redis, prefix: string = queuePrefix()): FlowProducer {
  const flows = new FlowProducer({ connection, prefix });
  flows.on('error', () => {});
  return flows;
}

/** BullMQ's lowest priority (largest number it takes). */
const LOWEST_PRIORITY = 2 ** 21;

/**
 * The BullMQ priority of a run whose tenant already has `rank` runs queued or running: 1 for a
 * tenant's first, 2 for its second, and so on. Jobs of equal priority go first in, first out, so
 * every tenant's first run goes before any tenant's second: round-robin by BullMQ's own
 * prioritized queue, with no scheduler of ours.
 */
export function fairPriority(rank: number): number {
  return Math.min(LOWEST_PRIORITY, 1 + Math.max(0, Math.floor(rank)));
}

/**
 * Enqueues a run as one BullMQ flow: quantize (parent) <- calibrate <- synthesize. A parent
 * starts only when its child has completed, and reads the child's return value (artifact refs).
 */
export async function enqueueRun(flows: FlowProducer, run: RunRecord, priority = 1): Promise<void> {
  const data = stageJobData(run);
  const node = (stage: StageName, children?: FlowJob[]): FlowJob => ({
    name: stage,
    queueName: STAGE_QUEUES[stage],
    data,
    opts: {
      ...STAGE_JOB_OPTIONS,
      jobId: stageJobId(run.runId, stage),
      failParentOnFailure: true,
      priority,
    },
    ...(children ? { children } : {}),
  });
  await flows.add(node('quantize', [node('calibrate', [node('synthesize')])]));
}

export type RunState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface StageStatus {
  stage: StageName;
  state: string;
  progress: unknown;
  attempts: number;
  failedReason: string | null;
}

export interface RunStatus {
  state: RunState;
  stages: StageStatus[];
  failedReason: string | null;
}

/** Reads the state of a run's three jobs. The queues are created once and reused by the caller. */
export class RunStatusReader {
  readonly queues: Record<StageName, Queue>;

  constructor(connection: Redis, prefix: string = queuePrefix()) {
    this.queues = {
      synthesize: new Queue(STAGE_QUEUES.synthesize, { connection, prefix }),
      calibrate: new Queue(STAGE_QUEUES.calibrate, { connection, prefix }),
      quantize: new Queue(STAGE_QUEUES.quantize, { connection, prefix }),
    };
    for (const q of Object.values(this.queues)) q.on('error', () => {});
  }

  async status(run: RunRecord): Promise<RunStatus> {
    const stages: StageStatus[] = [];
    for (const stage of STAGES) {
      const id = stageJobId(run.runId, stage);
      // State before data: BullMQ writes failedReason and moves the job to failed in one script, so
      // a job already seen as failed has its reason in the data read next. The other order could
      // read the data just before the failure and report a failed run without its reason.
      const queueState = await this.queues[stage].getJobState(id);
      const job = await this.queues[stage].getJob(id);
      stages.push({
        stage,
        state: job ? queueState : 'missing',
        progress: job?.progress ?? null,
        attempts: job?.attemptsMade ?? 0,
        failedReason: job?.failedReason ?? null,
      });
    }
    const failed = stages.find((s) => s.state === 'failed');
    let state: RunState;
    if (run.cancelled) state = 'cancelled';
    else if (failed) state = 'failed';
    else if (stages.every((s) => s.state === 'completed')) state = 'completed';
    else if (stages.some((s) => s.state === 'active' || s.state === 'completed')) state = 'running';
    else state = 'queued';
    return { state, stages, failedReason: failed?.failedReason ?? null };
  }

  /** Takes a run's waiting jobs off the queues; an active stage stops at its next progress check. */
  async removePending(run: RunRecord): Promise<void> {
    for (const stage of [...STAGES].reverse()) {
      const job = await this.queues[stage].getJob(stageJobId(run.runId, stage));
      const state = job ? await job.getState() : 'missing';
      if (
        job &&
        (state === 'waiting' ||
          state === 'waiting-children' ||
          state === 'delayed' ||
          state === 'prioritized')
      ) {
        await job.remove({ removeChildren: true }).catch(() => {});
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.queues).map((q) => q.close()));
  }
}
