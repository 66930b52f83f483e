import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { badRequest } from '../http-error.js';
import { archiveError, type EntrySink } from './archive.js';
import { safeEntryPath, UnsafePathError } from './entry-path.js';

const FILE_TYPE = 0o170000;
const REGULAR = 0o100000;
const DIRECTORY = 0o040000;

/** The entry's name, decoded as yauzl would, but without yauzl's own name check: ours gives the better message. */
function entryName(entry: Entry): string {
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
}

async function takeEntry(zip: ZipFile, entry: Entry, sink: EntrySink): Promise<void> {
  const name = entryName(entry);
  // Unix file type bits; archives made elsewhere leave them 0.
  const type = (entry.externalFileAttributes >>> 16) & FILE_TYPE;
  if (type !== 0 && type !== REGULAR && type !== DIRECTORY) {
    throw new UnsafePathError(
      'archive entry',
      name,
      'it is a symbolic link or special file, not a regular file',
    );
  }
  const rel = safeEntryPath(name, 'archive entry');
  if (rel === null || name.endsWith('/') || type === DIRECTORY) return;
  if (entry.isEncrypted()) throw badRequest(`archive entry ${JSON.stringify(name)} is encrypted`);
  await sink(rel, await zip.openReadStreamPromise(entry));
}

/** Extracts a .zip entry by entry; yauzl checks each entry's size against the directory as it reads. */
export async function extractZip(path: string, sink: EntrySink): Promise<void> {
  let zip: ZipFile | undefined;
  try {
    zip = await yauzl.openPromise(path, { decodeStrings: false, validateEntrySizes: true, autoClose: false });
    for await (const entry of zip.eachEntry()) await takeEntry(zip, entry, sink);
  } catch (err) {
    throw archiveError('zip', err);
  } finally {
    zip?.close();
  }
}
