import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  createFlowProducer,
  createRedis,
  createRun,
  type RunOptions,
  RunRegistry,
  RunStatusReader,
  runOptionsSchema,
  SCHEDULE_QUEUE,
  STAGE_QUEUES,
} from '@dfq/queue';
import { Queue } from 'bullmq';

export const ROOT = resolve(import.meta.dirname, '../..');
export const DFQ = join(ROOT, 'services/cli/bin/dfq.js');
export const EXAMPLE_DIR = join(ROOT, 'examples/resnet-fmnist-a');
export const DATA = process.env.DFQ_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
}

/**
 * A private corner of the real Redis and a private artifact directory, so test files running
 * side by side never see each other's jobs.
 */
export class TestCluster {
  readonly prefix = `dfqtest${process.pid}${Math.floor(Math.random() * 1e6)}`;
  readonly redis = createRedis(process.env.DFQ_REDIS_URL ?? 'redis://127.0.0.1:6379', 'producer');
  readonly registry = new RunRegistry(this.redis, this.prefix);
  readonly flows = createFlowProducer(this.redis, this.prefix);
  readonly status = new RunStatusReader(this.redis, this.prefix);
  readonly workers: WorkerProcess[] = [];
  readonly apis: ChildProcess[] = [];
  artifactsDir = '';

  async init(): Promise<void> {
    this.artifactsDir = await mkdtemp(join(tmpdir(), 'dfq-artifacts-'));
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      DFQ_QUEUE_PREFIX: this.prefix,
      DFQ_ARTIFACTS_DIR: this.artifactsDir,
      DFQ_EVAL_DIR: DATA,
      DFQ_BACKEND: 'wasm',
      // Short locks so a killed worker's job is picked up again within seconds.
      DFQ_LOCK_DURATION_MS: '4000',
      DFQ_STALLED_INTERVAL_MS: '2000',
      DFQ_SHUTDOWN_TIMEOUT_MS: '5000',
      ...extra,
    };
  }

  /** The same job run embedded (`dfq run`) on the example model, in this cluster's environment; its report. */
  async embeddedRun(flags: string[]): Promise<Record<string, unknown>> {
    const out = await mkdtemp(join(tmpdir(), 'dfq-embedded-'));
    await promisify(execFile)(
      'node',
      [DFQ, 'run', '--model', join(EXAMPLE_DIR, 'model.json'), '--out', out, ...flags],
      {
        env: this.env(),
      },
    );
    return JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
  }

  startWorker(...kinds: string[]): WorkerProcess {
    const child = spawn('node', [DFQ, 'worker', ...kinds], {
      env: this.env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout?.on('data', (d) => {
      text += d;
    });
    child.stderr?.on('data', (d) => {
      text += d;
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const proc = { child, output: () => text, exited };
    this.workers.push(proc);
    return proc;
  }

  /** Starts `dfq api` on a free loopback port in this cluster's environment; resolves to its URL once ready. */
  async startApi(tokens: string, extra: Record<string, string> = {}): Promise<string> {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn('node', [DFQ, 'api'], {
      env: this.env({ DFQ_PORT: String(port), DFQ_API_TOKENS: tokens, ...extra }),
      stdio: 'ignore',
    });
    this.apis.push(child);
    for (let i = 0; ; i++) {
      if (
        await fetch(`${url}/readyz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        return url;
      if (i > 100) throw new Error('API did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Puts the example model in the store for a tenant; returns its model key. */
  async uploadExampleModel(tenant: string, modelId = 'example'): Promise<string> {
    await cp(EXAMPLE_DIR, join(this.artifactsDir, tenant, 'models', modelId), { recursive: true });
    return `${tenant}/models/${modelId}/model.json`;
  }

  async submit(tenant: string, modelKey: string, options: Partial<RunOptions>) {
    return createRun(
      { registry: this.registry, flows: this.flows },
      { tenant, modelKey, options: runOptionsSchema.parse(options), source: 'cli' },
    );
  }

  async waitForState(tenant: string, runId: string, states: string[], timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const record = await this.registry.get(tenant, runId);
      if (!record) throw new Error(`run ${runId} not found`);
      const status = await this.status.status(record);
      if (states.includes(status.state)) return status;
      if (Date.now() > deadline)
        throw new Error(
          `run ${runId} still ${status.state} after ${timeoutMs} ms: ${JSON.stringify(status)}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async close(): Promise<void> {
    for (const a of this.apis) a.kill('SIGTERM');
    for (const w of this.workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await this.status.close();
    await this.flows.close();
    for (const name of [...Object.values(STAGE_QUEUES), SCHEDULE_QUEUE]) {
      const q = new Queue(name, { connection: this.redis, prefix: this.prefix });
      await q.obliterate({ force: true }).catch(() => {});
      await q.close();
    }
    const keys = await this.redis.keys(`${this.prefix}:*`);
    if (keys.length) await this.redis.del(...keys);
    this.redis.disconnect();
  }
}

/** The report fields a run must reproduce exactly, wherever it ran (paths and timings aside). */
// biome-ignore lint/suspicious/noExplicitAny: report.json read back as plain JSON
export function reproducible(r: Record<string, any>) {
  return {
    backend: r.backend,
    model: { params: r.model.params, layers: r.model.layers, normalization: r.model.normalization },
    synthesis: {
      ...r.synthesis,
      seconds: undefined,
      imagesPerSecond: undefined,
      // The budget is the machine's: a share of the memory free at the start (embedded) or a shared
      // worker's limit for one run (DFQ_WORKER_MEMORY_MIB).
      memory: {
        ...r.synthesis.memory,
        budgetBytes: undefined,
        budgetSource: undefined,
        estimatedPeakBytes: undefined,
      },
    },
    calibration: { ...r.calibration, seconds: undefined },
    quantization: { ...r.quantization, seconds: undefined },
    evaluation: {
      ...r.evaluation,
      seconds: undefined,
      integerImagesPerSecond: undefined,
      onnxRuntimeMsPerImage: undefined,
    },
  };
}
