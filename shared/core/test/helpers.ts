import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const EXAMPLE_MODEL = join(REPO_ROOT, 'examples/resnet-fmnist-a/model.json');
export const FASHION_MNIST_DIR = process.env.DFQ_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

/** A scratch copy of the example model whose model.json and shard a test may then damage. */
export async function copyOfExampleModel(
  // biome-ignore lint/suspicious/noExplicitAny: tests edit arbitrary model.json fields
  edit?: (json: Record<string, any>) => void,
): Promise<{ dir: string; modelPath: string; shardPath: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'dfq-model-'));
  const json = JSON.parse(await readFile(EXAMPLE_MODEL, 'utf8'));
  edit?.(json);
  const modelPath = join(dir, 'model.json');
  const shardPath = join(dir, 'group1-shard1of1.bin');
  await writeFile(modelPath, JSON.stringify(json));
  await copyFile(join(dirname(EXAMPLE_MODEL), 'group1-shard1of1.bin'), shardPath);
  return { dir, modelPath, shardPath };
}
