import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { archiveError, type EntrySink } from './archive.js';
import { safeEntryPath, UnsafePathError } from './entry-path.js';

const REGULAR = new Set(['File', 'OldFile', 'ContiguousFile']);
const LINKS: Record<string, string> = { SymbolicLink: 'symbolic link', Link: 'hard link' };

/** Hands one entry to the sink, or refuses it: only regular files and folders with safe names. */
async function takeEntry(entry: ReadEntry, sink: EntrySink, open: Set<Readable>): Promise<void> {
  if (entry.type !== 'Directory' && !REGULAR.has(entry.type)) {
    const kind = LINKS[entry.type] ?? `${entry.type} entry`;
    throw new UnsafePathError('archive entry', entry.path, `it is a ${kind}, not a regular file`);
  }
  const rel = safeEntryPath(entry.path, 'archive entry');
  if (entry.type === 'Directory' || rel === null) {
    entry.resume();
    return;
  }
  const data = Readable.from(entry);
  open.add(data);
  await sink(rel, data);
}

/**
 * Extracts a .tar, .tar.gz or .tgz entry by entry (the parser detects gzip itself). The first
 * refused or failed entry aborts the parse, so a hostile archive is not read to its end.
 */
export async function extractTar(path: string, sink: EntrySink): Promise<void> {
  const source = createReadStream(path);
  const writes: Promise<void>[] = [];
  // Entry streams still being written: a parse that fails midway must end them, or a write would wait forever.
  const open = new Set<Readable>();
  let failure: unknown;
  const parser = new Parser({
    strict: true,
    noResume: true,
    onReadEntry: (entry) => {
      if (failure !== undefined) {
        entry.resume();
        return;
      }
      const work = takeEntry(entry, sink, open).catch((err: unknown) => {
        failure ??= err;
        parser.abort(err instanceof Error ? err : new Error(String(err)));
      });
      writes.push(work);
    },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      parser.on('end', resolve);
      parser.on('error', reject);
      source.on('error', reject);
      source.pipe(parser);
    });
  } catch (err) {
    failure ??= err;
  } finally {
    source.destroy();
  }
  if (failure !== undefined) for (const data of open) data.destroy(new Error('the archive ended early'));
  await Promise.all(writes);
  if (failure !== undefined) throw archiveError('tar', failure);
}
