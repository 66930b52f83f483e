import { _FusedMatMul, type _FusedMatMulAttrs, type _FusedMatMulInputs } from '@tensorflow/tfjs-core';
import { fusedEpilogue } from './epilogue.js';
import { matMul, matMulColumns } from './matmul_ops.js';
import { defineKernel } from './types.js';

export const fusedMatMul = defineKernel<_FusedMatMulInputs, _FusedMatMulAttrs>(
  _FusedMatMul,
  (addon, { inputs, backend, attrs }) => {
    const operands = { a: inputs.a, b: inputs.b, transposeA: attrs.transposeA, transposeB: attrs.transposeB };
    const columns = matMulColumns(operands);
    const epilogue = columns === null ? null : fusedEpilogue(backend, { ...inputs, ...attrs }, columns);
    return epilogue === null ? null : matMul(addon, backend, operands, epilogue);
  },
);
