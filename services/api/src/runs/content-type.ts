import { extname } from 'node:path';

const TYPES: Record<string, string> = {
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
};

/** Content type of an artifact by extension; anything else (.bin shards, .npy images) is plain bytes. */
export function contentType(key: string): string {
  return TYPES[extname(key).toLowerCase()] ?? 'application/octet-stream';
}
