// The cpu kernels that 'native' replaces. Every other cpu kernel is registered for 'native' unchanged.

import { argMax } from './arg_max.js';
import { batchMatMul } from './batch_matmul.js';
import { batchNorm } from './batch_norm.js';
import { add, maximum, minimum, multiply, realDiv, squaredDifference, sub } from './binary.js';
import { clipByValue } from './clip_by_value.js';
import { concat, reverse, splitV } from './concat_split.js';
import { conv2d } from './conv2d.js';
import { conv2dBackpropFilter } from './conv2d_backprop_filter.js';
import { conv2dBackpropInput } from './conv2d_backprop_input.js';
import { depthwiseConv2d } from './depthwise_conv2d.js';
import { depthwiseConv2dBackpropFilter } from './depthwise_conv2d_backprop_filter.js';
import { depthwiseConv2dBackpropInput } from './depthwise_conv2d_backprop_input.js';
import { fusedConv2d } from './fused_conv2d.js';
import { fusedDepthwiseConv2d } from './fused_depthwise_conv2d.js';
import { fusedMatMul } from './fused_matmul.js';
import { gatherV2 } from './gather.js';
import { max } from './max.js';
import { maxPool, maxPoolGrad } from './max_pool.js';
import { mean } from './mean.js';
import { min } from './min.js';
import { padV2 } from './pad_v2.js';
import { round } from './round.js';
import { slice } from './slice.js';
import { softmax } from './softmax.js';
import { sum } from './sum.js';
import { tile } from './tile.js';
import type { NativeKernel } from './types.js';
import { exp, leakyRelu, log, neg, relu, relu6, rsqrt, sqrt, square, step } from './unary.js';

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
  concat,
  splitV,
  reverse,
  gatherV2,
  relu,
  step,
  square,
  batchNorm,
  // The fake-quantization chain (x / s, Round, + z, ClipByValue, - z, * s) and the other small ops of
  // evaluation and synthesis.
  round,
  clipByValue,
  maximum,
  minimum,
  relu6,
  leakyRelu,
  neg,
  sqrt,
  rsqrt,
  exp,
  log,
  max,
  min,
  argMax,
  softmax,
  // Plain TypeScript over typed arrays: the cpu kernel's buffer indexing is the slow part.
  maxPool,
  maxPoolGrad,
];
