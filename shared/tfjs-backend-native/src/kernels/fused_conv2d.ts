import {
  backend_util,
  FusedConv2D,
  type FusedConv2DAttrs,
  type FusedConv2DInputs,
} from '@tensorflow/tfjs-core';
import { convForward } from './conv_ops.js';
import { fusedEpilogue } from './epilogue.js';
import { defineKernel } from './types.js';

export const fusedConv2d = defineKernel<FusedConv2DInputs, FusedConv2DAttrs>(
  FusedConv2D,
  (addon, { inputs, backend, attrs }) => {
    const { x, filter } = inputs;
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
    const epilogue = fusedEpilogue(backend, { ...inputs, ...attrs }, info.outChannels);
    return convForward(addon, backend, info, false, x, filter, epilogue);
  },
);
