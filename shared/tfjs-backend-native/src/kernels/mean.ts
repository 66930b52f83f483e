import { Mean, type MeanAttrs, type MeanInputs } from '@tensorflow/tfjs-core';
import { reduceSum } from './reduce_ops.js';
import { defineKernel } from './types.js';

export const mean = defineKernel<MeanInputs, MeanAttrs>(Mean, (addon, { inputs: { x }, backend, attrs }) =>
  x === undefined ? null : reduceSum(addon, backend, x, attrs.axis, attrs.keepDims, true),
);
