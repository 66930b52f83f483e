import { randomUUID } from 'node:crypto';
import type { FlowProducer } from 'bullmq';
import { enqueueRun, fairPriority } from './run-flow.js';
import type { RunRecord, RunRegistry } from './run-registry.js';
import type { RunOptions } from './run-request.js';
import type { TenantLimits, TenantUsage } from './tenant-limits.js';

export interface NewRun {
  tenant: string;
  /** Store key of the model.json the run quantizes (already in the artifact store). */
  modelKey: string;
  options: RunOptions;
  source: RunRecord['source'];
  scheduleId?: string;
  /** Estimated work (TMAC, runCostTmac), charged to the tenant's day when limits apply. */
  tmac?: number;
}

/** With usage and limits, a run is queued only within its tenant's limits (TenantLimitError otherwise). */
export interface RunAdmission {
  usage: TenantUsage;
  limits: TenantLimits;
}

/** Registers a run for its tenant and enqueues its flow; the run id is what clients see. */
export async function createRun(
  deps: { registry: RunRegistry; flows: FlowProducer; admission?: RunAdmission },
  run: NewRun,
): Promise<RunRecord> {
  const runId = randomUUID();
  const tmac = run.tmac ?? 0;
  // Fair share: a tenant's k-th active run waits behind every tenant's earlier ones (BullMQ priorities).
  const rank = deps.admission
    ? await deps.admission.usage.claim(run.tenant, runId, tmac, deps.admission.limits)
    : 0;
  const record: RunRecord = {
    runId,
    tenant: run.tenant,
    modelKey: run.modelKey,
    options: run.options,
    createdAt: new Date().toISOString(),
    source: run.source,
    scheduleId: run.scheduleId ?? null,
    cancelled: false,
  };
  try {
    await deps.registry.create(record);
    await enqueueRun(deps.flows, record, fairPriority(rank));
    await deps.admission?.usage.queued(run.tenant, runId);
  } catch (err) {
    await deps.admission?.usage.release(run.tenant, runId, tmac).catch(() => {});
    throw err;
  }
  return record;
}
