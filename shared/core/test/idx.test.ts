import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadFashionMnist, parseIdx } from '../src/index.js';
import { FASHION_MNIST_DIR } from './helpers.js';

function idx(type: number, dims: number[], body: Buffer): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((d, i) => {
    header.writeUInt32BE(d, 4 + 4 * i);
  });
  return Buffer.concat([header, body]);
}

describe('IDX parsing', () => {
  const pixels = Buffer.from(Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 10));

  it('reads a uint8 3-d array, plain and gzipped alike', () => {
    for (const raw of [idx(0x08, [2, 3, 4], pixels), gzipSync(idx(0x08, [2, 3, 4], pixels))]) {
      const parsed = parseIdx(raw);
      expect(parsed.dims).toEqual([2, 3, 4]);
      expect(Array.from(parsed.data)).toEqual(Array.from(pixels));
    }
  });

  it('reads big-endian int32 and float32 elements', () => {
    const ints = Buffer.alloc(8);
    ints.writeInt32BE(-5, 0);
    ints.writeInt32BE(70000, 4);
    expect(Array.from(parseIdx(idx(0x0c, [2], ints)).data)).toEqual([-5, 70000]);
    const floats = Buffer.alloc(4);
    floats.writeFloatBE(1.5, 0);
    expect(Array.from(parseIdx(idx(0x0d, [1], floats)).data)).toEqual([1.5]);
  });

  it('rejects a bad magic number, an unknown type and a truncated body', () => {
    expect(() => parseIdx(Buffer.from([1, 0, 8, 1, 0, 0, 0, 1, 0]))).toThrow(/magic/);
    expect(() => parseIdx(idx(0x07, [1], Buffer.from([0])))).toThrow(/element type/);
    expect(() => parseIdx(idx(0x08, [2, 3, 4], pixels.subarray(0, 10)), 'x.idx')).toThrow(/x.idx.*need 24/);
  });

  it("reads Debian's Fashion-MNIST test split: 10,000 labelled 28x28 images", async () => {
    const test = await loadFashionMnist(FASHION_MNIST_DIR, 'test');
    expect([test.count, test.height, test.width]).toEqual([10000, 28, 28]);
    expect(test.images.length).toBe(10000 * 28 * 28);
    const perClass = new Array(10).fill(0);
    for (const l of test.labels) perClass[l]++;
    expect(perClass).toEqual(new Array(10).fill(1000));
  });

  it('says how to get the data when the directory lacks it', async () => {
    await expect(loadFashionMnist('/nonexistent', 'test')).rejects.toThrow(/dataset-fashion-mnist/);
  });
});
