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

/** native/pool.h's PoolGeometry. */
function poolGeometry(info: backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.effectiveFilterHeight,
    info.effectiveFilterWidth,
    info.padInfo.top,
    info.padInfo.left,
  ]);
}

function fourD(t: TensorInfo | undefined): t is TensorInfo {
  return t !== undefined && t.shape.length === 4;
}

/** MaxPool: each window's maximum (a window of NaNs gives -Infinity, as on cpu). */
export const maxPool = defineKernel<MaxPoolInputs, MaxPoolAttrs>(
  MaxPool,
  (addon, { inputs: { x }, backend, attrs }) => {
    if (!fourD(x) || attrs.filterSize === 1 || sizeOf(x.shape) === 0) return null;
    const values = floatValues(backend, x);
    if (values === null) return null;
    const info = poolInfo(x.shape, attrs);
    if (sizeOf(info.outShape) === 0) return null;
    const out = allocOutput(sizeOf(info.outShape));
    addon.maxPool(values, out, poolGeometry(info));
    return backend.makeTensorInfo(info.outShape, 'float32', out);
  },
);

/**
 * MaxPool's gradient: each output's upstream gradient goes to the first maximum of its window
 * (the cpu kernel's choice, scanning rows then columns). The cpu kernel's per-element buffer indexing
 * took 12.8 s per call on a 224x224 ResNet-18's stem pool; a TypeScript scan 97 ms; native/pool.cc ~5.
 */
export const maxPoolGrad = defineKernel<MaxPoolGradInputs, MaxPoolGradAttrs>(
  MaxPoolGrad,
  (addon, { inputs: { dy, input }, backend, attrs }) => {
    if (dy === undefined || !fourD(input) || sizeOf(input.shape) === 0) return null;
    const x = floatValues(backend, input);
    const g = floatValues(backend, dy);
    if (x === null || g === null) return null;
    const info = poolInfo(input.shape, attrs);
    if (sizeOf(info.outShape) === 0) return null;
    const dx = allocOutput(sizeOf(input.shape));
    addon.maxPoolGrad(x, g, dx, poolGeometry(info));
    return backend.makeTensorInfo(input.shape, 'float32', dx);
  },
);
