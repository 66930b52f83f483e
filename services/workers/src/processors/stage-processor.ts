import { existsSync } from 'node:fs';
import {
  initialProgress,
  nextProgress,
  type ResolvedRunConfig,
  type RunEvent,
  RunOptionError,
  resolveRunConfig,
  serviceOptionName,
  toRunConfig,
  workerMemoryMiB,
} from '@dfq/contract';
import {
  ArtifactStore,
  BitBudgetError,
  backendFromEnv,
  IntegerConversionError,
  ModelLoadError,
  type StageEnv,
} from '@dfq/core';
import { createRedis, generatorPrefix, modelIdOf, RunRegistry, type StageJobData } from '@dfq/queue';
import { type SandboxedJob, UnrecoverableError } from 'bullmq';
import { handBackFlag, workerSettings } from '../worker-env.js';

// A sandbox whose parent worker died (SIGKILL) must not run on as an orphan: the job is
// retried elsewhere once its lock expires.
process.on('disconnect', () => process.exit(1));

/** How a report names the server's evaluation data (options.evaluate). */
export const SERVER_EVALUATION_DATA = "<the server's evaluation data>";

class RunCancelledError extends Error {
  constructor(runId: string) {
    super(`run ${runId} was cancelled`);
  }
}

/**
 * Errors that a retry would meet again: bad input, budgets nothing fits, a cancelled run, and a
 * stack overflow (only hostile input nests deep enough to cause one).
 */
function isDeterministic(err: unknown): boolean {
  return (
    err instanceof ModelLoadError ||
    err instanceof RunCancelledError ||
    err instanceof BitBudgetError ||
    err instanceof IntegerConversionError ||
    (err instanceof RangeError && /Maximum call stack size exceeded/.test(err.message))
  );
}

/**
 * The shell every stage processor shares: builds the run's config and artifact store from
 * job data, forwards progress to the job at most every second, watches for cancellation, and
 * turns bad input into UnrecoverableError so it fails once instead of being retried.
 */
export async function runStage<T>(
  job: SandboxedJob<StageJobData>,
  stage: (config: ResolvedRunConfig, env: StageEnv) => Promise<T>,
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
  const config = resolveRunConfig({
    ...requested,
    backend: requested.backend === 'auto' ? (backendFromEnv() ?? 'auto') : requested.backend,
    // Trained generators stay with the tenant and model they were trained on, and go with the model.
    cacheDir: store.path(generatorPrefix(data.tenant, modelIdOf(data.modelKey) ?? 'unnamed')),
  });
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
  // Tenants read reports and failure reasons through the API: paths in them are the tenant's own
  // (store keys below its folder), never the server's layout.
  const tenantRoot = `${store.path(data.tenant)}/`;
  const shownPath = (path: string) =>
    path.startsWith(tenantRoot)
      ? path.slice(tenantRoot.length)
      : path === settings.evalDir
        ? SERVER_EVALUATION_DATA
        : '<server path>';
  const clean = (message: string) => message.split(tenantRoot).join('').split(store.root).join('<store>');
  let lastProgress = 0;
  let progress = initialProgress(job.name, new Date().toISOString());
  const onEvent = (e: RunEvent) => {
    if (cancelled) throw new RunCancelledError(data.runId);
    if (handBack) throw new Error('worker shutting down: the stage is handed back to the queue');
    const now = Date.now();
    progress = nextProgress(progress, e, new Date(now).toISOString());
    if (now - lastProgress >= 1000 || e.kind === 'phase') {
      lastProgress = now;
      job.updateProgress(progress).catch(() => {});
    }
  };
  try {
    if (cancelled) throw new RunCancelledError(data.runId);
    return await stage(config, {
      store,
      prefix: data.prefix,
      onEvent,
      memoryCapMiB: workerMemoryMiB(),
      shownPath,
    });
  } catch (err) {
    // Clients read the reason through the API: name options as its requests do.
    if (err instanceof RunOptionError) throw new UnrecoverableError(clean(err.phrase(serviceOptionName)));
    if (isDeterministic(err)) throw new UnrecoverableError(clean((err as Error).message));
    if (err instanceof Error) err.message = clean(err.message);
    throw err;
  } finally {
    clearInterval(poll);
    redis.disconnect();
  }
}
