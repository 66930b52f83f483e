import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { badRequest, tooLarge } from '../http-error.js';
import type { ByteBudget } from './byte-budget.js';

export const MAX_FILES = 1000;

/**
 * A private folder inside the artifact store where one upload is received and checked. It sits
 * on the store's file system, so the finished model moves into place with a single rename.
 */
export class Staging {
  readonly filesDir: string;
  readonly names: string[] = [];

  private constructor(readonly dir: string) {
    this.filesDir = join(dir, 'files');
  }

  static async create(storeRoot: string): Promise<Staging> {
    const parent = join(storeRoot, '.staging');
    await mkdir(parent, { recursive: true });
    return new Staging(await mkdtemp(join(parent, 'upload-')));
  }

  /** Writes one file of the model (relPath already checked by safeEntryPath). */
  async addFile(relPath: string, source: Readable, budget: ByteBudget): Promise<void> {
    if (this.names.length >= MAX_FILES) throw tooLarge(`an upload may hold at most ${MAX_FILES} files`);
    if (this.names.includes(relPath)) throw badRequest(`the upload holds ${relPath} twice`);
    const path = join(this.filesDir, relPath);
    try {
      await mkdir(dirname(path), { recursive: true });
      await pipeline(source, budget.meter(), createWriteStream(path, { flags: 'wx' }));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A file and a folder of the same name ("a" and "a/b"): the second cannot be created.
      if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
        throw badRequest(`${relPath} clashes with another file or folder of the upload`);
      }
      throw err;
    }
    this.names.push(relPath);
  }

  /** Saves an uploaded archive beside (not among) the model files, for extraction. */
  async saveArchive(source: Readable, budget: ByteBudget): Promise<string> {
    const path = join(this.dir, 'archive');
    await pipeline(source, budget.meter(), createWriteStream(path, { flags: 'wx' }));
    return path;
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
