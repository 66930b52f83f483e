import { Slice, type SliceAttrs, type SliceInputs, slice_util } from '@tensorflow/tfjs-core';
import { contiguousStrides, stridedLayout } from './strided.js';
import { allocOutput, defineKernel, floatValues, sizeOf } from './types.js';

export const slice = defineKernel<SliceInputs, SliceAttrs>(
  Slice,
  (addon, { inputs: { x }, backend, attrs }) => {
    if (x === undefined) return null;
    const values = floatValues(backend, x);
    if (values === null) return null;
    const [begin, size] = slice_util.parseSliceParams(x, attrs.begin, attrs.size) as [number[], number[]];
    try {
      slice_util.assertParamsValid(x, begin, size);
    } catch {
      return null; // let the cpu kernel raise its error
    }
    // A contiguous slice is a view of the input in the cpu kernel: nothing to speed up.
    if (sizeOf(size) === 0 || slice_util.isSliceContinous(x.shape, begin, size)) return null;
    const strides = contiguousStrides(x.shape);
    const offset = begin.reduce((sum, b, i) => sum + b * (strides[i] as number), 0);
    const out = allocOutput(sizeOf(size));
    addon.stridedCopy(values.subarray(offset), out, stridedLayout(size, [strides, contiguousStrides(size)]));
    return backend.makeTensorInfo(size, 'float32', out);
  },
);
