import { PRIVATE_UMASK } from '@dfq/queue';
import { buildApi } from './app.js';
import { configFromEnv, LOCAL_TENANT } from './config.js';

const SHUTDOWN_TIMEOUT_MS = 10_000;

export interface RunningApi {
  url: string;
  /** Stops taking requests, lets those in flight finish, then closes the queues and Redis. */
  close(): Promise<void>;
}

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`shutdown took longer than ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Reads the configuration from the environment, listens, and shuts down gracefully on SIGINT/SIGTERM. */
export async function startApi(env: NodeJS.ProcessEnv = process.env): Promise<RunningApi> {
  const config = configFromEnv(env);
  process.umask(PRIVATE_UMASK);
  const app = await buildApi(config);
  if (config.tokens.size === 0) {
    app.log.warn(
      `DFQ_API_TOKENS is empty: local requests are served unauthenticated as tenant "${LOCAL_TENANT}"`,
    );
  }
  let url: string;
  try {
    url = await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    // A taken port must not leave the Redis connection holding the process open.
    await app.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  const close = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    closing ??= withTimeout(app.close(), SHUTDOWN_TIMEOUT_MS);
    return closing;
  };
  function onSignal(signal: NodeJS.Signals) {
    app.log.info(`${signal}: closing the API`);
    close().then(
      () => process.exit(0),
      (err: Error) => {
        app.log.error(err.message);
        process.exit(1);
      },
    );
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { url, close };
}
