import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';

/** What travels in job data instead of the bytes: where an artifact is, how big, and its digest. */
export interface ArtifactRef {
  /** Path relative to the store root, '/'-separated. */
  key: string;
  bytes: number;
  sha256: string;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A directory of artifacts (a shared volume when workers run on several machines). Writes go
 * through a temporary name and a rename, so a reader never sees a half-written artifact.
 */
export class ArtifactStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Absolute path of a key, refusing keys that would escape the store. */
  path(key: string): string {
    const clean = normalize(key);
    if (isAbsolute(clean) || clean.startsWith('..')) throw new Error(`artifact key ${key} escapes the store`);
    return join(this.root, clean);
  }

  async put(key: string, data: string | Uint8Array): Promise<ArtifactRef> {
    await writeFileAtomic(this.path(key), data);
    return this.ref(key);
  }

  /** A reference to a file already written under the store (e.g. by a library that writes its own files). */
  async ref(key: string): Promise<ArtifactRef> {
    const path = this.path(key);
    const { size } = await stat(path);
    return {
      key: relative(this.root, path).split('\\').join('/'),
      bytes: size,
      sha256: await sha256File(path),
    };
  }

  /** Reads an artifact and checks it is still the one referenced. */
  async get(ref: ArtifactRef): Promise<Buffer> {
    const data = await readFile(this.path(ref.key));
    const digest = createHash('sha256').update(data).digest('hex');
    if (data.length !== ref.bytes || digest !== ref.sha256) {
      throw new Error(`artifact ${ref.key} changed or is corrupt (sha256 ${digest}, expected ${ref.sha256})`);
    }
    return data;
  }

  /** Every file under a prefix, as references. */
  async list(prefix: string): Promise<ArtifactRef[]> {
    const dir = this.path(prefix);
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
    const refs: ArtifactRef[] = [];
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.endsWith('.tmp')) continue;
      refs.push(await this.ref(relative(this.root, join(entry.parentPath, entry.name))));
    }
    return refs.sort((a, b) => a.key.localeCompare(b.key));
  }
}
