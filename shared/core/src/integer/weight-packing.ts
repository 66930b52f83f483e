/**
 * Integer weights packed at exactly their bit width, as one little-endian bit stream: value i takes
 * bits [i·w, (i+1)·w), each byte filled from its low bit up. Binary (1 bit) stores set = +1,
 * clear = -1; every other width stores two's complement (ternary 2 bits: 00 = 0, 01 = +1, 11 = -1).
 * At 4, 8 and 16 bits this is the same layout as signed nibbles, int8 and little-endian int16.
 *
 * Files written before every width packed tightly stored 3 bits as int4, 5-7 as int8 and 9-15 as
 * int16; the encoding names the stored width, so those still read.
 */

export type WeightEncoding = 'binary1' | 'ternary2' | `int${number}`;

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 16)
    throw new RangeError(`weight bits must be an integer in [1, 16], got ${bits}`);
}

export function weightEncoding(bits: number): WeightEncoding {
  checkBits(bits);
  if (bits === 1) return 'binary1';
  if (bits === 2) return 'ternary2';
  return `int${bits}`;
}

/** The bits one value takes in an encoding, or null when the name is not one. */
export function encodingWidth(encoding: string): number | null {
  if (encoding === 'binary1') return 1;
  if (encoding === 'ternary2') return 2;
  const match = /^int(\d+)$/.exec(encoding);
  const width = match ? Number(match[1]) : Number.NaN;
  return width >= 3 && width <= 16 ? width : null;
}

export function packedByteLength(count: number, bits: number): number {
  checkBits(bits);
  return Math.ceil((count * bits) / 8);
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
  const out = new Uint8Array(packedByteLength(q.length, bits));
  if (bits === 8) {
    new Int8Array(out.buffer).set(q);
    return out;
  }
  const mask = (1 << bits) - 1;
  let bit = 0;
  for (let i = 0; i < q.length; i++) {
    const v = q[i] as number;
    let code = bits === 1 ? (v > 0 ? 1 : 0) : v & mask;
    // A value may straddle up to three bytes (16 bits starting mid-byte).
    for (let left = bits; left > 0; ) {
      const at = bit >> 3;
      const shift = bit & 7;
      const take = Math.min(left, 8 - shift);
      out[at] = (out[at] as number) | ((code & ((1 << take) - 1)) << shift);
      code >>= take;
      bit += take;
      left -= take;
    }
  }
  return out;
}

/**
 * Reads `count` weights stored in `encoding` (by default the one `bits` packs as). A stored width
 * wider than `bits` is accepted (older files), a narrower one is not.
 */
export function unpackWeights(
  bytes: Uint8Array,
  bits: number,
  count: number,
  encoding: string = weightEncoding(bits),
): Int32Array {
  checkBits(bits);
  const width = encodingWidth(encoding);
  if (width === null || width < bits || (width === 1) !== (bits === 1))
    throw new RangeError(`${bits}-bit weights cannot be stored as ${encoding}`);
  const need = Math.ceil((count * width) / 8);
  if (bytes.length < need)
    throw new RangeError(`${count} weights at ${width} bits need ${need} bytes, got ${bytes.length}`);
  const out = new Int32Array(count);
  if (width === 8) {
    out.set(new Int8Array(bytes.buffer, bytes.byteOffset, count));
    return out;
  }
  const signBit = 1 << (width - 1);
  let bit = 0;
  for (let i = 0; i < count; i++) {
    let code = 0;
    for (let got = 0; got < width; ) {
      const at = bit >> 3;
      const shift = bit & 7;
      const take = Math.min(width - got, 8 - shift);
      code |= (((bytes[at] as number) >> shift) & ((1 << take) - 1)) << got;
      got += take;
      bit += take;
    }
    out[i] = width === 1 ? (code ? 1 : -1) : code & signBit ? code - (1 << width) : code;
  }
  return out;
}
