import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactStore, decodeNpy, encodeNpy } from '../src/index.js';

describe('.npy tensor files', () => {
  it('round-trips shape and values, with the data 64-byte aligned', () => {
    const data = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i / 7 - 1);
    const encoded = encodeNpy({ shape: [2, 3, 4], data });
    expect(encoded.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
    expect((encoded.length - 4 * data.length) % 64).toBe(0);
    const decoded = decodeNpy(encoded);
    expect(decoded.shape).toEqual([2, 3, 4]);
    expect(Array.from(decoded.data)).toEqual(Array.from(data));
    expect(decodeNpy(encodeNpy({ shape: [3], data: data.subarray(0, 3) })).shape).toEqual([3]);
  });

  it('rejects a truncated body and foreign dtypes', () => {
    const encoded = encodeNpy({ shape: [4], data: new Float32Array(4) });
    expect(() => decodeNpy(encoded.subarray(0, encoded.length - 4), 'x.npy')).toThrow(/x.npy.*needs 16/);
    expect(() => decodeNpy(Buffer.from(encoded.toString('latin1').replace('<f4', '<f8'), 'latin1'))).toThrow(
      /float32/,
    );
  });
});

describe('ArtifactStore', () => {
  it('writes atomically and hands back size and sha256', async () => {
    const store = new ArtifactStore(await mkdtemp(join(tmpdir(), 'dfq-store-')));
    const ref = await store.put('run1/a/b.json', '{"x":1}');
    expect(ref).toEqual({ key: 'run1/a/b.json', bytes: 7, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await store.get(ref)).toString()).toBe('{"x":1}');
    expect(await readdir(store.path('run1/a'))).toEqual(['b.json']);
    expect((await store.list('run1')).map((r) => r.key)).toEqual(['run1/a/b.json']);
  });

  it('notices an artifact that changed after it was referenced', async () => {
    const store = new ArtifactStore(await mkdtemp(join(tmpdir(), 'dfq-store-')));
    const ref = await store.put('x.bin', new Uint8Array([1, 2, 3]));
    await writeFile(store.path('x.bin'), new Uint8Array([1, 2, 4]));
    await expect(store.get(ref)).rejects.toThrow(/changed or is corrupt/);
  });

  it('refuses keys that escape the store', () => {
    const store = new ArtifactStore('/tmp/dfq-store-root');
    expect(() => store.path('../etc/passwd')).toThrow(/escapes/);
    expect(() => store.path('/etc/passwd')).toThrow(/escapes/);
    expect(() => store.path('a/../../b')).toThrow(/escapes/);
  });
});
