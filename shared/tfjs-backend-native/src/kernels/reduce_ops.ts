// Sum and Mean over float32 tensors whose reduced axes form one block once size-1 axes are ignored
// (e.g. N, H, W of an NHWC tensor: per-channel statistics). Other axis sets go to the cpu kernel.
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { backend_util, type TensorInfo, util } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon.js';
import { allocOutput, floatValues, sizeOf } from './types.js';

interface Blocks {
  outer: number;
  reduce: number;
  inner: number;
}

/** x as [outer, reduce, inner], or null if the reduced axes are not one block. */
export function reductionBlocks(shape: readonly number[], axes: readonly number[]): Blocks | null {
  const blocks: Blocks = { outer: 1, reduce: 1, inner: 1 };
  // Walk the axes in order: kept axes before the first reduced one, reduced ones, then kept ones.
  let phase: keyof Blocks = 'outer';
  for (let i = 0; i < shape.length; i++) {
    const size = shape[i] as number;
    if (size === 1) continue;
    const reduced = axes.includes(i);
    if (reduced && phase === 'inner') return null;
    if (reduced) phase = 'reduce';
    else if (phase === 'reduce') phase = 'inner';
    blocks[phase] *= size;
  }
  return blocks;
}

export function reduceSum(
  addon: NativeAddon,
  backend: MathBackendCPU,
  x: TensorInfo,
  axis: number | number[],
  keepDims: boolean,
  mean: boolean,
): TensorInfo | null {
  const values = floatValues(backend, x);
  if (values === null || sizeOf(x.shape) === 0) return null;
  let axes: number[];
  try {
    axes = util.parseAxisParam(axis, x.shape);
  } catch {
    return null; // let the cpu kernel raise its error
  }
  const blocks = reductionBlocks(x.shape, axes);
  if (blocks === null) return null;
  const [outShape, reduceShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
  const out = allocOutput(blocks.outer * blocks.inner);
  // Mean divides every term before summing, exactly like the cpu kernel.
  addon.reduceSum(values, out, blocks.outer, blocks.reduce, blocks.inner, mean ? sizeOf(reduceShape) : 1);
  const shape = keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
  return backend.makeTensorInfo(shape, 'float32', out);
}

/** The reduced axes of x as one [outer, reduce, inner] block, with the output shape, or null. */
function reductionOf(
  x: TensorInfo,
  axis: number | number[],
): { blocks: Blocks; axes: number[]; outShape: number[] } | null {
  if (sizeOf(x.shape) === 0) return null;
  let axes: number[];
  try {
    axes = util.parseAxisParam(axis, x.shape);
  } catch {
    return null; // let the cpu kernel raise its error
  }
  const blocks = reductionBlocks(x.shape, axes);
  if (blocks === null) return null;
  const [outShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
  return { blocks, axes, outShape };
}

/** Max or Min over float32 x; null for what the addon can't serve. */
export function reduceExtreme(
  addon: NativeAddon,
  backend: MathBackendCPU,
  x: TensorInfo,
  axis: number | number[],
  keepDims: boolean,
  isMax: boolean,
): TensorInfo | null {
  const values = floatValues(backend, x);
  const reduction = values === null ? null : reductionOf(x, axis);
  if (values === null || reduction === null) return null;
  const { blocks, axes, outShape } = reduction;
  const out = allocOutput(blocks.outer * blocks.inner);
  addon.reduceExtreme(values, out, blocks.outer, blocks.reduce, blocks.inner, isMax);
  const shape = keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
  return backend.makeTensorInfo(shape, 'float32', out);
}

/** ArgMax of float32 x along one axis (int32 output); null for what the addon can't serve. */
export function argMaxOf(
  addon: NativeAddon,
  backend: MathBackendCPU,
  x: TensorInfo,
  axis: number,
): TensorInfo | null {
  const values = floatValues(backend, x);
  const reduction = values === null ? null : reductionOf(x, [axis]);
  if (values === null || reduction === null) return null;
  const { blocks, outShape } = reduction;
  const out = new Int32Array(blocks.outer * blocks.inner);
  addon.argMax(values, out, blocks.outer, blocks.reduce, blocks.inner);
  return backend.makeTensorInfo(outShape, 'int32', out);
}
