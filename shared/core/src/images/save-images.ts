import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { denormalize } from '../data/normalize.js';
import type { InputNormalization } from '../model/graph.js';

/** Normalized NHWC images back to uint8 pixels. */
export function toPixels(images: tf.Tensor4D, norm: InputNormalization): Uint8Array {
  return tf.tidy(() =>
    Uint8Array.from(denormalize(images, norm).mul(255).round().clipByValue(0, 255).dataSync()),
  );
}

/**
 * Writes each image as `image-0000.png` under `dir` and a contact sheet (`contact-sheet.png`)
 * with up to 16 images a row, scaled so small inputs stay visible.
 */
export async function saveImages(
  images: tf.Tensor4D,
  norm: InputNormalization,
  dir: string,
): Promise<{ files: string[]; contactSheet: string }> {
  await mkdir(dir, { recursive: true });
  const [count, height, width, channels] = images.shape;
  const pixels = toPixels(images, norm);
  const size = height * width * channels;
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = join(dir, `image-${String(i).padStart(4, '0')}.png`);
    await sharp(Buffer.from(pixels.subarray(i * size, (i + 1) * size)), {
      raw: { width, height, channels: channels as 1 | 3 },
    })
      .png()
      .toFile(file);
    files.push(file);
  }
  const perRow = Math.min(16, count);
  const rows = Math.ceil(count / perRow);
  const gap = 2;
  const sheetWidth = perRow * (width + gap) + gap;
  const sheetHeight = rows * (height + gap) + gap;
  const sheet = Buffer.alloc(sheetWidth * sheetHeight * channels, 64);
  for (let i = 0; i < count; i++) {
    const x0 = gap + (i % perRow) * (width + gap);
    const y0 = gap + Math.floor(i / perRow) * (height + gap);
    for (let y = 0; y < height; y++) {
      const src = i * size + y * width * channels;
      sheet.set(pixels.subarray(src, src + width * channels), ((y0 + y) * sheetWidth + x0) * channels);
    }
  }
  const contactSheet = join(dir, 'contact-sheet.png');
  const scale = Math.max(1, Math.floor(64 / height));
  await sharp(sheet, { raw: { width: sheetWidth, height: sheetHeight, channels: channels as 1 | 3 } })
    .resize(sheetWidth * scale, sheetHeight * scale, { kernel: 'nearest' })
    .png()
    .toFile(contactSheet);
  return { files, contactSheet };
}
