import { GatherV2, type GatherV2Attrs, type GatherV2Inputs, util } from '@tensorflow/tfjs-core';
import { allocOutput, defineKernel, floatValues, sizeOf } from './types.js';

/**
 * GatherV2 of float32 slices by a vector of indices (batchDims 0): one typed-array copy per slice. The
 * cpu kernel goes through TensorBuffers element by element: 10 ms to pick 64 images of 28x28.
 */
export const gatherV2 = defineKernel<GatherV2Inputs, GatherV2Attrs>(
  GatherV2,
  (_addon, { inputs, backend, attrs }) => {
    const { x, indices } = inputs;
    if (
      x === undefined ||
      indices === undefined ||
      indices.shape.length !== 1 ||
      (attrs.batchDims ?? 0) !== 0
    )
      return null;
    const values = floatValues(backend, x);
    const picks = backend.data.get(indices.dataId).values;
    if (values === null || !(picks instanceof Int32Array || picks instanceof Float32Array)) return null;
    const axis = util.parseAxisParam(attrs.axis, x.shape)[0] as number;
    const dim = x.shape[axis] as number;
    if (picks.some((i) => !(i >= 0 && i < dim && Number.isInteger(i)))) return null; // cpu raises the error
    const outer = sizeOf(x.shape.slice(0, axis));
    const slice = sizeOf(x.shape.slice(axis + 1));
    const outShape = [...x.shape];
    outShape[axis] = picks.length;
    const out = allocOutput(sizeOf(outShape));
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < picks.length; k++) {
        const from = (o * dim + (picks[k] as number)) * slice;
        out.set(values.subarray(from, from + slice), (o * picks.length + k) * slice);
      }
    }
    return backend.makeTensorInfo(outShape, 'float32', out);
  },
);
