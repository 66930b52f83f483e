import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A thin client of the dfq HTTP API, for the submit/status/watch/fetch commands. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  private async request(method: string, path: string, body?: FormData | object): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const url = new URL(path, this.baseUrl).toString();
    const response = await fetch(url, { method, headers, ...(payload ? { body: payload } : {}) }).catch(
      (err: Error) => {
        throw new Error(`cannot reach the dfq API at ${this.baseUrl}: ${err.message}`);
      },
    );
    if (!response.ok) {
      const text = await response.text();
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {}
      throw new Error(`${method} ${path}: HTTP ${response.status}: ${message}`);
    }
    return response;
  }

  async json<T>(method: string, path: string, body?: FormData | object): Promise<T> {
    return (await (await this.request(method, path, body)).json()) as T;
  }

  async download(path: string): Promise<{ data: Buffer; sha256: string | null }> {
    const response = await this.request('GET', path);
    return { data: Buffer.from(await response.arrayBuffer()), sha256: response.headers.get('x-dfq-sha256') };
  }

  /** Uploads model.json with the weight shards its manifest names, plus run options, as one run. */
  async submitRun(modelPath: string, options: object): Promise<{ runId: string; modelId: string }> {
    const path = modelPath.endsWith('.json') ? modelPath : join(modelPath, 'model.json');
    const manifest = JSON.parse(await readFile(path, 'utf8')) as { weightsManifest?: { paths: string[] }[] };
    const form = new FormData();
    form.append('options', JSON.stringify(options));
    form.append('model', new Blob([await readFile(path)]), 'model.json');
    for (const group of manifest.weightsManifest ?? []) {
      for (const shard of group.paths)
        form.append('weights', new Blob([await readFile(join(dirname(path), shard))]), basename(shard));
    }
    return this.json('POST', '/v1/runs', form);
  }
}

export function apiClient(opts: { api?: string; token?: string }): ApiClient {
  const api = opts.api ?? process.env.DFQ_API_URL ?? 'http://127.0.0.1:8080';
  const token = opts.token ?? process.env.DFQ_API_TOKEN;
  if (!token) throw new Error('no API token: pass --token or set DFQ_API_TOKEN');
  return new ApiClient(api, token);
}
