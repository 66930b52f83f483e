// Translates TF.js's Conv2DInfo into the addon's geometry array (field order of native/conv.h).
import type { backend_util } from '@tensorflow/tfjs-core';

/**
 * Returns the geometry, or null when the addon can't reproduce the cpu kernel exactly (channels-first
 * data, empty tensors, or output sizes oneDNN's padding rules can't express).
 *
 * oneDNN derives the output size as floor((in + padBegin + padEnd - effectiveFilter) / stride) + 1 and
 * requires it to equal the given one. TF.js gets its output size from the pad mode and rounding mode
 * and may not pad at the end by exactly that amount (e.g. 'valid' with a stride that doesn't divide
 * evenly), so the end padding is recomputed here: the smallest non-negative value that gives TF's
 * output size. Any extra end padding is never read, so the results are the same.
 */
export function convGeometry(info: backend_util.Conv2DInfo, depthwise: boolean): Int32Array | null {
  if (info.dataFormat !== 'channelsLast') return null;
  const dims = [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth];
  if (dims.some((d) => d <= 0) || info.outChannels <= 0) return null;
  const { top, left } = info.padInfo;
  if (top < 0 || left < 0) return null;
  const bottom = endPad(info.inHeight, info.outHeight, info.effectiveFilterHeight, info.strideHeight, top);
  const right = endPad(info.inWidth, info.outWidth, info.effectiveFilterWidth, info.strideWidth, left);
  if (bottom === null || right === null) return null;
  return Int32Array.from([
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    top,
    left,
    bottom,
    right,
    depthwise ? info.inChannels : 1,
  ]);
}

function endPad(
  size: number,
  outSize: number,
  effectiveFilter: number,
  stride: number,
  begin: number,
): number | null {
  // Output position outSize - 1 must fit: the end padding must be at least this much...
  const minimum = (outSize - 1) * stride + effectiveFilter - size - begin;
  // ...and less than minimum + stride, or one more output position would fit.
  const pad = Math.max(minimum, 0);
  return pad < minimum + stride ? pad : null;
}
