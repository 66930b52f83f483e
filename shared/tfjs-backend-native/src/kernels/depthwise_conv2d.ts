import {
  backend_util,
  DepthwiseConv2dNative,
  type DepthwiseConv2dNativeAttrs,
  type DepthwiseConv2dNativeInputs,
} from '@tensorflow/tfjs-core';
import { convForward } from './conv_ops.js';
import { defineKernel } from './types.js';

export const depthwiseConv2d = defineKernel<DepthwiseConv2dNativeInputs, DepthwiseConv2dNativeAttrs>(
  DepthwiseConv2dNative,
  (addon, { inputs, backend, attrs }) => {
    const { x, filter } = inputs;
    if (x === undefined || filter === undefined) return null;
    const dilations = attrs.dilations ?? 1;
    // The cpu kernel rejects this combination; let it raise its error.
    if (!backend_util.eitherStridesOrDilationsAreOne(attrs.strides, dilations)) return null;
    // Like the cpu kernel, ignores dataFormat: TF.js depthwise convolutions are NHWC.
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      dilations,
      attrs.pad,
      attrs.dimRoundingMode,
      true,
    );
    return convForward(addon, backend, info, true, x, filter);
  },
);
