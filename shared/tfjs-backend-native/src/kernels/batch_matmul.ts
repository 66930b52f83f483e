import { BatchMatMul, type BatchMatMulAttrs, type BatchMatMulInputs } from '@tensorflow/tfjs-core';
import { plainEpilogue } from './epilogue.js';
import { matMul } from './matmul_ops.js';
import { defineKernel } from './types.js';

export const batchMatMul = defineKernel<BatchMatMulInputs, BatchMatMulAttrs>(
  BatchMatMul,
  (addon, { inputs: { a, b }, backend, attrs }) => {
    if (a === undefined || b === undefined) return null;
    const operands = { a, b, transposeA: attrs.transposeA, transposeB: attrs.transposeB };
    return matMul(addon, backend, operands, plainEpilogue);
  },
);
