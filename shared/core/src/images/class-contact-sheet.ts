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
 * A contact sheet with one row per target class that has images (at most `perRow` each) and, under
 * each image, the model's confidence in the target class (red when it predicts another class). Small
 * images are enlarged to about 56 pixels; large ones shrunk to at most 112, so that a 224x224 model
 * with 1000 classes gives a sheet of its images, not one past sharp's pixel limit.
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
  const scale = height > 112 ? 112 / height : Math.max(1, Math.floor(56 / height));
  const tileW = Math.max(1, Math.round(width * scale));
  const tileH = Math.max(1, Math.round(height * scale));
  const cellW = tileW + 8;
  const cellH = tileH + 20;
  const labelW = 110;
  const rows = [...new Set(entries.map((e) => e.label))].sort((a, b) => a - b);
  const sheetW = labelW + perRow * cellW;
  const sheetH = Math.max(1, rows.length) * cellH + 4;
  const pixels = toPixels(images, norm);
  const size = height * width * channels;
  const composites: OverlayOptions[] = [];
  let text = '';
  for (const [r, c] of rows.entries()) {
    const y = r * cellH + 4;
    text += `<text x="4" y="${y + tileH / 2 + 5}" font-family="DejaVu Sans, sans-serif" font-size="12" fill="#ddd">${escapeXml(classNames[c] ?? String(c))}</text>`;
    const row = entries.filter((e) => e.label === c).slice(0, perRow);
    for (const [k, e] of row.entries()) {
      const x = labelW + k * cellW;
      const tile = await sharp(Buffer.from(pixels.subarray(e.index * size, (e.index + 1) * size)), {
        raw: { width, height, channels: channels as 1 | 3 },
      })
        .resize(tileW, tileH, { kernel: scale >= 1 ? 'nearest' : 'lanczos3' })
        .png()
        .toBuffer();
      composites.push({ input: tile, left: x, top: y });
      const color = e.predicted === e.label ? '#8f8' : '#f66';
      text += `<text x="${x}" y="${y + tileH + 13}" font-family="DejaVu Sans, sans-serif" font-size="11" fill="${color}">${(100 * e.confidence).toFixed(0)}%</text>`;
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
