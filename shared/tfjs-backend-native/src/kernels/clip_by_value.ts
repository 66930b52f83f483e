// ClipByValue: x > max gives max, x < min gives min, anything else (NaN included) passes through.
import { ClipByValue, type ClipByValueAttrs } from '@tensorflow/tfjs-core';
import { UnaryOpCode } from '../addon.js';
import { unaryKernel } from './unary.js';

export const clipByValue = unaryKernel<ClipByValueAttrs>(
  ClipByValue,
  UnaryOpCode.clipByValue,
  (attrs) => attrs.clipValueMin,
  (attrs) => attrs.clipValueMax,
);
