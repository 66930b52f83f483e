import { readFile } from 'node:fs/promises';
import type { ArtifactStore } from '@dfq/core';
import type { RunRecord } from '@dfq/queue';
import { modelIdOf, runPrefix } from '../keys.js';

/** The fields of a run every listing shows; the store key of its model stays internal. */
export function runSummary(run: RunRecord) {
  return {
    runId: run.runId,
    modelId: modelIdOf(run.modelKey),
    createdAt: run.createdAt,
    source: run.source,
    scheduleId: run.scheduleId,
  };
}

/** The run's report.json, parsed, or null while the run has not written it. */
export async function readReport(store: ArtifactStore, run: RunRecord): Promise<unknown> {
  const path = store.path(`${runPrefix(run.tenant, run.runId)}/report.json`);
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    // Reports are written atomically, so this is a damaged file, not one being written.
    return null;
  }
}
