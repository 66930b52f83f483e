import {
  backend_util,
  MaxPool,
  type MaxPoolAttrs,
  MaxPoolGrad,
  type MaxPoolGradAttrs,
  type MaxPoolGradInputs,
  type MaxPoolInputs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { allocOutput, defineKernel, floatValues, sizeOf } from './types.js';

type PoolAttrs = Pick<MaxPoolAttrs, 'filterSize' | 'strides' | 'pad' | 'dimRoundingMode'>;

/** The pooling geometry of an NHWC input. */
function poolInfo(shape: readonly number[], attrs: PoolAttrs): backend_util.Conv2DInfo {
  return backend_util.computePool2DInfo(
    shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

/**
 * Calls `visit(outIndex, at)` for every output of a max pool over the NHWC values `x`, with `at`
 * the index of its window's first maximum (scanning rows then columns, as the cpu kernel does),
 * or -1 for a window of NaNs.
 */
function scanWindows(
  x: Float32Array,
  info: backend_util.Conv2DInfo,
  visit: (outIndex: number, at: number) => void,
): void {
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const { effectiveFilterHeight, effectiveFilterWidth } = info;
  for (let b = 0; b < batchSize; b++) {
    const xBase = b * inHeight * inWidth * channels;
    for (let yR = 0; yR < outHeight; yR++) {
      const rCorner = yR * strideHeight - info.padInfo.top;
      const rMin = Math.max(0, rCorner);
      const rMax = Math.min(inHeight, rCorner + effectiveFilterHeight);
      for (let yC = 0; yC < outWidth; yC++) {
        const cCorner = yC * strideWidth - info.padInfo.left;
        const cMin = Math.max(0, cCorner);
        const cMax = Math.min(inWidth, cCorner + effectiveFilterWidth);
        const outBase = ((b * outHeight + yR) * outWidth + yC) * channels;
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
          visit(outBase + d, at);
        }
      }
    }
  }
}

function fourD(t: TensorInfo | undefined): t is TensorInfo {
  return t !== undefined && t.shape.length === 4;
}

/** MaxPool: each window's maximum (a window of NaNs gives -Infinity, as on cpu). */
export const maxPool = defineKernel<MaxPoolInputs, MaxPoolAttrs>(
  MaxPool,
  (_addon, { inputs: { x }, backend, attrs }) => {
    if (!fourD(x) || attrs.filterSize === 1 || sizeOf(x.shape) === 0) return null;
    const values = floatValues(backend, x);
    if (values === null) return null;
    const info = poolInfo(x.shape, attrs);
    const out = allocOutput(sizeOf(info.outShape));
    scanWindows(values, info, (o, at) => {
      out[o] = at < 0 ? Number.NEGATIVE_INFINITY : (values[at] as number);
    });
    return backend.makeTensorInfo(info.outShape, 'float32', out);
  },
);

/**
 * MaxPool's gradient: each output's upstream gradient goes to the first maximum of its window
 * (the cpu kernel's choice, scanning rows then columns). One pass over typed arrays: the cpu
 * kernel's per-element buffer indexing took 12.8 s per call on a 224x224 ResNet-18's stem pool.
 */
export const maxPoolGrad = defineKernel<MaxPoolGradInputs, MaxPoolGradAttrs>(
  MaxPoolGrad,
  (_addon, { inputs: { dy, input }, backend, attrs }) => {
    if (dy === undefined || !fourD(input)) return null;
    const x = floatValues(backend, input);
    const g = floatValues(backend, dy);
    if (x === null || g === null) return null;
    const dx = allocOutput(sizeOf(input.shape));
    dx.fill(0);
    scanWindows(x, poolInfo(input.shape, attrs), (o, at) => {
      if (at >= 0) dx[at] = (dx[at] as number) + (g[o] as number);
    });
    return backend.makeTensorInfo(input.shape, 'float32', dx);
  },
);
