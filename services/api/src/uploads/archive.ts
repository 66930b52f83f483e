import type { Readable } from 'node:stream';
import { badRequest, HttpError } from '../http-error.js';
import { UnsafePathError } from './entry-path.js';

export type ArchiveKind = 'tar' | 'zip';

/** Receives one regular file of an archive, under a name already checked by safeEntryPath. */
export type EntrySink = (relPath: string, data: Readable) => Promise<void>;

/** Which archive an uploaded file is, by its name; null for a plain model file. */
export function archiveKind(filename: string): ArchiveKind | null {
  const name = filename.toLowerCase();
  if (name.endsWith('.tar') || name.endsWith('.tar.gz') || name.endsWith('.tgz')) return 'tar';
  if (name.endsWith('.zip')) return 'zip';
  return null;
}

/**
 * Errors of a corrupt or unsupported archive become 400s naming the archive; refusals stay as
 * they are; system errors (a full disk: they carry an errno code) stay 500s.
 */
export function archiveError(kind: ArchiveKind, err: unknown): unknown {
  if (err instanceof HttpError || err instanceof UnsafePathError || !(err instanceof Error)) return err;
  const { code, tarCode } = err as Error & { code?: string; tarCode?: string };
  if (tarCode !== undefined || code === undefined || code.startsWith('Z_') || code.startsWith('ERR_')) {
    return badRequest(`the uploaded ${kind} archive cannot be read: ${err.message}`);
  }
  return err;
}
