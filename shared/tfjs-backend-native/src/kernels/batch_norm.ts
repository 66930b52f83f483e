import { FusedBatchNorm, type FusedBatchNormAttrs, type FusedBatchNormInputs } from '@tensorflow/tfjs-core';
import { allocOutput, defineKernel, floatValues } from './types.js';

const one = new Float32Array([1]);
const zero = new Float32Array([0]);

export const batchNorm = defineKernel<FusedBatchNormInputs, FusedBatchNormAttrs>(
  FusedBatchNorm,
  (addon, { inputs: { x, mean, variance, scale, offset }, backend, attrs }) => {
    if (x === undefined || mean === undefined || variance === undefined) return null;
    // The cpu kernel requires equal ranks; let it raise its error otherwise.
    const rank = mean.shape.length;
    if ([variance, scale, offset].some((t) => t !== undefined && t.shape.length !== rank)) return null;
    const xValues = floatValues(backend, x);
    const meanValues = floatValues(backend, mean);
    const varianceValues = floatValues(backend, variance);
    const scaleValues = scale === undefined ? one : floatValues(backend, scale);
    const offsetValues = offset === undefined ? zero : floatValues(backend, offset);
    if (xValues === null || meanValues === null || varianceValues === null) return null;
    if (scaleValues === null || offsetValues === null) return null;
    if ([xValues, meanValues, varianceValues, scaleValues, offsetValues].some((v) => v.length === 0))
      return null;
    const out = allocOutput(xValues.length);
    const epsilon = attrs.varianceEpsilon ?? 0.001;
    addon.batchNorm(xValues, meanValues, varianceValues, scaleValues, offsetValues, epsilon, out);
    return backend.makeTensorInfo(x.shape, 'float32', out);
  },
);
