import type * as tf from '@tensorflow/tfjs';
import sharp, { type OverlayOptions } from 'sharp';
import type { InputNormalization } from '../model/graph.js';
import { toPixels } from './save-images.js';

export interface SheetEntry {
  /** Index of the image in the batch. */
  index: number;
  /** The class it was made for (its row). */
  label: number;
  /** Class the model assigns and its softmax confidence. */
  predicted: number;
  confidence: number;
}

const escapeXml = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A contact sheet with one row per target class (at most `perRow` images each) and, under each
 * image, the model's confidence in the target class (red when it predicts another class).
 */
export async function saveClassContactSheet(
  images: tf.Tensor4D,
  entries: SheetEntry[],
  norm: InputNormalization,
  classNames: string[],
  path: string,
  perRow = 12,
): Promise<void> {
  const [, height, width, channels] = images.shape;
  const scale = Math.max(1, Math.floor(56 / height));
  const cellW = width * scale + 8;
  const cellH = height * scale + 20;
  const labelW = 110;
  const classes = classNames.length;
  const sheetW = labelW + perRow * cellW;
  const sheetH = classes * cellH + 4;
  const pixels = toPixels(images, norm);
  const size = height * width * channels;
  const composites: OverlayOptions[] = [];
  let text = '';
  for (let c = 0; c < classes; c++) {
    const y = c * cellH + 4;
    text += `<text x="4" y="${y + (height * scale) / 2 + 5}" font-family="DejaVu Sans, sans-serif" font-size="12" fill="#ddd">${escapeXml(classNames[c] ?? String(c))}</text>`;
    const row = entries.filter((e) => e.label === c).slice(0, perRow);
    for (const [k, e] of row.entries()) {
      const x = labelW + k * cellW;
      const tile = await sharp(Buffer.from(pixels.subarray(e.index * size, (e.index + 1) * size)), {
        raw: { width, height, channels: channels as 1 | 3 },
      })
        .resize(width * scale, height * scale, { kernel: 'nearest' })
        .png()
        .toBuffer();
      composites.push({ input: tile, left: x, top: y });
      const color = e.predicted === e.label ? '#8f8' : '#f66';
      text += `<text x="${x}" y="${y + height * scale + 13}" font-family="DejaVu Sans, sans-serif" font-size="11" fill="${color}">${(100 * e.confidence).toFixed(0)}%</text>`;
    }
  }
  const overlay = Buffer.from(
    `<svg width="${sheetW}" height="${sheetH}" xmlns="http://www.w3.org/2000/svg">${text}</svg>`,
  );
  composites.push({ input: overlay, left: 0, top: 0 });
  await sharp({ create: { width: sheetW, height: sheetH, channels: 3, background: '#202020' } })
    .composite(composites)
    .png()
    .toFile(path);
}
