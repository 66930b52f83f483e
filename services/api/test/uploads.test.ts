import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tarGz, tarWithSymlink, zip } from './support/archives.js';
import { exampleFiles, multipart } from './support/forms.js';
import { EXAMPLE_DIR, TestApi } from './support/harness.js';

const api = new TestApi();
const small = new TestApi();
const SMALL_LIMIT = 100_000;
let scratch = '';
/** A fresh folder for one test's files, removed with the rest after the suite. */
const folder = () => mkdtemp(join(scratch, 'case-'));

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'dfq-api-uploads-'));
  await api.start();
  await small.start({ maxUploadBytes: SMALL_LIMIT });
});

afterAll(async () => {
  await api.close();
  await small.close();
  await rm(scratch, { recursive: true, force: true });
});

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function expectedFiles() {
  const files = await exampleFiles(EXAMPLE_DIR);
  return files
    .map((f) => ({ name: f.name, bytes: f.data.length, sha256: sha256(f.data as Uint8Array) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function upload(body: { payload: Buffer; headers: Record<string, string> }, target = api) {
  return target.inject({ method: 'POST', url: '/v1/models', ...body });
}

async function uploadArchive(name: string, data: Buffer, target = api) {
  return upload(await multipart([{ name, data }]), target);
}

describe('POST /v1/models', () => {
  it('stores model.json and its shard sent as file parts, with their sha256', async () => {
    const res = await upload(await multipart(await exampleFiles(EXAMPLE_DIR)));
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body.modelId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.files).toEqual(await expectedFiles());
    const stored = await readFile(
      join(api.config.artifactsDir, api.tenantA, 'models', body.modelId, 'model.json'),
    );
    expect(sha256(stored)).toBe(body.files.find((f: { name: string }) => f.name === 'model.json').sha256);
  });

  it('accepts a .tar.gz with the model in one folder', async () => {
    const archive = await tarGz(join(EXAMPLE_DIR, '..'), ['resnet-fmnist-a']);
    const res = await uploadArchive('model.tar.gz', archive);
    expect(res.statusCode, res.body).toBe(201);
    const files = res.json().files.filter((f: { name: string }) => f.name !== 'README.md');
    expect(files).toEqual(await expectedFiles());
  });

  it('accepts a .zip with the model at its top level', async () => {
    const parts = await exampleFiles(EXAMPLE_DIR);
    const archive = await zip(parts.map((p) => ({ name: p.name, data: Buffer.from(p.data) })));
    const res = await uploadArchive('model.zip', archive);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().files).toEqual(await expectedFiles());
  });

  it('refuses an archive entry that climbs out with ..', async () => {
    const dir = await folder();
    await writeFile(join(dir, 'evil.json'), '{}');
    await cp(join(EXAMPLE_DIR, 'model.json'), join(dir, 'inner', 'model.json'), { recursive: true });
    const archive = await tarGz(join(dir, 'inner'), ['model.json', '../evil.json'], true);
    const res = await uploadArchive('evil.tar.gz', archive);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain('"../evil.json" is refused');

    const evilZip = await zip([
      { name: 'model.json', data: '{}' },
      { name: '@@/evil.json', data: '{}' },
    ]);
    const zipRes = await uploadArchive('evil.zip', evilZip);
    expect(zipRes.statusCode).toBe(400);
    expect(zipRes.json().message).toContain("climbs out of its folder with '..'");
  });

  it('refuses absolute names, symbolic links and traversing part filenames', async () => {
    const dir = await folder();
    await writeFile(join(dir, 'model.json'), '{}');
    const absolute = await uploadArchive('abs.tar', await tarGz('/', [join(dir, 'model.json')], true));
    expect(absolute.statusCode).toBe(400);
    expect(absolute.json().message).toContain('is an absolute path');
    const link = await uploadArchive('link.tar.gz', await tarWithSymlink(await folder()));
    expect(link.statusCode).toBe(400);
    expect(link.json().message).toContain('it is a symbolic link');
    const zipLink = await uploadArchive(
      'link.zip',
      await zip([{ name: 'model.json', data: '/etc/passwd', mode: 0o120777 }]),
    );
    expect(zipLink.statusCode).toBe(400);
    expect(zipLink.json().message).toContain('symbolic link');
    const part = await upload(await multipart([{ name: '../model.json', data: '{}' }]));
    expect(part.statusCode).toBe(400);
    expect(part.json().message).toContain('"../model.json" is refused');
  });

  it('answers 413 naming the limit for a body over DFQ_MAX_UPLOAD_BYTES', async () => {
    const res = await upload(await multipart(await exampleFiles(EXAMPLE_DIR)), small);
    expect(res.statusCode).toBe(413);
    expect(res.json().message).toContain(`limit of ${SMALL_LIMIT} bytes`);

    // Without a Content-Length the limit is enforced while streaming.
    const body = await multipart(await exampleFiles(EXAMPLE_DIR));
    const streamed = await small.inject({
      method: 'POST',
      url: '/v1/models',
      headers: body.headers,
      payload: Readable.from([body.payload]),
    });
    expect(streamed.statusCode).toBe(413);
    expect(streamed.json().message).toContain(`limit of ${SMALL_LIMIT} bytes`);
  });

  it('answers 413 for an archive that expands past the limit', async () => {
    const dir = await folder();
    await writeFile(join(dir, 'model.json'), Buffer.alloc(4 * SMALL_LIMIT, 32));
    const res = await uploadArchive('bomb.tar.gz', await tarGz(dir, ['model.json']), small);
    expect(res.statusCode).toBe(413);
    expect(res.json().message).toContain(`expands to more than the limit of ${SMALL_LIMIT} bytes`);
  });

  it('answers 422 naming the problem for a malformed model, and keeps nothing', async () => {
    const broken = await upload(
      await multipart([{ name: 'model.json', data: '{"format": "layers-model", ' }]),
    );
    expect(broken.statusCode).toBe(422);
    expect(broken.json().message).toMatch(/^Model file model\.json is not valid JSON/);

    const noShard = await upload(
      await multipart([{ name: 'model.json', data: await readFile(join(EXAMPLE_DIR, 'model.json')) }]),
    );
    expect(noShard.statusCode).toBe(422);
    expect(noShard.json().message).toContain(
      'Weight shard group1-shard1of1.bin named in model.json is missing',
    );

    const json = JSON.parse(await readFile(join(EXAMPLE_DIR, 'model.json'), 'utf8'));
    json.weightsManifest[0].paths = ['../../other/group1-shard1of1.bin'];
    const escaping = await upload(await multipart([{ name: 'model.json', data: JSON.stringify(json) }]));
    expect(escaping.statusCode).toBe(422);
    expect(escaping.json().message).toContain('weight file "../../other/group1-shard1of1.bin" is refused');

    expect(await readdir(join(api.config.artifactsDir, '.staging'))).toEqual([]);
  });

  it('refuses a request with no files, a non-multipart body and archives mixed with files', async () => {
    const none = await upload(await multipart([], {}));
    expect(none.statusCode).toBe(400);
    const json = await api.inject({ method: 'POST', url: '/v1/models', payload: { modelId: 'x' } });
    expect(json.statusCode).toBe(415);
    const mixed = await upload(
      await multipart([
        { name: 'model.json', data: '{}' },
        { name: 'more.zip', data: await zip([{ name: 'a', data: 'b' }]) },
      ]),
    );
    expect(mixed.statusCode).toBe(400);
    expect(mixed.json().message).toContain('not both');
  });
});
