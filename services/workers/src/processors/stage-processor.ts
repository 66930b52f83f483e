import { existsSync } from 'node:fs';
import { ArtifactStore, backendFromEnv, ModelLoadError, type RunEvent, type StageEnv } from '@dfq/core';
import { createRedis, RunRegistry, type StageJobData, toRunConfig } from '@dfq/queue';
import { type SandboxedJob, UnrecoverableError } from 'bullmq';
import { handBackFlag, workerSettings } from '../worker-env.js';

// A sandbox whose parent worker died (SIGKILL) must not run on as an orphan: the job is
// retried elsewhere once its lock expires.
process.on('disconnect', () => process.exit(1));

class RunCancelledError extends Error {
  constructor(runId: string) {
    super(`run ${runId} was cancelled`);
  }
}

/**
 * The shell every stage processor shares: builds the run's config and artifact store from
 * job data, forwards progress to the job at most every second, watches for cancellation, and
 * turns bad input into UnrecoverableError so it fails once instead of being retried.
 */
export async function runStage<T>(
  job: SandboxedJob<StageJobData>,
  stage: (config: ReturnType<typeof toRunConfig>, env: StageEnv) => Promise<T>,
): Promise<T> {
  const settings = workerSettings();
  const store = new ArtifactStore(settings.artifactsDir);
  const { data } = job;
  const requested = toRunConfig(data.options, {
    modelPath: store.path(data.modelKey),
    outDir: store.path(data.prefix),
    evalDir: settings.evalDir,
  });
  // 'auto' defers to the machine's DFQ_BACKEND, as `dfq run` does.
  const config = {
    ...requested,
    backend: requested.backend === 'auto' ? (backendFromEnv() ?? 'auto') : requested.backend,
    // Trained generators stay with the tenant whose model they were trained on.
    cacheDir: store.path(`${data.tenant}/generators`),
  };
  const redis = createRedis(settings.redisUrl, 'producer');
  const registry = new RunRegistry(redis);
  let cancelled = await registry.isCancelled(data.runId);
  // The parent worker raises this flag when its SIGTERM grace period runs out (see start-worker).
  let handBack = false;
  const poll = setInterval(() => {
    handBack ||= existsSync(handBackFlag(process.ppid));
    registry.isCancelled(data.runId).then(
      (c) => {
        cancelled = c;
      },
      () => {},
    );
  }, 2000);
  let lastProgress = 0;
  let latest: Record<string, unknown> = { stage: job.name };
  const onEvent = (e: RunEvent) => {
    if (cancelled) throw new RunCancelledError(data.runId);
    if (handBack) throw new Error('worker shutting down: the stage is handed back to the queue');
    if (e.kind === 'stage') latest = { stage: job.name, step: e.stage, message: e.message };
    else if (e.kind === 'synthesis' || e.kind === 'quantizer') latest = { ...latest, ...e.progress };
    else latest = { ...latest, evaluating: e.model, done: e.done, total: e.total };
    const now = Date.now();
    if (now - lastProgress >= 1000 || e.kind === 'stage') {
      lastProgress = now;
      job.updateProgress({ ...latest, at: new Date(now).toISOString() }).catch(() => {});
    }
  };
  try {
    if (cancelled) throw new RunCancelledError(data.runId);
    return await stage(config, { store, prefix: data.prefix, onEvent });
  } catch (err) {
    if (err instanceof ModelLoadError || err instanceof RunCancelledError)
      throw new UnrecoverableError((err as Error).message);
    throw err;
  } finally {
    clearInterval(poll);
    redis.disconnect();
  }
}
