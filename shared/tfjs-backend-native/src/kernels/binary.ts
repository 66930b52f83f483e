// Broadcasting float32 arithmetic. The kernels differ only in the operation, hence one module.
import {
  Add,
  type BinaryInputs,
  broadcast_util,
  Maximum,
  Minimum,
  Multiply,
  RealDiv,
  SquaredDifference,
  Sub,
} from '@tensorflow/tfjs-core';
import { BinaryOpCode } from '../addon.js';
import { broadcastStrides, stridedLayout } from './strided.js';
import { allocOutput, defineKernel, floatValues, sizeOf } from './types.js';

function binaryKernel(kernelName: string, op: number) {
  return defineKernel<BinaryInputs, Record<string, never>>(
    kernelName,
    (addon, { inputs: { a, b }, backend }) => {
      if (a === undefined || b === undefined) return null;
      const aValues = floatValues(backend, a);
      const bValues = floatValues(backend, b);
      if (aValues === null || bValues === null) return null;
      let outShape: number[];
      try {
        outShape = broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
      } catch {
        return null; // let the cpu kernel raise its error
      }
      const size = sizeOf(outShape);
      if (size === 0) return null;
      const layout = stridedLayout(outShape, [
        broadcastStrides(a.shape, outShape),
        broadcastStrides(b.shape, outShape),
      ]);
      const out = allocOutput(size);
      addon.binary(op, aValues, bValues, out, layout);
      return backend.makeTensorInfo(outShape, 'float32', out);
    },
  );
}

export const add = binaryKernel(Add, BinaryOpCode.add);
export const sub = binaryKernel(Sub, BinaryOpCode.sub);
export const multiply = binaryKernel(Multiply, BinaryOpCode.mul);
export const realDiv = binaryKernel(RealDiv, BinaryOpCode.div);
export const squaredDifference = binaryKernel(SquaredDifference, BinaryOpCode.squaredDifference);
// Math.max / Math.min semantics: NaN wins, and max(-0, 0) is 0, min(-0, 0) is -0.
export const maximum = binaryKernel(Maximum, BinaryOpCode.maximum);
export const minimum = binaryKernel(Minimum, BinaryOpCode.minimum);
