import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';

/**
 * An IOHandler that reads a TF.js Layers model.json and its shards from disk. Plain
 * @tensorflow/tfjs has no file:// loader without tfjs-node, and dfq does not depend on tfjs-node.
 * Shards are handed over untouched, so TF.js itself decodes (and dequantizes) the weights.
 */
export function fileModelHandler(modelPath: string): tf.io.IOHandler {
  return {
    load: async () => {
      let path = resolve(modelPath);
      if ((await stat(path)).isDirectory()) path = join(path, 'model.json');
      const json = JSON.parse(await readFile(path, 'utf8')) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const shard of group.paths) {
            const bytes = await readFile(join(dirname(path), shard));
            buffers.push(
              bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
            );
          }
        }
        return [tf.io.getWeightSpecs(manifest), buffers];
      });
    },
  };
}

/** Loads a model.json from disk with stock `tf.loadLayersModel`, as any TF.js app would. */
export function loadStockLayersModel(modelPath: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileModelHandler(modelPath));
}
