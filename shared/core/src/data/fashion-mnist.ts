import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { readIdx } from './idx.js';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** A labelled image set in pixel space: uint8 pixels, NHWC with one channel. */
export interface LabelledImages {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
  channels: number;
}

async function firstExisting(dir: string, stem: string): Promise<string> {
  for (const name of [`${stem}.gz`, stem]) {
    const path = join(dir, name);
    if (
      await access(path).then(
        () => true,
        () => false,
      )
    )
      return path;
  }
  throw new Error(
    `${join(dir, stem)}(.gz) not found. Install Debian's dataset-fashion-mnist package ` +
      `(apt-get install dataset-fashion-mnist) or pass the directory holding the IDX files.`,
  );
}

/** Reads Fashion-MNIST's `t10k` (test) or `train` split from a directory of IDX files, gzipped or not. */
export async function loadFashionMnist(dir: string, split: 'test' | 'train'): Promise<LabelledImages> {
  const prefix = split === 'test' ? 't10k' : 'train';
  const images = await readIdx(await firstExisting(dir, `${prefix}-images-idx3-ubyte`));
  const labels = await readIdx(await firstExisting(dir, `${prefix}-labels-idx1-ubyte`));
  const [count, height, width] = images.dims;
  if (images.dims.length !== 3 || count === undefined || height === undefined || width === undefined) {
    throw new Error(`${dir}: ${prefix} images are not a 3-d IDX array`);
  }
  if (labels.dims[0] !== count) throw new Error(`${dir}: ${count} images but ${labels.dims[0]} labels`);
  return {
    images: images.data as Uint8Array,
    labels: labels.data as Uint8Array,
    count,
    height,
    width,
    channels: 1,
  };
}
