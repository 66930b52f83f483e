import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-write.js';

/** A float32 array with its shape, as stored in a .npy file. */
export interface Float32Array_ND {
  shape: number[];
  data: Float32Array;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** Encodes a float32 array as NumPy's .npy (version 1.0), so artifacts open anywhere. */
export function encodeNpy(array: Float32Array_ND): Buffer {
  const dims = array.shape.length === 1 ? `${array.shape[0]},` : array.shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  // The header is padded with spaces so the data starts on a 64-byte boundary.
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64);
  const head = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(head);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length + 1, 8);
  const body = Buffer.from(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  return Buffer.concat([head, Buffer.from(`${header}\n`, 'latin1'), body]);
}

export function decodeNpy(buffer: Buffer, source = 'npy data'): Float32Array_ND {
  if (!buffer.subarray(0, 6).equals(MAGIC)) throw new Error(`${source}: not a .npy file`);
  const major = buffer[6];
  const headerLength = major === 1 ? buffer.readUInt16LE(8) : buffer.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buffer.subarray(start, start + headerLength).toString('latin1');
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header)) {
    throw new Error(`${source}: only little-endian float32 C-order arrays are supported`);
  }
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw new Error(`${source}: .npy header has no shape`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLength;
  if (buffer.length - offset !== 4 * count) {
    throw new Error(
      `${source}: .npy body holds ${buffer.length - offset} bytes, shape ${shape.join('x')} needs ${4 * count}`,
    );
  }
  const data = new Float32Array(count);
  Buffer.from(data.buffer).set(buffer.subarray(offset));
  return { shape, data };
}

export async function writeNpy(path: string, array: Float32Array_ND): Promise<void> {
  await writeFileAtomic(path, encodeNpy(array));
}

export async function readNpy(path: string): Promise<Float32Array_ND> {
  return decodeNpy(await readFile(path), path);
}
