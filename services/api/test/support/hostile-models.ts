import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FilePart } from './forms.js';
import { EXAMPLE_DIR } from './harness.js';

type ModelJson = Record<string, unknown> & {
  modelTopology: { config: { layers: { config: Record<string, unknown> }[] } };
  weightsManifest: { paths: string[]; weights: Record<string, unknown>[] }[];
};

/**
 * The example model with its model.json changed by `edit` (given a deep copy; whatever it returns
 * is the new model.json, `null` included), as upload parts with the untouched weight shard.
 */
export async function exampleWith(edit: (json: ModelJson) => unknown): Promise<FilePart[]> {
  const json = JSON.parse(await readFile(join(EXAMPLE_DIR, 'model.json'), 'utf8')) as ModelJson;
  const text = JSON.stringify(edit(json));
  return [
    { name: 'model.json', data: text },
    { name: 'group1-shard1of1.bin', data: await readFile(join(EXAMPLE_DIR, 'group1-shard1of1.bin')) },
  ];
}

/** The example model with a square input of `size` pixels (its global pooling keeps the weights valid). */
export const exampleAtSize = (size: number) =>
  exampleWith((json) => {
    const input = json.modelTopology.config.layers[0];
    if (input) input.config.batch_input_shape = [null, size, size, 1];
    return json;
  });

/** A value nested `depth` arrays deep, built as text (JSON.stringify of it would recurse). */
export function deeplyNested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** The example model.json with metadata nested `depth` levels deep, as upload parts. */
export async function exampleWithDeepMetadata(depth: number): Promise<FilePart[]> {
  const [model, shard] = await exampleWith((json) => ({ ...json, userDefinedMetadata: { deep: '@DEEP@' } }));
  const text = String(model?.data).replace('"@DEEP@"', deeplyNested(depth));
  return [{ name: 'model.json', data: text }, shard as FilePart];
}
