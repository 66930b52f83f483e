import {
  backend_util,
  DepthwiseConv2dNativeBackpropFilter,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type DepthwiseConv2dNativeBackpropFilterInputs,
} from '@tensorflow/tfjs-core';
import { convBackwardFilter } from './conv_ops.js';
import { defineKernel } from './types.js';

export const depthwiseConv2dBackpropFilter = defineKernel<
  DepthwiseConv2dNativeBackpropFilterInputs,
  DepthwiseConv2dNativeBackpropFilterAttrs
>(DepthwiseConv2dNativeBackpropFilter, (addon, { inputs, backend, attrs }) => {
  const { x, dy } = inputs;
  if (x === undefined || dy === undefined) return null;
  // See depthwise_conv2d_backprop_input.ts: dilated calls stay on the cpu kernel.
  if (!backend_util.tupleValuesAreOne(attrs.dilations ?? 1)) return null;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  return convBackwardFilter(addon, backend, info, true, x, dy);
});
