// ArgMax (the prediction of every evaluated batch): the index of the first largest value.
import { ArgMax, type ArgMaxAttrs, type ArgMaxInputs } from '@tensorflow/tfjs-core';
import { argMaxOf } from './reduce_ops.js';
import { defineKernel } from './types.js';

export const argMax = defineKernel<ArgMaxInputs, ArgMaxAttrs>(
  ArgMax,
  (addon, { inputs: { x }, backend, attrs }) =>
    x === undefined || typeof attrs.axis !== 'number' ? null : argMaxOf(addon, backend, x, attrs.axis),
);
