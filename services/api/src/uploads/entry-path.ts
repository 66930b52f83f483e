/** A name from an upload, an archive or a URL that could reach outside the folder it belongs in. */
export class UnsafePathError extends Error {
  constructor(what: string, name: string, why: string) {
    super(`${what} ${JSON.stringify(name)} is refused: ${why}; only plain relative names are accepted`);
    this.name = 'UnsafePathError';
  }
}

const MAX_NAME = 1024;
const MAX_SEGMENT = 255;

/** Packaging leftovers that are not part of any model: skipped rather than refused. */
function isJunk(segments: string[]): boolean {
  const last = segments[segments.length - 1] ?? '';
  return segments[0] === '__MACOSX' || last === '.DS_Store' || last.startsWith('._');
}

/**
 * The normalized relative path of an upload, archive entry or artifact name ('/'-separated), null
 * for a name to skip (the archive root, macOS metadata). Backslashes count as separators, so a name
 * written on Windows cannot smuggle '..' past the check.
 */
export function safeEntryPath(raw: string, what = 'file name'): string | null {
  if (raw.includes('\0')) throw new UnsafePathError(what, raw, 'it contains a NUL byte');
  const name = raw.replace(/\\/g, '/');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name))
    throw new UnsafePathError(what, raw, 'it is an absolute path');
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw new UnsafePathError(what, raw, "it climbs out of its folder with '..'");
  if (name.length > MAX_NAME || segments.some((s) => s.length > MAX_SEGMENT)) {
    throw new UnsafePathError(what, raw, 'the name is too long');
  }
  if (segments.length === 0 || isJunk(segments)) return null;
  return segments.join('/');
}
