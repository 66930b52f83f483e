// The three convolution computations shared by the plain, fused and depthwise kernels.
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon.js';
import { convGeometry } from './conv_geometry.js';
import { type Epilogue, plainEpilogue } from './epilogue.js';
import { allocOutput, floatValues, sizeOf } from './types.js';

/** y = conv(x, filter), then the epilogue. Null if the cpu kernel must handle it. */
export function convForward(
  addon: NativeAddon,
  backend: MathBackendCPU,
  info: backend_util.Conv2DInfo,
  depthwise: boolean,
  x: TensorInfo,
  filter: TensorInfo,
  epilogue: Epilogue | null = plainEpilogue,
): TensorInfo | null {
  const geometry = convGeometry(info, depthwise);
  const xValues = floatValues(backend, x);
  const filterValues = floatValues(backend, filter);
  if (geometry === null || xValues === null || filterValues === null || epilogue === null) return null;
  const y = allocOutput(sizeOf(info.outShape));
  const { bias, activation, leakyAlpha, preluSlopes } = epilogue;
  addon.convForward(xValues, filterValues, bias, y, geometry, activation, leakyAlpha, preluSlopes);
  return backend.makeTensorInfo(info.outShape, 'float32', y);
}

/** dx = gradient of conv(x, filter) with respect to x, given dy. */
export function convBackwardData(
  addon: NativeAddon,
  backend: MathBackendCPU,
  info: backend_util.Conv2DInfo,
  depthwise: boolean,
  dy: TensorInfo,
  filter: TensorInfo,
): TensorInfo | null {
  const geometry = convGeometry(info, depthwise);
  const dyValues = floatValues(backend, dy);
  const filterValues = floatValues(backend, filter);
  if (
    geometry === null ||
    dyValues === null ||
    filterValues === null ||
    !sameShape(dy.shape, info.outShape)
  ) {
    return null;
  }
  const dx = allocOutput(sizeOf(info.inShape));
  addon.convBackwardData(dyValues, filterValues, dx, geometry);
  return backend.makeTensorInfo(info.inShape, 'float32', dx);
}

/** dFilter = gradient of conv(x, filter) with respect to the filter, given dy. */
export function convBackwardFilter(
  addon: NativeAddon,
  backend: MathBackendCPU,
  info: backend_util.Conv2DInfo,
  depthwise: boolean,
  x: TensorInfo,
  dy: TensorInfo,
): TensorInfo | null {
  const geometry = convGeometry(info, depthwise);
  const xValues = floatValues(backend, x);
  const dyValues = floatValues(backend, dy);
  if (geometry === null || xValues === null || dyValues === null || !sameShape(dy.shape, info.outShape)) {
    return null;
  }
  const dFilter = allocOutput(sizeOf(info.filterShape));
  addon.convBackwardFilter(xValues, dyValues, dFilter, geometry);
  return backend.makeTensorInfo(info.filterShape, 'float32', dFilter);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
