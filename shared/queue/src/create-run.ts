import { randomUUID } from 'node:crypto';
import type { FlowProducer } from 'bullmq';
import { enqueueRun } from './run-flow.js';
import type { RunRecord, RunRegistry } from './run-registry.js';
import type { RunOptions } from './run-request.js';

export interface NewRun {
  tenant: string;
  /** Store key of the model.json the run quantizes (already in the artifact store). */
  modelKey: string;
  options: RunOptions;
  source: RunRecord['source'];
  scheduleId?: string;
}

/** Registers a run for its tenant and enqueues its flow; the run id is what clients see. */
export async function createRun(
  deps: { registry: RunRegistry; flows: FlowProducer },
  run: NewRun,
): Promise<RunRecord> {
  const record: RunRecord = {
    runId: randomUUID(),
    tenant: run.tenant,
    modelKey: run.modelKey,
    options: run.options,
    createdAt: new Date().toISOString(),
    source: run.source,
    scheduleId: run.scheduleId ?? null,
    cancelled: false,
  };
  await deps.registry.create(record);
  await enqueueRun(deps.flows, record);
  return record;
}
