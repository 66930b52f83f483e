import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTokens, startApi } from '../src/index.js';
import { REDIS_URL, ROOT, TestApi } from './support/harness.js';

const api = new TestApi();
const deadRedis = new TestApi();

beforeAll(async () => {
  await api.start();
  await deadRedis.start({ redisUrl: 'redis://127.0.0.1:1' });
});

afterAll(async () => {
  await api.close();
  await deadRedis.close();
});

describe('configuration', () => {
  it('refuses to listen beyond loopback without tokens', async () => {
    await expect(startApi({ DFQ_HOST: '0.0.0.0', DFQ_REDIS_URL: REDIS_URL })).rejects.toThrow(
      /refusing to listen on 0\.0\.0\.0 without API tokens/,
    );
  });

  it('parses token=tenant pairs and refuses malformed ones', async () => {
    expect([...parseTokens(' abc==acme , t2=globex-eu ')]).toEqual([
      ['abc=', 'acme'],
      ['t2', 'globex-eu'],
    ]);
    expect(parseTokens('')).toEqual(new Map());
    expect(() => parseTokens('justatoken')).toThrow(/entry 1 is not token=tenant/);
    expect(() => parseTokens('a=acme,=globex')).toThrow(/entry 2/);
    expect(() => parseTokens('a=ac me')).toThrow(/tenant "ac me"/);
    expect(() => parseTokens('a=acme--x')).toThrow(/tenant/);
    expect(() => parseTokens('a=acme,a=globex')).toThrow(/twice/);
    await expect(startApi({ DFQ_API_TOKENS: 'oops', DFQ_REDIS_URL: REDIS_URL })).rejects.toThrow(
      /DFQ_API_TOKENS/,
    );
  });

  it('listens, serves over HTTP and closes', async () => {
    const running = await startApi({
      DFQ_PORT: '0',
      DFQ_REDIS_URL: REDIS_URL,
      DFQ_QUEUE_PREFIX: api.prefix,
      DFQ_ARTIFACTS_DIR: api.config.artifactsDir,
      DFQ_LOG_LEVEL: 'silent',
    });
    try {
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${running.url}/healthz`);
      expect(health.status).toBe(200);
      // No tokens configured: local requests are tenant "local".
      const runs = await fetch(`${running.url}/v1/runs`);
      expect(runs.status).toBe(200);
      const foreign = await fetch(`${running.url}/v1/runs`, { headers: { origin: 'https://evil.example' } });
      expect(foreign.status).toBe(403);
    } finally {
      await running.close();
    }
  });
});

describe('shutdown', () => {
  it('closes gracefully and exits 0 on SIGTERM (built package)', async () => {
    const entry = join(ROOT, 'services/api/dist/index.js');
    const child = spawn(
      process.execPath,
      ['-e', `import(${JSON.stringify(entry)}).then((m) => m.startApi())`],
      {
        env: {
          ...process.env,
          DFQ_PORT: '0',
          DFQ_REDIS_URL: REDIS_URL,
          DFQ_QUEUE_PREFIX: api.prefix,
          DFQ_ARTIFACTS_DIR: api.config.artifactsDir,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    let signalled = false;
    child.stdout.on('data', (chunk) => {
      output += chunk;
      // Once only: a second signal is meant to stop the process at once.
      if (!signalled && output.includes('Server listening')) signalled = child.kill('SIGTERM');
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const [code] = await once(child, 'exit');
    expect(output).toContain('SIGTERM: closing the API');
    expect(code, output).toBe(0);
  });
});

describe('health and documentation', () => {
  it('/healthz is 200; /readyz is 200 with Redis and 503 without', async () => {
    expect((await api.inject({ method: 'GET', url: '/healthz', token: null })).json()).toEqual({
      status: 'ok',
    });
    expect((await api.inject({ method: 'GET', url: '/readyz', token: null })).json()).toEqual({
      status: 'ready',
    });
    const down = await deadRedis.inject({ method: 'GET', url: '/readyz', token: null });
    expect(down.statusCode).toBe(503);
    expect(down.json().status).toBe('unavailable');
    expect((await deadRedis.inject({ method: 'GET', url: '/healthz', token: null })).statusCode).toBe(200);
  });

  it('answers 503 when Redis is down', async () => {
    const res = await deadRedis.inject({ method: 'GET', url: '/v1/runs' });
    expect(res.statusCode).toBe(503);
    expect(res.json().message).toContain('Redis');
  });

  it('/openapi.json is an OpenAPI 3 document of the routes, with bearer security', async () => {
    const res = await api.inject({ method: 'GET', url: '/openapi.json', token: null });
    expect(res.statusCode).toBe(200);
    const doc = JSON.parse(res.body);
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(doc.paths['/v1/runs'])).toEqual(expect.arrayContaining(['get', 'post']));
    const createRun = doc.paths['/v1/runs'].post;
    expect(Object.keys(createRun.requestBody.content)).toEqual(['application/json', 'multipart/form-data']);
    // Bounds and defaults come from the run-option table.
    expect(
      createRun.requestBody.content['application/json'].schema.properties.options.properties.weightBits,
    ).toMatchObject({ type: 'integer', minimum: 1, maximum: 16, default: 8 });
    expect(Object.keys(doc.paths['/v1/models'].post.requestBody.content)).toContain('multipart/form-data');
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/v1/runs/{runId}/artifacts/'))).toHaveLength(1);
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/admin'))).toBe(false);
  });
});
