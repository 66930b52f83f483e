import { Min, type MinAttrs, type MinInputs } from '@tensorflow/tfjs-core';
import { reduceExtreme } from './reduce_ops.js';
import { defineKernel } from './types.js';

export const min = defineKernel<MinInputs, MinAttrs>(Min, (addon, { inputs: { x }, backend, attrs }) =>
  x === undefined ? null : reduceExtreme(addon, backend, x, attrs.axis, attrs.keepDims, false),
);
