import {
  backend_util,
  MaxPoolGrad,
  type MaxPoolGradAttrs,
  type MaxPoolGradInputs,
} from '@tensorflow/tfjs-core';
import { allocOutput, defineKernel, floatValues, sizeOf } from './types.js';

/**
 * MaxPool's gradient: each output's upstream gradient goes to the first maximum of its window
 * (the cpu kernel's choice, scanning rows then columns). One pass over typed arrays: the cpu
 * kernel's per-element buffer indexing took 12.8 s per call on a 224x224 ResNet-18's stem pool.
 */
export const maxPoolGrad = defineKernel<MaxPoolGradInputs, MaxPoolGradAttrs>(
  MaxPoolGrad,
  (_addon, { inputs: { dy, input }, backend, attrs }) => {
    if (dy === undefined || input === undefined || input.shape.length !== 4) return null;
    const x = floatValues(backend, input);
    const g = floatValues(backend, dy);
    if (x === null || g === null) return null;
    const info = backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
    const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
    const { effectiveFilterHeight, effectiveFilterWidth } = info;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const dx = allocOutput(sizeOf(input.shape));
    dx.fill(0);
    for (let b = 0; b < batchSize; b++) {
      const xBase = b * inHeight * inWidth * channels;
      for (let yR = 0; yR < outHeight; yR++) {
        const rCorner = yR * strideHeight - top;
        const rMin = Math.max(0, rCorner);
        const rMax = Math.min(inHeight, rCorner + effectiveFilterHeight);
        for (let yC = 0; yC < outWidth; yC++) {
          const cCorner = yC * strideWidth - left;
          const cMin = Math.max(0, cCorner);
          const cMax = Math.min(inWidth, cCorner + effectiveFilterWidth);
          const gBase = ((b * outHeight + yR) * outWidth + yC) * channels;
          for (let d = 0; d < channels; d++) {
            let best = Number.NEGATIVE_INFINITY;
            let at = -1;
            for (let r = rMin; r < rMax; r += dilationHeight) {
              for (let c = cMin; c < cMax; c += dilationWidth) {
                const i = xBase + (r * inWidth + c) * channels + d;
                const v = x[i] as number;
                if (v > best) {
                  best = v;
                  at = i;
                }
              }
            }
            if (at >= 0) dx[at] = (dx[at] as number) + (g[gBase + d] as number);
          }
        }
      }
    }
    return backend.makeTensorInfo(input.shape, 'float32', dx);
  },
);
