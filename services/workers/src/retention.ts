// Retention: run artifacts (synthetic images included: a model-inversion product, as sensitive as
// the model) and trained generators are deleted once older than the retention period. Fired by a
// BullMQ job scheduler on the schedules queue, so one sweep runs at a time across all workers.
import { readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type RunRegistry, type RunStatusReader, runPrefix } from '@dfq/queue';

export const RETENTION_JOB = 'retention';
export const RETENTION_SCHEDULER_ID = 'dfq-retention';
/** How often the sweep runs. */
export const RETENTION_EVERY_MS = 3600_000;

export interface RetentionSweep {
  runsDeleted: number;
  runsKeptActive: number;
  generatorsDeleted: number;
}

/** Files below `folder` (recursively) last written before `cutoffMs`, deleted; returns how many. */
async function deleteOlderFiles(folder: string, cutoffMs: number): Promise<number> {
  const names = await readdir(folder, { recursive: true }).catch(() => [] as string[]);
  let deleted = 0;
  for (const name of names) {
    const path = join(folder, name);
    const info = await stat(path).catch(() => null);
    if (info?.isFile() && info.mtimeMs < cutoffMs) {
      await rm(path, { force: true });
      deleted++;
    }
  }
  return deleted;
}

/** Deletes every finished run created before `cutoffMs`, with its artifacts, and generators older than it. */
export async function sweepRetention(
  deps: { artifactsDir: string; registry: RunRegistry; status: RunStatusReader },
  cutoffMs: number,
): Promise<RetentionSweep> {
  const sweep: RetentionSweep = { runsDeleted: 0, runsKeptActive: 0, generatorsDeleted: 0 };
  // Keys are a tenant name and a uuid (checked where they are made), so joining them stays inside.
  const root = resolve(deps.artifactsDir);
  for (const tenant of await deps.registry.tenants()) {
    for (const runId of await deps.registry.createdBefore(tenant, cutoffMs)) {
      const run = await deps.registry.get(tenant, runId);
      if (run) {
        const { state } = await deps.status.status(run);
        // A run still queued or running past the period is left to finish (or be cancelled) first.
        if (state === 'queued' || state === 'running') {
          sweep.runsKeptActive++;
          continue;
        }
        await deps.status.removePending(run);
      }
      await rm(join(root, runPrefix(tenant, runId)), { recursive: true, force: true });
      await deps.registry.remove(tenant, runId);
      sweep.runsDeleted++;
    }
  }
  const tenants = await readdir(root).catch(() => [] as string[]);
  for (const tenant of tenants)
    sweep.generatorsDeleted += await deleteOlderFiles(join(root, tenant, 'generators'), cutoffMs);
  return sweep;
}
