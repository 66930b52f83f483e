import {
  backend_util,
  DepthwiseConv2dNativeBackpropInput,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type DepthwiseConv2dNativeBackpropInputInputs,
} from '@tensorflow/tfjs-core';
import { convBackwardData } from './conv_ops.js';
import { defineKernel } from './types.js';

export const depthwiseConv2dBackpropInput = defineKernel<
  DepthwiseConv2dNativeBackpropInputInputs,
  DepthwiseConv2dNativeBackpropInputAttrs
>(DepthwiseConv2dNativeBackpropInput, (addon, { inputs, backend, attrs }) => {
  const { dy, filter } = inputs;
  if (dy === undefined || filter === undefined) return null;
  // The cpu kernel does not dilate the filter here (TF.js has no gradient for dilated depthwise
  // convolutions); leave such calls to it so that both backends agree.
  if (!backend_util.tupleValuesAreOne(attrs.dilations ?? 1)) return null;
  const info = backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  return convBackwardData(addon, backend, info, true, dy, filter);
});
