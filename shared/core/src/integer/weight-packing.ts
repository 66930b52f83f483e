/**
 * Integer weights packed as tightly as their bit width allows: binary 1 bit (set = +1, clear = -1),
 * ternary 2 bits (two's complement: 00 = 0, 01 = +1, 11 = -1), 3-4 bits as signed nibbles, 5-8 bits
 * as int8, 9-16 bits as little-endian int16. Sub-byte values fill each byte from its low bits up.
 */

export type WeightEncoding = 'binary1' | 'ternary2' | 'int4' | 'int8' | 'int16';

export function weightEncoding(bits: number): WeightEncoding {
  if (!Number.isInteger(bits) || bits < 1 || bits > 16)
    throw new RangeError(`weight bits must be an integer in [1, 16], got ${bits}`);
  if (bits === 1) return 'binary1';
  if (bits === 2) return 'ternary2';
  if (bits <= 4) return 'int4';
  if (bits <= 8) return 'int8';
  return 'int16';
}

const BITS_PER_WEIGHT: Record<WeightEncoding, number> = {
  binary1: 1,
  ternary2: 2,
  int4: 4,
  int8: 8,
  int16: 16,
};

export function packedByteLength(count: number, bits: number): number {
  return Math.ceil((count * BITS_PER_WEIGHT[weightEncoding(bits)]) / 8);
}

function checkRange(q: Int32Array, bits: number): void {
  const binary = bits === 1;
  const limit = bits === 2 ? 1 : 2 ** (bits - 1) - 1;
  for (let i = 0; i < q.length; i++) {
    const v = q[i] as number;
    if (binary ? v !== 1 && v !== -1 : v < -limit || v > limit)
      throw new RangeError(
        `weight ${i} = ${v} does not fit ${bits} bit(s) (${binary ? '±1' : `|q| ≤ ${limit}`})`,
      );
  }
}

export function packWeights(q: Int32Array, bits: number): Uint8Array {
  checkRange(q, bits);
  const encoding = weightEncoding(bits);
  const out = new Uint8Array(packedByteLength(q.length, bits));
  if (encoding === 'int8') {
    new Int8Array(out.buffer).set(q);
    return out;
  }
  if (encoding === 'int16') {
    const view = new DataView(out.buffer);
    for (let i = 0; i < q.length; i++) view.setInt16(2 * i, q[i] as number, true);
    return out;
  }
  const width = BITS_PER_WEIGHT[encoding];
  const mask = (1 << width) - 1;
  const perByte = 8 / width;
  for (let i = 0; i < q.length; i++) {
    const v = q[i] as number;
    const code = encoding === 'binary1' ? (v > 0 ? 1 : 0) : v & mask;
    const at = Math.floor(i / perByte);
    out[at] = (out[at] as number) | (code << ((i % perByte) * width));
  }
  return out;
}

export function unpackWeights(bytes: Uint8Array, bits: number, count: number): Int32Array {
  const encoding = weightEncoding(bits);
  if (bytes.length < packedByteLength(count, bits))
    throw new RangeError(
      `${count} weights at ${bits} bits need ${packedByteLength(count, bits)} bytes, got ${bytes.length}`,
    );
  const out = new Int32Array(count);
  if (encoding === 'int8') {
    out.set(new Int8Array(bytes.buffer, bytes.byteOffset, count));
    return out;
  }
  if (encoding === 'int16') {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, true);
    return out;
  }
  const width = BITS_PER_WEIGHT[encoding];
  const mask = (1 << width) - 1;
  const perByte = 8 / width;
  const signBit = 1 << (width - 1);
  for (let i = 0; i < count; i++) {
    const code = ((bytes[Math.floor(i / perByte)] as number) >> ((i % perByte) * width)) & mask;
    out[i] = encoding === 'binary1' ? (code ? 1 : -1) : code & signBit ? code - (1 << width) : code;
  }
  return out;
}
