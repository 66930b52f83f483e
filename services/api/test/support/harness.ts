import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRedis } from '@dfq/queue';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { type ApiConfig, buildApi, configFromEnv } from '../../src/index.js';

export const ROOT = resolve(import.meta.dirname, '../../../..');
export const EXAMPLE_DIR = join(ROOT, 'examples/resnet-fmnist-a');
export const REDIS_URL = process.env.DFQ_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * One API on the real Redis under a queue prefix of its own, with two tenants and an admin
 * token, and a private artifact directory. close() removes every key and file it made.
 */
export class TestApi {
  readonly id = randomUUID().slice(0, 8);
  readonly prefix = `dfqapitest-${this.id}`;
  readonly tenantA = `acme_${this.id}`;
  readonly tenantB = `globex_${this.id}`;
  readonly tokenA = `token-a-${randomUUID()}`;
  readonly tokenB = `token-b-${randomUUID()}`;
  readonly adminToken = `admin-${randomUUID()}`;
  app!: FastifyInstance;
  config!: ApiConfig;

  async start(overrides: Partial<ApiConfig> = {}, env: NodeJS.ProcessEnv = {}): Promise<this> {
    const artifactsDir = await mkdtemp(join(tmpdir(), 'dfq-api-test-'));
    this.config = {
      ...configFromEnv({
        DFQ_REDIS_URL: REDIS_URL,
        DFQ_QUEUE_PREFIX: this.prefix,
        DFQ_ARTIFACTS_DIR: artifactsDir,
        DFQ_API_TOKENS: `${this.tokenA}=${this.tenantA},${this.tokenB}=${this.tenantB}`,
        DFQ_ADMIN_TOKEN: this.adminToken,
        ...env,
      }),
      logger: false,
      ...overrides,
    };
    this.app = await buildApi(this.config);
    return this;
  }

  /** app.inject with tenant A's token unless the options say otherwise. */
  inject(options: InjectOptions & { token?: string | null }) {
    const { token = this.tokenA, headers, ...rest } = options;
    const auth = token === null ? {} : { authorization: `Bearer ${token}` };
    return this.app.inject({ ...rest, headers: { ...auth, ...headers } });
  }

  async close(): Promise<void> {
    await this.app?.close();
    const redis = createRedis(REDIS_URL, 'producer');
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
    if (this.config) await rm(this.config.artifactsDir, { recursive: true, force: true });
  }
}
