import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface FilePart {
  name: string;
  data: Buffer | string;
}

/** A multipart/form-data body built by the platform's own FormData, ready for app.inject. */
export async function multipart(files: FilePart[], fields: Record<string, string> = {}) {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  for (const file of files) form.append('files', new Blob([Buffer.from(file.data)]), file.name);
  const response = new Response(form);
  return {
    payload: Buffer.from(await response.arrayBuffer()),
    headers: { 'content-type': response.headers.get('content-type') ?? '' },
  };
}

/** The example model's model.json and weight shard as file parts. */
export async function exampleFiles(dir: string): Promise<FilePart[]> {
  return Promise.all(
    ['model.json', 'group1-shard1of1.bin'].map(async (name) => ({
      name,
      data: await readFile(join(dir, name)),
    })),
  );
}
