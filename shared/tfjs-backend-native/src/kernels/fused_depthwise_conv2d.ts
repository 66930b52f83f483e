import {
  backend_util,
  FusedDepthwiseConv2D,
  type FusedDepthwiseConv2DAttrs,
  type FusedDepthwiseConv2DInputs,
} from '@tensorflow/tfjs-core';
import { convForward } from './conv_ops.js';
import { fusedEpilogue } from './epilogue.js';
import { defineKernel } from './types.js';

export const fusedDepthwiseConv2d = defineKernel<FusedDepthwiseConv2DInputs, FusedDepthwiseConv2DAttrs>(
  FusedDepthwiseConv2D,
  (addon, { inputs, backend, attrs }) => {
    const { x, filter } = inputs;
    const dilations = attrs.dilations ?? 1;
    if (!backend_util.eitherStridesOrDilationsAreOne(attrs.strides, dilations)) return null;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      dilations,
      attrs.pad,
      attrs.dimRoundingMode,
      true,
    );
    const epilogue = fusedEpilogue(backend, { ...inputs, ...attrs }, info.outChannels);
    return convForward(addon, backend, info, true, x, filter, epilogue);
  },
);
