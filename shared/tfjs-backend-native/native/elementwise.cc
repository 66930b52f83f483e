#include "elementwise.h"

#include "parallel.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace tfjs_native {
namespace {

// Each op computes what the cpu kernel's JS arithmetic computes: float operands combined in double and
// rounded to float. For + - * / that equals the plain float operation (double rounding is harmless for
// them), so only the squared difference needs doubles spelled out.
struct Add {
  float operator()(float a, float b) const { return a + b; }
};
struct Sub {
  float operator()(float a, float b) const { return a - b; }
};
struct Mul {
  float operator()(float a, float b) const { return a * b; }
};
struct Div {
  float operator()(float a, float b) const { return a / b; }
};
struct SquaredDifference {
  float operator()(float a, float b) const {
    const double d = static_cast<double>(a) - static_cast<double>(b);
    return static_cast<float>(d * d);
  }
};

// Math.max / Math.min: NaN if either is NaN, and +0 beats -0 for max (-0 beats +0 for min). For equal
// operands the bitwise AND (OR) of the two picks exactly that, and is the operand itself otherwise.
inline float bitsAnd(float a, float b, bool orInstead) {
  uint32_t ua, ub;
  std::memcpy(&ua, &a, 4);
  std::memcpy(&ub, &b, 4);
  const uint32_t u = orInstead ? (ua | ub) : (ua & ub);
  float r;
  std::memcpy(&r, &u, 4);
  return r;
}
struct Maximum {
  float operator()(float a, float b) const {
    if (a != a || b != b) return std::numeric_limits<float>::quiet_NaN();
    return a > b ? a : b > a ? b : bitsAnd(a, b, false);
  }
};
struct Minimum {
  float operator()(float a, float b) const {
    if (a != a || b != b) return std::numeric_limits<float>::quiet_NaN();
    return a < b ? a : b < a ? b : bitsAnd(a, b, true);
  }
};

// Walks the outer axes (all but the last) of a strided iteration space, calling row(aOffset, bOffset, o)
// once per row of the innermost axis, o being the row's index in a contiguous output.
template <typename Row>
void forEachRow(int rank, const int64_t *dims, const int64_t *aStrides, const int64_t *bStrides, Row row) {
  const int last = rank - 1;
  int64_t rows = 1;
  for (int d = 0; d < last; ++d) rows *= dims[d];
  std::vector<int64_t> index(rank, 0);
  int64_t aOffset = 0;
  int64_t bOffset = 0;
  for (int64_t o = 0; o < rows; ++o) {
    row(aOffset, bOffset, o);
    for (int d = last - 1; d >= 0; --d) {
      if (++index[d] < dims[d]) {
        aOffset += aStrides[d];
        bOffset += bStrides[d];
        break;
      }
      index[d] = 0;
      aOffset -= aStrides[d] * (dims[d] - 1);
      bOffset -= bStrides[d] * (dims[d] - 1);
    }
  }
}

template <typename Op>
void binaryRows(int rank, const int64_t *dims, const float *a, const int64_t *aStrides, const float *b,
                const int64_t *bStrides, float *out) {
  const Op op;
  const int64_t n = dims[rank - 1];
  const int64_t sa = aStrides[rank - 1];
  const int64_t sb = bStrides[rank - 1];
  forEachRow(rank, dims, aStrides, bStrides, [&](int64_t aOffset, int64_t bOffset, int64_t o) {
    const float *pa = a + aOffset;
    const float *pb = b + bOffset;
    float *po = out + o * n;
    // The common layouts get loops the compiler can vectorise.
    if (sa == 1 && sb == 1) {
      for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i], pb[i]);
    } else if (sa == 1 && sb == 0) {
      const float vb = *pb;
      for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i], vb);
    } else if (sa == 0 && sb == 1) {
      const float va = *pa;
      for (int64_t i = 0; i < n; ++i) po[i] = op(va, pb[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i * sa], pb[i * sb]);
    }
  });
}

// Fills the tiled block of axis d: src's slice at that axis, then copies of it reps[d] - 1 times.
void tileAxis(int d, int rank, const int64_t *dims, const int64_t *reps, const int64_t *srcStrides,
              const int64_t *dstStrides, const float *src, float *dst) {
  const int64_t block = dims[d] * dstStrides[d];
  if (d == rank - 1) {
    std::memcpy(dst, src, dims[d] * sizeof(float));
  } else {
    for (int64_t i = 0; i < dims[d]; ++i) {
      tileAxis(d + 1, rank, dims, reps, srcStrides, dstStrides, src + i * srcStrides[d], dst + i * dstStrides[d]);
    }
  }
  for (int64_t r = 1; r < reps[d]; ++r) std::memcpy(dst + r * block, dst, block * sizeof(float));
}

}  // namespace

inline uint32_t bitsOf(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return u;
}
inline float floatOf(uint32_t u) {
  float v;
  std::memcpy(&v, &u, 4);
  return v;
}

// Half to even, like the cpu kernel's banker's rounding, which differs from std::nearbyint (default
// rounding mode) only in giving +0, not -0, for -0.5. nearbyintf is a libm call per element (3x slower
// than a memory pass here), so this spells it as |x| + 2^23 - 2^23, which rounds |x| < 2^23 to an integer,
// ties to even (larger floats are integers already), with the selects done on bit patterns so the loop
// vectorises (float comparisons, which may raise FP flags, block GCC's if-conversion). Checked bitwise
// equal to the cpu rule on all 2^32 floats (NaN payloads aside).
inline float roundHalfEven(float v) {
  const uint32_t u = bitsOf(v);
  const uint32_t magnitude = u & 0x7fffffffu;
  const float rounded = (floatOf(magnitude) + 8388608.f) - 8388608.f;
  const uint32_t signedRounded = bitsOf(rounded) | (u & 0x80000000u);
  const uint32_t small = 0u - static_cast<uint32_t>(magnitude < 0x4b000000u);  // |x| < 2^23: all ones
  const uint32_t kept = (signedRounded & small) | (u & ~small);
  const uint32_t notMinusHalf = 0u - static_cast<uint32_t>(u != 0xbf000000u);  // x == -0.5: zero
  return floatOf(kept & notMinusHalf);
}

template <typename F>
void map(const float *x, int64_t size, float *out, F f) {
  parallelChunks(size, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) out[i] = f(x[i]);
  });
}

void unary(UnaryOp op, const float *x, int64_t size, double alpha, double beta, float *out) {
  // NaN stays NaN, as with the cpu kernels' Math.max(0, x) and explicit isNaN test.
  const float falpha = static_cast<float>(alpha);
  switch (op) {
    case UnaryOp::kRelu:
      // Selects between computed values, no short-circuit: GCC turns that into vector blends, where a
      // branch per element mispredicted on half of a random activation's values.
      return map(x, size, out, [](float v) {
        const float positive = v > 0.f ? v : 0.f;
        return v != v ? v : positive;
      });
    case UnaryOp::kStep:
      return map(x, size, out, [falpha](float v) {
        const float stepped = v > 0.f ? 1.f : falpha;
        return v != v ? v : stepped;
      });
    case UnaryOp::kSquare:
      return map(x, size, out, [](float v) { return v * v; });
    case UnaryOp::kRelu6:
      // Math.min(Math.max(0, x), 6): -0 becomes +0.
      return map(x, size, out, [](float v) {
        const float below = v < 6.f ? v : 6.f;
        const float clipped = v > 0.f ? below : 0.f;
        return v != v ? v : clipped;
      });
    case UnaryOp::kLeakyRelu:
      // alpha * x is a double product rounded to float, alpha being any JS number.
      return map(x, size, out, [alpha](float v) {
        const float scaled = static_cast<float>(alpha * static_cast<double>(v));
        return v < 0.f ? scaled : v;
      });
    case UnaryOp::kNeg:
      return map(x, size, out, [](float v) { return -v; });
    case UnaryOp::kSqrt:
      return map(x, size, out, [](float v) { return static_cast<float>(std::sqrt(static_cast<double>(v))); });
    case UnaryOp::kRsqrt:
      return map(x, size, out,
                 [](float v) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(v))); });
    case UnaryOp::kExp:
      return map(x, size, out, [](float v) { return static_cast<float>(std::exp(static_cast<double>(v))); });
    case UnaryOp::kLog:
      return map(x, size, out, [](float v) { return static_cast<float>(std::log(static_cast<double>(v))); });
    case UnaryOp::kRound:
      return map(x, size, out, roundHalfEven);
    case UnaryOp::kClipByValue: {
      // Comparing with the float-rounded bounds selects the same values as the cpu kernel's double
      // comparisons (no float lies strictly between a bound and its rounding), and NaN passes through.
      const float lo = static_cast<float>(alpha);
      const float hi = static_cast<float>(beta);
      return map(x, size, out, [lo, hi](float v) { return v > hi ? hi : v < lo ? lo : v; });
    }
  }
}

void fakeQuantize(const float *x, int64_t size, float scale, float zero, float qmax, float *out) {
  map(x, size, out, [scale, zero, qmax](float v) {
    const float level = roundHalfEven(v / scale) + zero;
    const float clipped = level > qmax ? qmax : level < 0.f ? 0.f : level;
    return (clipped - zero) * scale;
  });
}

void softmaxRows(const float *x, int64_t rows, int64_t cols, float *out) {
  parallelRows(rows, cols * 8, [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r) {
      const float *row = x + r * cols;
      float *o = out + r * cols;
      float m = row[0];
      for (int64_t j = 1; j < cols; ++j) m = (row[j] > m || row[j] != row[j]) ? row[j] : m;
      double sum = 0;
      for (int64_t j = 0; j < cols; ++j) {
        o[j] = static_cast<float>(std::exp(static_cast<double>(row[j] - m)));
        sum += o[j];
      }
      const float total = static_cast<float>(sum);
      for (int64_t j = 0; j < cols; ++j) o[j] = o[j] / total;
    }
  });
}

void batchNorm(const float *x, int64_t size, Cyclic mean, Cyclic variance, Cyclic scale, Cyclic offset,
               double epsilon, float *out) {
  auto normalize = [epsilon](float v, float m, float var, float s, float off) {
    return static_cast<float>(off + (static_cast<double>(v) - m) * s / std::sqrt(var + epsilon));
  };
  const int64_t channels = mean.length;
  const bool perChannel = variance.length == channels && scale.length == channels && offset.length == channels &&
                          size % channels == 0;
  if (!perChannel) {
    for (int64_t i = 0; i < size; ++i) {
      out[i] = normalize(x[i], mean.values[i % mean.length], variance.values[i % variance.length],
                         scale.values[i % scale.length], offset.values[i % offset.length]);
    }
    return;
  }
  // The usual case, one value per channel of an NHWC tensor: the square roots once per channel
  // (the same values, so the same results).
  std::vector<double> root(channels);
  for (int64_t c = 0; c < channels; ++c) root[c] = std::sqrt(variance.values[c] + epsilon);
  for (int64_t base = 0; base < size; base += channels) {
    for (int64_t c = 0; c < channels; ++c) {
      const double centred = static_cast<double>(x[base + c]) - mean.values[c];
      out[base + c] = static_cast<float>(offset.values[c] + centred * scale.values[c] / root[c]);
    }
  }
}

static void binarySerial(BinaryOp op, int rank, const int64_t *dims, const float *a, const int64_t *aStrides,
                  const float *b, const int64_t *bStrides, float *out) {
  switch (op) {
    case BinaryOp::kAdd: return binaryRows<Add>(rank, dims, a, aStrides, b, bStrides, out);
    case BinaryOp::kSub: return binaryRows<Sub>(rank, dims, a, aStrides, b, bStrides, out);
    case BinaryOp::kMul: return binaryRows<Mul>(rank, dims, a, aStrides, b, bStrides, out);
    case BinaryOp::kDiv: return binaryRows<Div>(rank, dims, a, aStrides, b, bStrides, out);
    case BinaryOp::kSquaredDifference:
      return binaryRows<SquaredDifference>(rank, dims, a, aStrides, b, bStrides, out);
    case BinaryOp::kMaximum: return binaryRows<Maximum>(rank, dims, a, aStrides, b, bStrides, out);
    case BinaryOp::kMinimum: return binaryRows<Minimum>(rank, dims, a, aStrides, b, bStrides, out);
  }
}

// Splits the outermost axis across the team (for rank 1, the elements): each chunk is the same walk
// over a slice, so the result is the serial one.
void binary(BinaryOp op, int rank, const int64_t *dims, const float *a, const int64_t *aStrides, const float *b,
            const int64_t *bStrides, float *out) {
  int64_t inner = 1;
  for (int d = 1; d < rank; ++d) inner *= dims[d];
  parallelRows(dims[0], inner, [&](int64_t begin, int64_t end, int) {
    std::vector<int64_t> part(dims, dims + rank);
    part[0] = end - begin;
    binarySerial(op, rank, part.data(), a + begin * aStrides[0], aStrides, b + begin * bStrides[0], bStrides,
                 out + begin * inner);
  });
}

void reduceSum(const float *x, int64_t outer, int64_t reduce, int64_t inner, float divisor, float *out) {
  // Summing each output's terms in input order matches the cpu kernel, which moves the reduced axes
  // innermost (keeping their order) and then sums runs.
  auto term = [divisor](float v) { return divisor == 1.f ? v : v / divisor; };
  if (inner == 1) {
    for (int64_t o = 0; o < outer; ++o) {
      const float *row = x + o * reduce;
      double sum = 0;
      for (int64_t r = 0; r < reduce; ++r) sum += term(row[r]);
      out[o] = static_cast<float>(sum);
    }
    return;
  }
  std::vector<double> sums(inner);
  for (int64_t o = 0; o < outer; ++o) {
    std::fill(sums.begin(), sums.end(), 0.0);
    for (int64_t r = 0; r < reduce; ++r) {
      const float *row = x + (o * reduce + r) * inner;
      for (int64_t i = 0; i < inner; ++i) sums[i] += term(row[i]);
    }
    for (int64_t i = 0; i < inner; ++i) out[o * inner + i] = static_cast<float>(sums[i]);
  }
}

template <bool kMax>
void reduceExtremeImpl(const float *x, int64_t outer, int64_t reduce, int64_t inner, float *out) {
  // The cpu kernel's test: a NaN replaces the running value, otherwise only a strictly better one does.
  auto better = [](float v, float best) { return v != v || (kMax ? v > best : v < best); };
  for (int64_t o = 0; o < outer; ++o) {
    const float *block = x + o * reduce * inner;
    float *po = out + o * inner;
    std::memcpy(po, block, inner * sizeof(float));
    for (int64_t r = 1; r < reduce; ++r) {
      const float *row = block + r * inner;
      for (int64_t i = 0; i < inner; ++i) po[i] = better(row[i], po[i]) ? row[i] : po[i];
    }
  }
}

void reduceExtreme(const float *x, int64_t outer, int64_t reduce, int64_t inner, bool isMax, float *out) {
  if (isMax) {
    reduceExtremeImpl<true>(x, outer, reduce, inner, out);
  } else {
    reduceExtremeImpl<false>(x, outer, reduce, inner, out);
  }
}

void argMax(const float *x, int64_t outer, int64_t reduce, int64_t inner, int32_t *out) {
  std::vector<float> best(inner);
  for (int64_t o = 0; o < outer; ++o) {
    const float *block = x + o * reduce * inner;
    int32_t *po = out + o * inner;
    std::memcpy(best.data(), block, inner * sizeof(float));
    std::fill(po, po + inner, 0);
    for (int64_t r = 1; r < reduce; ++r) {
      const float *row = block + r * inner;
      for (int64_t i = 0; i < inner; ++i) {
        if (row[i] > best[i]) {
          best[i] = row[i];
          po[i] = static_cast<int32_t>(r);
        }
      }
    }
  }
}

void stridedCopy(int rank, const int64_t *dims, const float *src, const int64_t *srcStrides, float *dst,
                 const int64_t *dstStrides) {
  const int64_t n = dims[rank - 1];
  const int64_t ss = srcStrides[rank - 1];
  const int64_t ds = dstStrides[rank - 1];
  forEachRow(rank, dims, srcStrides, dstStrides, [&](int64_t srcOffset, int64_t dstOffset, int64_t) {
    const float *ps = src + srcOffset;
    float *pd = dst + dstOffset;
    if (ss == 1 && ds == 1) {
      std::memcpy(pd, ps, n * sizeof(float));
    } else {
      for (int64_t i = 0; i < n; ++i) pd[i * ds] = ps[i * ss];
    }
  });
}

void tile(int rank, const int64_t *dims, const int64_t *reps, const float *src, float *dst) {
  std::vector<int64_t> srcStrides(rank, 1);
  std::vector<int64_t> dstStrides(rank, 1);
  for (int d = rank - 2; d >= 0; --d) {
    srcStrides[d] = srcStrides[d + 1] * dims[d + 1];
    dstStrides[d] = dstStrides[d + 1] * dims[d + 1] * reps[d + 1];
  }
  tileAxis(0, rank, dims, reps, srcStrides.data(), dstStrides.data(), src, dst);
}

}  // namespace tfjs_native
