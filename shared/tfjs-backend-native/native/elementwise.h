// Memory-bound float32 kernels: broadcasting binary arithmetic, sums over one block of axes, strided
// copies (slice, pad) and tiling. The cpu backend computes these per element through index
// arithmetic, which made them most of a ResNet training step once the convolutions moved to oneDNN.
// They run on one thread: at memory speed they take well under a millisecond on CNN-sized tensors.
//
// Shapes arrive already simplified by the JS side: adjacent axes that are contiguous in every
// operand are merged, and a broadcast axis has stride 0.
#pragma once

#include <cstdint>

namespace tfjs_native {

// Codes shared with src/kernels/binary.ts.
enum class BinaryOp : int32_t {
  kAdd = 0,
  kSub = 1,
  kMul = 2,
  kDiv = 3,
  kSquaredDifference = 4,
  kMaximum = 5,
  kMinimum = 6,
};

// Codes shared with src/kernels/unary.ts.
enum class UnaryOp : int32_t {
  kRelu = 0,
  kStep = 1,
  kSquare = 2,
  kRelu6 = 3,
  kLeakyRelu = 4,  // alpha: the slope
  kNeg = 5,
  kSqrt = 6,
  kRsqrt = 7,
  kExp = 8,
  kLog = 9,
  kRound = 10,        // half to even, as the cpu kernel
  kClipByValue = 11,  // alpha: min, beta: max
};

// out[i] = op(x[i]); Step maps x > 0 to 1 and other numbers to alpha. alpha and beta are the JS numbers
// of the kernel's attributes, kept in double where the cpu kernel computes in double.
void unary(UnaryOp op, const float *x, int64_t size, double alpha, double beta, float *out);

// out[i] = a[i] op b[i] over `rank` axes of size dims; out is contiguous.
void binary(BinaryOp op, int rank, const int64_t *dims, const float *a, const int64_t *aStrides, const float *b,
            const int64_t *bStrides, float *out);

// out = (clip(round(x / scale) + zero, 0, qmax) - zero) * scale, rounding half to even, each step in
// float32 as the cpu kernels' chain (RealDiv, Round, Add, ClipByValue, Sub, Multiply) computes it: the
// fake quantization of an activation, in one pass instead of six.
void fakeQuantize(const float *x, int64_t size, float scale, float zero, float qmax, float *out);

// Softmax along rows of x viewed as [rows, cols], as the cpu kernel: max, x - max, exp (in double,
// rounded), the row sum (in double, rounded), division.
void softmaxRows(const float *x, int64_t rows, int64_t cols, float *out);

// One operand of batchNorm: its values repeat cyclically over x, as in the cpu kernel.
struct Cyclic {
  const float *values;
  int64_t length;
};

// out[i] = offset + (x - mean) * scale / sqrt(variance + epsilon), in double like the cpu kernel.
void batchNorm(const float *x, int64_t size, Cyclic mean, Cyclic variance, Cyclic scale, Cyclic offset,
               double epsilon, float *out);

// x viewed as [outer, reduce, inner]: out[o, i] = sum over r of float(x[o, r, i] / divisor), accumulated
// in double like the cpu kernel (divisor 1 gives Sum, the reduced count gives Mean).
void reduceSum(const float *x, int64_t outer, int64_t reduce, int64_t inner, float divisor, float *out);

// x viewed as [outer, reduce, inner]: out[o, i] = max (or min) over r of x[o, r, i], scanning r in order
// like the cpu kernel: a NaN wins, and between equal values (0 and -0) the first is kept.
void reduceExtreme(const float *x, int64_t outer, int64_t reduce, int64_t inner, bool isMax, float *out);

// x viewed as [outer, reduce, inner]: out[o, i] = the first r with the largest x[o, r, i], as the cpu
// kernel finds it (strict comparisons starting from r = 0, so NaNs are skipped unless x[o, 0, i] is one).
void argMax(const float *x, int64_t outer, int64_t reduce, int64_t inner, int32_t *out);

// dst[index . dstStrides] = src[index . srcStrides] for every index in dims.
void stridedCopy(int rank, const int64_t *dims, const float *src, const int64_t *srcStrides, float *dst,
                 const int64_t *dstStrides);

// dst (shape dims[i] * reps[i], contiguous) = src (shape dims, contiguous) repeated along every axis.
void tile(int rank, const int64_t *dims, const int64_t *reps, const float *src, float *dst);

}  // namespace tfjs_native
