// The cpu kernels that 'native' replaces. Every other cpu kernel is registered for 'native' unchanged.
import { batchMatMul } from './batch_matmul.js';
import { batchNorm } from './batch_norm.js';
import { add, multiply, realDiv, squaredDifference, sub } from './binary.js';
import { conv2d } from './conv2d.js';
import { conv2dBackpropFilter } from './conv2d_backprop_filter.js';
import { conv2dBackpropInput } from './conv2d_backprop_input.js';
import { depthwiseConv2d } from './depthwise_conv2d.js';
import { depthwiseConv2dBackpropFilter } from './depthwise_conv2d_backprop_filter.js';
import { depthwiseConv2dBackpropInput } from './depthwise_conv2d_backprop_input.js';
import { fusedConv2d } from './fused_conv2d.js';
import { fusedDepthwiseConv2d } from './fused_depthwise_conv2d.js';
import { fusedMatMul } from './fused_matmul.js';
import { mean } from './mean.js';
import { padV2 } from './pad_v2.js';
import { slice } from './slice.js';
import { sum } from './sum.js';
import { tile } from './tile.js';
import type { NativeKernel } from './types.js';
import { relu, square, step } from './unary.js';

export const nativeKernels: readonly NativeKernel[] = [
  // oneDNN
  conv2d,
  fusedConv2d,
  conv2dBackpropInput,
  conv2dBackpropFilter,
  depthwiseConv2d,
  fusedDepthwiseConv2d,
  depthwiseConv2dBackpropInput,
  depthwiseConv2dBackpropFilter,
  batchMatMul,
  fusedMatMul,
  // Memory-bound kernels that the cpu backend runs per element through index arithmetic.
  add,
  sub,
  multiply,
  realDiv,
  squaredDifference,
  sum,
  mean,
  slice,
  padV2,
  tile,
  relu,
  step,
  square,
  batchNorm,
];
