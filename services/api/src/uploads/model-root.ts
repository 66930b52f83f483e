import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpError } from '../http-error.js';
import { safeEntryPath, UnsafePathError } from './entry-path.js';

/**
 * The folder holding model.json among the received files: the top level, or the one folder an
 * archive wraps everything in (`resnet/model.json`, `resnet/group1-shard1of1.bin`).
 */
export function modelRoot(filesDir: string, names: string[]): string {
  if (names.includes('model.json')) return filesDir;
  const tops = new Set(names.map((n) => n.split('/')[0]));
  const [top] = tops;
  if (tops.size === 1 && top !== undefined && names.includes(`${top}/model.json`)) return join(filesDir, top);
  const shown = names.slice(0, 10).join(', ') + (names.length > 10 ? ', ...' : '');
  throw new HttpError(
    400,
    `the upload has no model.json at its top level or in a single folder (it holds: ${shown}). ` +
      'Upload a TF.js Layers model: model.json plus the weight shards it names.',
  );
}

/**
 * Refuses a model.json whose weightsManifest names files outside the model's folder: the loader
 * and the workers would read them, and they could be another tenant's. Unparsable JSON is left to
 * loadModel, which explains it better.
 */
export async function checkWeightPaths(root: string): Promise<void> {
  let json: { weightsManifest?: { paths?: unknown }[] };
  try {
    json = JSON.parse(await readFile(join(root, 'model.json'), 'utf8'));
  } catch {
    return;
  }
  if (!Array.isArray(json?.weightsManifest)) return;
  for (const group of json.weightsManifest) {
    for (const path of Array.isArray(group?.paths) ? group.paths : []) {
      try {
        if (typeof path !== 'string' || safeEntryPath(path, 'weight file') === null) {
          throw new UnsafePathError('weight file', String(path), 'it does not name a file');
        }
      } catch (err) {
        if (err instanceof UnsafePathError) throw new HttpError(422, `model.json: ${err.message}`);
        throw err;
      }
    }
  }
}
