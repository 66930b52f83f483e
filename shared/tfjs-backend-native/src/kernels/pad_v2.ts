import { PadV2, type PadV2Attrs, type PadV2Inputs } from '@tensorflow/tfjs-core';
import { contiguousStrides, stridedLayout } from './strided.js';
import { allocOutput, defineKernel, floatValues, sizeOf } from './types.js';

export const padV2 = defineKernel<PadV2Inputs, PadV2Attrs>(
  PadV2,
  (addon, { inputs: { x }, backend, attrs }) => {
    if (x === undefined) return null;
    const values = floatValues(backend, x);
    const { paddings, constantValue } = attrs;
    if (values === null || sizeOf(x.shape) === 0 || paddings.length !== x.shape.length) return null;
    if (paddings.some(([before, after]) => before < 0 || after < 0)) return null;
    const outShape = x.shape.map((size, i) => (paddings[i]?.[0] ?? 0) + size + (paddings[i]?.[1] ?? 0));
    // Only the interior is copied, so the border is filled first, zeros included.
    const out = allocOutput(sizeOf(outShape)).fill(constantValue);
    const outStrides = contiguousStrides(outShape);
    const offset = paddings.reduce((sum, [before], i) => sum + before * (outStrides[i] as number), 0);
    addon.stridedCopy(
      values,
      out.subarray(offset),
      stridedLayout(x.shape, [contiguousStrides(x.shape), outStrides]),
    );
    return backend.makeTensorInfo(outShape, 'float32', out);
  },
);
