import { randomUUID } from 'node:crypto';
import { mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ArtifactStore } from '@dfq/core';
import { modelPrefix } from '../keys.js';

export interface StoredFile {
  name: string;
  bytes: number;
  sha256: string;
}

export interface StoredModel {
  modelId: string;
  files: StoredFile[];
}

/** Moves a checked model folder into the store in one rename, so no reader ever sees half a model. */
export async function commitModel(
  store: ArtifactStore,
  folder: string,
  tenant: string,
): Promise<StoredModel> {
  const modelId = randomUUID();
  const prefix = modelPrefix(tenant, modelId);
  const dest = store.path(prefix);
  await mkdir(dirname(dest), { recursive: true });
  await rename(folder, dest);
  const refs = await store.list(prefix);
  return {
    modelId,
    files: refs.map((ref) => ({
      name: ref.key.slice(prefix.length + 1),
      bytes: ref.bytes,
      sha256: ref.sha256,
    })),
  };
}
