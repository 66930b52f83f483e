import { Sum, type SumAttrs, type SumInputs } from '@tensorflow/tfjs-core';
import { reduceSum } from './reduce_ops.js';
import { defineKernel } from './types.js';

export const sum = defineKernel<SumInputs, SumAttrs>(Sum, (addon, { inputs: { x }, backend, attrs }) =>
  x === undefined ? null : reduceSum(addon, backend, x, attrs.axis, attrs.keepDims, false),
);
