import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { create } from 'tar';
import yazl from 'yazl';

/** A .tar.gz made in memory by the tar library from files under cwd (preservePaths keeps '..' and '/'). */
export async function tarGz(cwd: string, paths: string[], preservePaths = false): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of create({ gzip: true, cwd, preservePaths, portable: true }, paths)) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A tar whose only entry is a symbolic link pointing out of the archive (made in dir). */
export async function tarWithSymlink(dir: string): Promise<Buffer> {
  await symlink('/etc/passwd', join(dir, 'model.json'));
  return tarGz(dir, ['model.json']);
}

export interface ZipEntry {
  name: string;
  data: Buffer | string;
  mode?: number;
}

/**
 * A .zip made by yazl. yazl refuses '..' in names, so `@@` in a name is patched to `..`
 * afterwards; such archives are stored uncompressed so the patch cannot touch their data.
 */
export async function zip(entries: ZipEntry[]): Promise<Buffer> {
  const file = new yazl.ZipFile();
  const patch = entries.some((e) => e.name.includes('@@'));
  for (const e of entries) {
    file.addBuffer(Buffer.from(e.data), e.name, {
      compress: !patch,
      ...(e.mode === undefined ? {} : { mode: e.mode }),
    });
  }
  file.end();
  const chunks: Buffer[] = [];
  for await (const chunk of file.outputStream) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  if (!patch) return bytes;
  // Same length, and zip stores no checksum of names: the archive stays valid.
  return Buffer.from(bytes.toString('latin1').replaceAll('@@', '..'), 'latin1');
}
