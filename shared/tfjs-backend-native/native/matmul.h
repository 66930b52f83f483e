// Batched matrix products as TF.js's BatchMatMul defines them: C[b] = op(A[b]) * op(B[b]) with row-major
// storage, optional transposes, and a batch of 1 on either side broadcast to the other.
#pragma once

#include <cstdint>

#include "activation.h"

namespace tfjs_native {

struct MatMulShape {
  int64_t batchA, batchB, m, n, k;
  bool transposeA, transposeB;

  static constexpr int kFields = 7;
  // Reads the fields in declaration order, as src/kernels/batch_matmul.ts writes them.
  static MatMulShape fromArray(const int32_t *v);
};

// `bias` (optional) has n values, added to every row.
void matMul(const MatMulShape &s, const float *a, const float *b, const float *bias, const Epilogue &epilogue,
            float *c);

void clearMatMulCache();
std::size_t matMulCacheSize();

}  // namespace tfjs_native
