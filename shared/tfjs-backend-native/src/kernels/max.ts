import { Max, type MaxAttrs, type MaxInputs } from '@tensorflow/tfjs-core';
import { reduceExtreme } from './reduce_ops.js';
import { defineKernel } from './types.js';

export const max = defineKernel<MaxInputs, MaxAttrs>(Max, (addon, { inputs: { x }, backend, attrs }) =>
  x === undefined ? null : reduceExtreme(addon, backend, x, attrs.reductionIndices, attrs.keepDims, true),
);
