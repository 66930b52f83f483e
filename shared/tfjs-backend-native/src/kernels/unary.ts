// Elementwise float32 kernels without a shape of their own: activations (Relu, Relu6, LeakyRelu), Step
// (ReLU's gradient mask) and the arithmetic of losses and normalisations (Square, Neg, Sqrt, Rsqrt, Exp,
// Log). Exp and Log agree with the cpu kernels within an ulp or so (libm's double functions instead of
// V8's); the others exactly.
import {
  Exp,
  LeakyRelu,
  type LeakyReluAttrs,
  Log,
  Neg,
  Relu,
  Relu6,
  Rsqrt,
  Sqrt,
  Square,
  Step,
  type StepAttrs,
  type UnaryInputs,
} from '@tensorflow/tfjs-core';
import { UnaryOpCode } from '../addon.js';
import { allocOutput, defineKernel, floatValues } from './types.js';

/** A float32 kernel out[i] = op(x[i]) with up to two numeric attributes, alpha and beta. */
export function unaryKernel<A>(
  kernelName: string,
  op: number,
  alphaOf: (attrs: A) => number,
  betaOf: (attrs: A) => number = () => 0,
) {
  return defineKernel<UnaryInputs, A>(kernelName, (addon, { inputs: { x }, backend, attrs }) => {
    if (x === undefined) return null;
    const values = floatValues(backend, x);
    if (values === null || values.length === 0) return null;
    const out = allocOutput(values.length);
    addon.unary(op, values, out, alphaOf(attrs), betaOf(attrs));
    return backend.makeTensorInfo(x.shape, 'float32', out);
  });
}

export const relu = unaryKernel<Record<string, never>>(Relu, UnaryOpCode.relu, () => 0);
export const step = unaryKernel<StepAttrs>(Step, UnaryOpCode.step, (attrs) => attrs.alpha);
export const square = unaryKernel<Record<string, never>>(Square, UnaryOpCode.square, () => 0);

type NoAttrs = Record<string, never>;
export const relu6 = unaryKernel<NoAttrs>(Relu6, UnaryOpCode.relu6, () => 0);
export const leakyRelu = unaryKernel<LeakyReluAttrs>(
  LeakyRelu,
  UnaryOpCode.leakyRelu,
  (attrs) => attrs.alpha,
);
export const neg = unaryKernel<NoAttrs>(Neg, UnaryOpCode.neg, () => 0);
export const sqrt = unaryKernel<NoAttrs>(Sqrt, UnaryOpCode.sqrt, () => 0);
export const rsqrt = unaryKernel<NoAttrs>(Rsqrt, UnaryOpCode.rsqrt, () => 0);
export const exp = unaryKernel<NoAttrs>(Exp, UnaryOpCode.exp, () => 0);
export const log = unaryKernel<NoAttrs>(Log, UnaryOpCode.log, () => 0);
