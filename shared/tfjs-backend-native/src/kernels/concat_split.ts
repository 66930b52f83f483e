// Concatenation, its gradient (SplitV) and Reverse, as strided copies. The cpu kernels copy element by
// element through index arithmetic (or, for SplitV, through the cpu Slice, never through ours): with
// the image jitter of synthesis on a 224x224 model, SplitV and Reverse took 5.6 s of a 6.5 s step.
import {
  backend_util,
  Concat,
  type ConcatAttrs,
  type ConcatInputs,
  Reverse,
  type ReverseAttrs,
  type ReverseInputs,
  SplitV,
  type SplitVAttrs,
  type SplitVInputs,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon.js';
import { contiguousStrides, stridedLayout } from './strided.js';
import { allocOutput, defineKernel, floatValues, sizeOf } from './types.js';

/** Copies the block `dims` of src (starting at srcOffset) into dst (starting at dstOffset). */
function copyBlock(
  addon: NativeAddon,
  src: Float32Array,
  srcShape: readonly number[],
  srcOffset: number,
  dst: Float32Array,
  dstShape: readonly number[],
  dstOffset: number,
  dims: readonly number[],
): void {
  if (sizeOf(dims) === 0) return;
  addon.stridedCopy(
    src.subarray(srcOffset),
    dst.subarray(dstOffset),
    stridedLayout(dims, [contiguousStrides(srcShape), contiguousStrides(dstShape)]),
  );
}

export const concat = defineKernel<ConcatInputs, ConcatAttrs>(Concat, (addon, { inputs, backend, attrs }) => {
  const tensors = inputs as unknown as TensorInfo[];
  if (tensors.length < 2 || tensors.some((t) => t.shape.length === 0)) return null;
  const values = tensors.map((t) => floatValues(backend, t));
  if (values.some((v) => v === null)) return null;
  const shapes = tensors.map((t) => t.shape);
  const axis = util.parseAxisParam(attrs.axis, shapes[0] as number[])[0] as number;
  let outShape: number[];
  try {
    backend_util.assertParamsConsistent(shapes, axis);
    outShape = backend_util.computeOutShape(shapes, axis);
  } catch {
    return null; // let the cpu kernel raise its error
  }
  if (sizeOf(outShape) === 0) return null;
  const out = allocOutput(sizeOf(outShape));
  const outStrides = contiguousStrides(outShape);
  let at = 0;
  tensors.forEach((t, i) => {
    copyBlock(
      addon,
      values[i] as Float32Array,
      t.shape,
      0,
      out,
      outShape,
      at * (outStrides[axis] as number),
      t.shape,
    );
    at += t.shape[axis] as number;
  });
  return backend.makeTensorInfo(outShape, 'float32', out);
});

export const splitV = defineKernel<SplitVInputs, SplitVAttrs>(
  SplitV,
  (addon, { inputs: { x }, backend, attrs }) => {
    if (x === undefined || x.shape.length === 0 || sizeOf(x.shape) === 0) return null;
    const values = floatValues(backend, x);
    if (values === null) return null;
    const axis = util.parseAxisParam(attrs.axis, x.shape)[0] as number;
    let sizes: number[];
    try {
      sizes = backend_util.prepareSplitSize(x as never, attrs.numOrSizeSplits, axis) as number[];
    } catch {
      return null; // let the cpu kernel raise its error
    }
    const strides = contiguousStrides(x.shape);
    let at = 0;
    return sizes.map((s) => {
      const shape = [...x.shape];
      shape[axis] = s;
      const out = allocOutput(sizeOf(shape));
      copyBlock(addon, values, x.shape, at * (strides[axis] as number), out, shape, 0, shape);
      at += s;
      return backend.makeTensorInfo(shape, 'float32', out);
    });
  },
);

/** Reverse: one strided copy per index of each reversed axis (a few hundred calls at most). */
export const reverse = defineKernel<ReverseInputs, ReverseAttrs>(
  Reverse,
  (addon, { inputs: { x }, backend, attrs }) => {
    if (x === undefined || x.shape.length === 0 || sizeOf(x.shape) === 0) return null;
    let current = floatValues(backend, x);
    if (current === null) return null;
    const axes = util.parseAxisParam(attrs.dims, x.shape).filter((a) => (x.shape[a] as number) > 1);
    const strides = contiguousStrides(x.shape);
    for (const axis of axes) {
      const out = allocOutput(sizeOf(x.shape));
      const size = x.shape[axis] as number;
      const slab = x.shape.map((d, i) => (i === axis ? 1 : d));
      const step = strides[axis] as number;
      for (let i = 0; i < size; i++) {
        copyBlock(addon, current, x.shape, i * step, out, x.shape, (size - 1 - i) * step, slab);
      }
      current = out;
    }
    if (axes.length === 0) {
      const out = allocOutput(sizeOf(x.shape));
      out.set(current);
      current = out;
    }
    return backend.makeTensorInfo(x.shape, 'float32', current);
  },
);
