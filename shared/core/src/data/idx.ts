import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

/** An IDX array (the MNIST file format): its dimensions and raw values. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<
  number,
  { size: number; read: (v: DataView, o: number) => number; make: (n: number) => IdxArray['data'] }
> = {
  8: { size: 1, read: (v, o) => v.getUint8(o), make: (n) => new Uint8Array(n) },
  9: { size: 1, read: (v, o) => v.getInt8(o), make: (n) => new Int8Array(n) },
  11: { size: 2, read: (v, o) => v.getInt16(o, false), make: (n) => new Int16Array(n) },
  12: { size: 4, read: (v, o) => v.getInt32(o, false), make: (n) => new Int32Array(n) },
  13: { size: 4, read: (v, o) => v.getFloat32(o, false), make: (n) => new Float32Array(n) },
  14: { size: 8, read: (v, o) => v.getFloat64(o, false), make: (n) => new Float64Array(n) },
};

/** Parses an IDX buffer, gunzipping it first when it starts with the gzip magic bytes. */
export function parseIdx(raw: Uint8Array, source = 'IDX data'): IdxArray {
  const bytes = raw[0] === 0x1f && raw[1] === 0x8b ? new Uint8Array(gunzipSync(raw)) : raw;
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0)
    throw new Error(`${source}: not an IDX file (bad magic number)`);
  const type = TYPES[bytes[2] as number];
  if (!type) throw new Error(`${source}: unknown IDX element type 0x${(bytes[2] as number).toString(16)}`);
  const rank = bytes[3] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw new Error(`${source}: truncated IDX header`);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length < header + count * type.size) {
    throw new Error(
      `${source}: IDX body holds ${bytes.length - header} bytes, dims ${dims.join('x')} need ${count * type.size}`,
    );
  }
  let data: IdxArray['data'];
  if (type.size === 1 && bytes[2] === 0x08) {
    data = bytes.slice(header, header + count);
  } else {
    data = type.make(count);
    for (let i = 0; i < count; i++) data[i] = type.read(view, header + i * type.size);
  }
  return { dims, data };
}

export async function readIdx(path: string): Promise<IdxArray> {
  return parseIdx(await readFile(path), path);
}
