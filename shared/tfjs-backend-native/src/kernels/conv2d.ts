import { backend_util, Conv2D, type Conv2DAttrs, type Conv2DInputs } from '@tensorflow/tfjs-core';
import { convForward } from './conv_ops.js';
import { defineKernel } from './types.js';

export const conv2d = defineKernel<Conv2DInputs, Conv2DAttrs>(Conv2D, (addon, { inputs, backend, attrs }) => {
  const { x, filter } = inputs;
  if (x === undefined || filter === undefined) return null;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
  return convForward(addon, backend, info, false, x, filter);
});
