import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelGraph } from '../model/graph.js';
import { nodeWeights } from '../model/graph.js';
import type { GeneratorWeights } from './generator.js';

/**
 * Trained generators on disk, keyed by the model's weights and every setting that shaped the
 * training: a scheduled re-run on the same model draws new images without training again.
 */
export function generatorKey(graph: ModelGraph, settings: Record<string, unknown>): string {
  const hash = createHash('sha256');
  for (const node of graph.nodes) {
    hash.update(`${node.name}:${node.op}:${node.inputs.join(',')};`);
    for (const w of nodeWeights(node))
      hash.update(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
  }
  hash.update(JSON.stringify(graph.normalization));
  hash.update(JSON.stringify(settings, Object.keys(settings).sort()));
  return hash.digest('hex').slice(0, 32);
}

export async function loadGenerator(dir: string, key: string): Promise<GeneratorWeights | null> {
  try {
    const index = JSON.parse(await readFile(join(dir, `${key}.json`), 'utf8')) as {
      name: string;
      shape: number[];
    }[];
    const data = await readFile(join(dir, `${key}.bin`));
    const floats = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    const weights: GeneratorWeights = {};
    let offset = 0;
    for (const { name, shape } of index) {
      const size = shape.reduce((a, b) => a * b, 1);
      weights[name] = { shape, data: floats.slice(offset, offset + size) };
      offset += size;
    }
    return offset === floats.length ? weights : null;
  } catch {
    return null;
  }
}

export async function saveGenerator(dir: string, key: string, weights: GeneratorWeights): Promise<void> {
  await mkdir(dir, { recursive: true });
  const entries = Object.entries(weights);
  const total = entries.reduce((a, [, w]) => a + w.data.length, 0);
  const data = new Float32Array(total);
  let offset = 0;
  for (const [, w] of entries) {
    data.set(w.data, offset);
    offset += w.data.length;
  }
  // The index is renamed into place last: a reader sees either no generator or a complete one.
  const suffix = `${process.pid}.tmp`;
  await writeFile(join(dir, `${key}.bin.${suffix}`), new Uint8Array(data.buffer));
  await rename(join(dir, `${key}.bin.${suffix}`), join(dir, `${key}.bin`));
  await writeFile(
    join(dir, `${key}.json.${suffix}`),
    JSON.stringify(entries.map(([name, w]) => ({ name, shape: w.shape }))),
  );
  await rename(join(dir, `${key}.json.${suffix}`), join(dir, `${key}.json`));
}
