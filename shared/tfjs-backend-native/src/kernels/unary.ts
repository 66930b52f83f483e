// Elementwise kernels on the training path: Relu, Step (ReLU's gradient mask) and Square.
import { Relu, Square, Step, type StepAttrs, type UnaryInputs } from '@tensorflow/tfjs-core';
import { UnaryOpCode } from '../addon.js';
import { allocOutput, defineKernel, floatValues } from './types.js';

function unaryKernel<A>(kernelName: string, op: number, alphaOf: (attrs: A) => number) {
  return defineKernel<UnaryInputs, A>(kernelName, (addon, { inputs: { x }, backend, attrs }) => {
    if (x === undefined) return null;
    const values = floatValues(backend, x);
    if (values === null || values.length === 0) return null;
    const out = allocOutput(values.length);
    addon.unary(op, values, out, alphaOf(attrs));
    return backend.makeTensorInfo(x.shape, 'float32', out);
  });
}

export const relu = unaryKernel<Record<string, never>>(Relu, UnaryOpCode.relu, () => 0);
export const step = unaryKernel<StepAttrs>(Step, UnaryOpCode.step, (attrs) => attrs.alpha);
export const square = unaryKernel<Record<string, never>>(Square, UnaryOpCode.square, () => 0);
