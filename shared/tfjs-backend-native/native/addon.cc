// Node-API surface of the addon. Tensors cross as Float32Arrays that the JS side allocates (outputs
// included), so no data is copied here; shapes cross as small Int32Arrays. Every length is checked
// against the shapes before a kernel touches memory.
#include <malloc.h>
#include <napi.h>
#include <omp.h>

#include <exception>
#include <string>
#include <vector>

#include "conv.h"
#include "channel.h"
#include "elementwise.h"
#include "engine.h"
#include "matmul.h"
#include "pool.h"

namespace tfjs_native {
namespace {

// Runs `body`, turning C++ exceptions (oneDNN's included) into JS errors.
template <typename Body>
Napi::Value guarded(const Napi::CallbackInfo &info, Body body) {
  try {
    return body();
  } catch (const Napi::Error &) {
    throw;
  } catch (const std::exception &e) {
    throw Napi::Error::New(info.Env(), std::string("tfjs-backend-native: ") + e.what());
  }
}

Napi::Float32Array floatArray(const Napi::CallbackInfo &info, int index, const char *name) {
  const Napi::Value v = info[index];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Float32Array");
  }
  return v.As<Napi::Float32Array>();
}

float *floatData(const Napi::CallbackInfo &info, int index, const char *name, int64_t length) {
  Napi::Float32Array array = floatArray(info, index, name);
  if (static_cast<int64_t>(array.ElementLength()) != length) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " has " + std::to_string(array.ElementLength()) +
                                                " values, expected " + std::to_string(length));
  }
  return array.Data();
}

// Optional inputs are passed as null.
const float *optionalFloatData(const Napi::CallbackInfo &info, int index, const char *name, int64_t length) {
  if (info[index].IsNull() || info[index].IsUndefined()) return nullptr;
  return floatData(info, index, name, length);
}

const int32_t *intFields(const Napi::CallbackInfo &info, int index, std::size_t count) {
  const Napi::Value v = info[index];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      v.As<Napi::Int32Array>().ElementLength() != count) {
    throw Napi::TypeError::New(info.Env(), "shape must be an Int32Array of " + std::to_string(count) + " values");
  }
  return v.As<Napi::Int32Array>().Data();
}

// Reads (activation code, leaky alpha, prelu slopes) at info[index..index+2]; slopes have 1 or `channels`.
Epilogue epilogueArg(const Napi::CallbackInfo &info, int index, int64_t channels) {
  Epilogue e;
  e.activation = static_cast<Activation>(info[index].As<Napi::Number>().Int32Value());
  e.alpha = info[index + 1].As<Napi::Number>().FloatValue();
  if (e.activation == Activation::kPrelu) {
    Napi::Float32Array slopes = floatArray(info, index + 2, "prelu slopes");
    e.preluCount = static_cast<int64_t>(slopes.ElementLength());
    if (e.preluCount != 1 && e.preluCount != channels) {
      throw Napi::RangeError::New(info.Env(), "prelu slopes must have 1 or one-per-channel values");
    }
    e.preluSlopes = slopes.Data();
  }
  return e;
}

int64_t filterSize(const ConvGeometry &g) { return g.filterH * g.filterW * (g.inC / g.groups) * g.outC; }
int64_t inputSize(const ConvGeometry &g) { return g.batch * g.inH * g.inW * g.inC; }
int64_t outputSize(const ConvGeometry &g) { return g.batch * g.outH * g.outW * g.outC; }

// convForward(x, filter, bias | null, y, geometry, activation, alpha, preluSlopes | null)
Napi::Value ConvForward(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    const ConvGeometry g = ConvGeometry::fromArray(intFields(info, 4, ConvGeometry::kFields));
    const float *x = floatData(info, 0, "x", inputSize(g));
    const float *filter = floatData(info, 1, "filter", filterSize(g));
    const float *bias = optionalFloatData(info, 2, "bias", g.outC);
    float *y = floatData(info, 3, "y", outputSize(g));
    convForward(g, x, filter, bias, epilogueArg(info, 5, g.outC), y);
    return info.Env().Undefined();
  });
}

// convBackwardData(dy, filter, dx, geometry)
Napi::Value ConvBackwardData(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    const ConvGeometry g = ConvGeometry::fromArray(intFields(info, 3, ConvGeometry::kFields));
    convBackwardData(g, floatData(info, 0, "dy", outputSize(g)), floatData(info, 1, "filter", filterSize(g)),
                     floatData(info, 2, "dx", inputSize(g)));
    return info.Env().Undefined();
  });
}

// convBackwardFilter(x, dy, dFilter, geometry)
Napi::Value ConvBackwardFilter(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    const ConvGeometry g = ConvGeometry::fromArray(intFields(info, 3, ConvGeometry::kFields));
    convBackwardFilter(g, floatData(info, 0, "x", inputSize(g)), floatData(info, 1, "dy", outputSize(g)),
                       floatData(info, 2, "dFilter", filterSize(g)));
    return info.Env().Undefined();
  });
}

// matMul(a, b, bias | null, c, shape, activation, alpha, preluSlopes | null)
Napi::Value MatMul(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    const MatMulShape s = MatMulShape::fromArray(intFields(info, 4, MatMulShape::kFields));
    const int64_t batch = s.batchA > s.batchB ? s.batchA : s.batchB;
    const float *a = floatData(info, 0, "a", s.batchA * s.m * s.k);
    const float *b = floatData(info, 1, "b", s.batchB * s.k * s.n);
    const float *bias = optionalFloatData(info, 2, "bias", s.n);
    float *c = floatData(info, 3, "c", batch * s.m * s.n);
    matMul(s, a, b, bias, epilogueArg(info, 5, s.n), c);
    return info.Env().Undefined();
  });
}

// A strided layout: [rank, then `parts` arrays of rank values] (dims, then strides or reps).
struct Layout {
  int rank;
  std::vector<std::vector<int64_t>> parts;
};

Layout layoutArg(const Napi::CallbackInfo &info, int index, int parts) {
  const Napi::Value v = info[index];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(info.Env(), "layout must be an Int32Array");
  }
  Napi::Int32Array array = v.As<Napi::Int32Array>();
  const int rank = array.ElementLength() > 0 ? array[0] : 0;
  if (rank < 1 || array.ElementLength() != static_cast<std::size_t>(1 + rank * parts)) {
    throw Napi::RangeError::New(info.Env(), "malformed layout");
  }
  Layout layout{rank, std::vector<std::vector<int64_t>>(parts, std::vector<int64_t>(rank))};
  for (int p = 0; p < parts; ++p) {
    for (int d = 0; d < rank; ++d) {
      const int64_t value = array[1 + p * rank + d];
      if (value < (p == 0 ? 1 : 0)) throw Napi::RangeError::New(info.Env(), "negative or empty layout entry");
      layout.parts[p][d] = value;
    }
  }
  return layout;
}

int64_t product(const std::vector<int64_t> &dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

// The data `name` must hold for a strided walk over dims: one past the furthest element reached.
float *stridedData(const Napi::CallbackInfo &info, int index, const char *name, const std::vector<int64_t> &dims,
                   const std::vector<int64_t> &strides) {
  Napi::Float32Array array = floatArray(info, index, name);
  int64_t reach = 1;
  for (std::size_t d = 0; d < dims.size(); ++d) reach += (dims[d] - 1) * strides[d];
  if (static_cast<int64_t>(array.ElementLength()) < reach) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " is too short for its layout");
  }
  return array.Data();
}

// unary(op, x, out, alpha, beta?)
Napi::Value Unary(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    const int32_t op = info[0].As<Napi::Number>().Int32Value();
    if (op < 0 || op > static_cast<int32_t>(UnaryOp::kClipByValue)) {
      throw Napi::RangeError::New(info.Env(), "unknown unary op");
    }
    Napi::Float32Array x = floatArray(info, 1, "x");
    float *out = floatData(info, 2, "out", static_cast<int64_t>(x.ElementLength()));
    const double beta = info[4].IsNumber() ? info[4].As<Napi::Number>().DoubleValue() : 0.0;
    unary(static_cast<UnaryOp>(op), x.Data(), static_cast<int64_t>(x.ElementLength()),
          info[3].As<Napi::Number>().DoubleValue(), beta, out);
    return info.Env().Undefined();
  });
}

// batchNorm(x, mean, variance, scale, offset, epsilon, out)
Napi::Value BatchNorm(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    Napi::Float32Array x = floatArray(info, 0, "x");
    const int64_t size = static_cast<int64_t>(x.ElementLength());
    auto cyclic = [&](int index, const char *name) {
      Napi::Float32Array values = floatArray(info, index, name);
      if (values.ElementLength() == 0) throw Napi::RangeError::New(info.Env(), std::string(name) + " is empty");
      return Cyclic{values.Data(), static_cast<int64_t>(values.ElementLength())};
    };
    const Cyclic mean = cyclic(1, "mean"), variance = cyclic(2, "variance"), scale = cyclic(3, "scale"),
                 offset = cyclic(4, "offset");
    float *out = floatData(info, 6, "out", size);
    batchNorm(x.Data(), size, mean, variance, scale, offset, info[5].As<Napi::Number>().DoubleValue(), out);
    return info.Env().Undefined();
  });
}

// binary(op, a, b, out, layout [rank, dims, aStrides, bStrides])
Napi::Value Binary(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    const Layout l = layoutArg(info, 4, 3);
    const int32_t op = info[0].As<Napi::Number>().Int32Value();
    if (op < 0 || op > static_cast<int32_t>(BinaryOp::kMinimum)) {
      throw Napi::RangeError::New(info.Env(), "unknown binary op");
    }
    const float *a = stridedData(info, 1, "a", l.parts[0], l.parts[1]);
    const float *b = stridedData(info, 2, "b", l.parts[0], l.parts[2]);
    float *out = floatData(info, 3, "out", product(l.parts[0]));
    binary(static_cast<BinaryOp>(op), l.rank, l.parts[0].data(), a, l.parts[1].data(), b, l.parts[2].data(), out);
    return info.Env().Undefined();
  });
}

// reduceSum(x, out, outer, reduce, inner, divisor)
Napi::Value ReduceSum(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    const int64_t outer = info[2].As<Napi::Number>().Int64Value();
    const int64_t reduce = info[3].As<Napi::Number>().Int64Value();
    const int64_t inner = info[4].As<Napi::Number>().Int64Value();
    if (outer < 1 || reduce < 1 || inner < 1) throw Napi::RangeError::New(info.Env(), "empty reduction");
    const float *x = floatData(info, 0, "x", outer * reduce * inner);
    float *out = floatData(info, 1, "out", outer * inner);
    reduceSum(x, outer, reduce, inner, info[5].As<Napi::Number>().FloatValue(), out);
    return info.Env().Undefined();
  });
}

// The [outer, reduce, inner] sizes at info[index..index+2].
void blockArgs(const Napi::CallbackInfo &info, int index, int64_t &outer, int64_t &reduce, int64_t &inner) {
  outer = info[index].As<Napi::Number>().Int64Value();
  reduce = info[index + 1].As<Napi::Number>().Int64Value();
  inner = info[index + 2].As<Napi::Number>().Int64Value();
  if (outer < 1 || reduce < 1 || inner < 1) throw Napi::RangeError::New(info.Env(), "empty reduction");
}

// reduceExtreme(x, out, outer, reduce, inner, isMax)
Napi::Value ReduceExtreme(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    int64_t outer, reduce, inner;
    blockArgs(info, 2, outer, reduce, inner);
    const float *x = floatData(info, 0, "x", outer * reduce * inner);
    float *out = floatData(info, 1, "out", outer * inner);
    reduceExtreme(x, outer, reduce, inner, info[5].ToBoolean().Value(), out);
    return info.Env().Undefined();
  });
}

// argMax(x, out: Int32Array, outer, reduce, inner)
Napi::Value ArgMax(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    int64_t outer, reduce, inner;
    blockArgs(info, 2, outer, reduce, inner);
    const float *x = floatData(info, 0, "x", outer * reduce * inner);
    const Napi::Value v = info[1];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        static_cast<int64_t>(v.As<Napi::Int32Array>().ElementLength()) != outer * inner) {
      throw Napi::TypeError::New(info.Env(), "out must be an Int32Array of outer * inner values");
    }
    argMax(x, outer, reduce, inner, v.As<Napi::Int32Array>().Data());
    return info.Env().Undefined();
  });
}

// stridedCopy(src, dst, layout [rank, dims, srcStrides, dstStrides])
Napi::Value StridedCopy(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    const Layout l = layoutArg(info, 2, 3);
    const float *src = stridedData(info, 0, "src", l.parts[0], l.parts[1]);
    float *dst = stridedData(info, 1, "dst", l.parts[0], l.parts[2]);
    stridedCopy(l.rank, l.parts[0].data(), src, l.parts[1].data(), dst, l.parts[2].data());
    return info.Env().Undefined();
  });
}

// tile(src, dst, layout [rank, dims, reps])
Napi::Value Tile(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    const Layout l = layoutArg(info, 2, 2);
    std::vector<int64_t> outDims(l.rank);
    for (int d = 0; d < l.rank; ++d) {
      if (l.parts[1][d] < 1) throw Napi::RangeError::New(info.Env(), "reps must be positive");
      outDims[d] = l.parts[0][d] * l.parts[1][d];
    }
    const float *src = floatData(info, 0, "src", product(l.parts[0]));
    float *dst = floatData(info, 1, "dst", product(outDims));
    tile(l.rank, l.parts[0].data(), l.parts[1].data(), src, dst);
    return info.Env().Undefined();
  });
}

const char *isaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    default: return "unknown";
  }
}

// info() -> { version, cpuRuntime, isa, threads }
Napi::Value Info(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    const dnnl::version_t *v = dnnl::version();
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("version", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
    out.Set("cpuRuntime", v->cpu_runtime == DNNL_RUNTIME_OMP ? "openmp" : "other");
    out.Set("isa", isaName(dnnl::get_effective_cpu_isa()));
    out.Set("threads", omp_get_max_threads());
    out.Set("cachedPrimitives", static_cast<double>(convCacheSize() + matMulCacheSize()));
    return Napi::Value(out);
  });
}

Napi::Value ClearCache(const Napi::CallbackInfo &info) {
  clearConvCaches();
  clearMatMulCache();
  return info.Env().Undefined();
}

// release(arrayBuffer): detaches the buffer, which frees its memory now instead of at the next garbage
// collection. Returns false, changing nothing, for a buffer that cannot be detached.
Napi::Value Release(const Napi::CallbackInfo &info) {
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) {
    throw Napi::TypeError::New(info.Env(), "release expects an ArrayBuffer");
  }
  const bool detached = napi_detach_arraybuffer(info.Env(), info[0]) == napi_ok;
  return Napi::Boolean::New(info.Env(), detached);
}

// The [rows, channels] view at info[index..index+1].
void rowsArgs(const Napi::CallbackInfo &info, int index, int64_t &rows, int64_t &channels) {
  rows = info[index].As<Napi::Number>().Int64Value();
  channels = info[index + 1].As<Napi::Number>().Int64Value();
  if (rows < 1 || channels < 1) throw Napi::RangeError::New(info.Env(), "empty [rows, channels] view");
}

// channelMoments(x, mean, variance, rows, channels, scale?, shift?, out?): out null for moments only.
Napi::Value ChannelMoments(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    int64_t rows, channels;
    rowsArgs(info, 3, rows, channels);
    const float *x = floatData(info, 0, "x", rows * channels);
    float *out = info.Length() > 7 ? const_cast<float *>(optionalFloatData(info, 7, "out", rows * channels)) : nullptr;
    const float *scale = out ? floatData(info, 5, "scale", channels) : nullptr;
    const float *shift = out ? floatData(info, 6, "shift", channels) : nullptr;
    channelMoments(x, rows, channels, floatData(info, 1, "mean", channels), floatData(info, 2, "variance", channels),
                   scale, shift, out);
    return info.Env().Undefined();
  });
}

// channelMomentsGrad(x, mean, dMean, dVariance, dx, rows, channels, dy?, scale?): dy null for moments only.
Napi::Value ChannelMomentsGrad(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    int64_t rows, channels;
    rowsArgs(info, 5, rows, channels);
    const float *dy = info.Length() > 7 ? optionalFloatData(info, 7, "dy", rows * channels) : nullptr;
    const float *scale = dy ? floatData(info, 8, "scale", channels) : nullptr;
    channelMomentsGrad(floatData(info, 0, "x", rows * channels), rows, channels, floatData(info, 1, "mean", channels),
                       floatData(info, 2, "dMean", channels), floatData(info, 3, "dVariance", channels), dy, scale,
                       floatData(info, 4, "dx", rows * channels));
    return info.Env().Undefined();
  });
}

// channelAffine(x, scale, shift | null, out, rows, channels)
Napi::Value ChannelAffine(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    int64_t rows, channels;
    rowsArgs(info, 4, rows, channels);
    channelAffine(floatData(info, 0, "x", rows * channels), rows, channels, floatData(info, 1, "scale", channels),
                  optionalFloatData(info, 2, "shift", channels), floatData(info, 3, "out", rows * channels));
    return info.Env().Undefined();
  });
}

// clippedLinearGrad(dy, x, dx, low, high, lowInclusive?)
Napi::Value ClippedLinearGrad(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    Napi::Float32Array dy = floatArray(info, 0, "dy");
    const int64_t size = static_cast<int64_t>(dy.ElementLength());
    const bool lowInclusive = info.Length() > 5 && info[5].ToBoolean().Value();
    clippedLinearGrad(dy.Data(), floatData(info, 1, "x", size), size, info[3].As<Napi::Number>().FloatValue(),
                      info[4].As<Napi::Number>().FloatValue(), lowInclusive, floatData(info, 2, "dx", size));
    return info.Env().Undefined();
  });
}

// The PoolGeometry in an Int32Array of its 14 fields, in declaration order.
PoolGeometry poolGeometry(const Napi::CallbackInfo &info, int index) {
  const Napi::Value v = info[index];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      v.As<Napi::Int32Array>().ElementLength() != 14) {
    throw Napi::TypeError::New(info.Env(), "pool geometry must be an Int32Array of 14 values");
  }
  const int32_t *a = v.As<Napi::Int32Array>().Data();
  PoolGeometry g{a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13]};
  if (g.batch < 1 || g.inHeight < 1 || g.inWidth < 1 || g.channels < 1 || g.outHeight < 1 || g.outWidth < 1 ||
      g.strideHeight < 1 || g.strideWidth < 1 || g.dilationHeight < 1 || g.dilationWidth < 1) {
    throw Napi::RangeError::New(info.Env(), "pool geometry has an empty or non-positive extent");
  }
  return g;
}

// maxPool(x, out, geometry)
Napi::Value MaxPool(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    const PoolGeometry g = poolGeometry(info, 2);
    maxPool(g, floatData(info, 0, "x", g.batch * g.inHeight * g.inWidth * g.channels),
            floatData(info, 1, "out", g.batch * g.outHeight * g.outWidth * g.channels));
    return info.Env().Undefined();
  });
}

// maxPoolGrad(x, dy, dx, geometry)
Napi::Value MaxPoolGrad(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    const PoolGeometry g = poolGeometry(info, 3);
    const int64_t inSize = g.batch * g.inHeight * g.inWidth * g.channels;
    maxPoolGrad(g, floatData(info, 0, "x", inSize),
                floatData(info, 1, "dy", g.batch * g.outHeight * g.outWidth * g.channels),
                floatData(info, 2, "dx", inSize));
    return info.Env().Undefined();
  });
}

// fakeQuantize(x, out, scale, zeroPoint, qmax): the float32 values of the three numbers are used.
Napi::Value FakeQuantize(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    Napi::Float32Array x = floatArray(info, 0, "x");
    const int64_t size = static_cast<int64_t>(x.ElementLength());
    fakeQuantize(x.Data(), size, info[2].As<Napi::Number>().FloatValue(), info[3].As<Napi::Number>().FloatValue(),
                 info[4].As<Napi::Number>().FloatValue(), floatData(info, 1, "out", size));
    return info.Env().Undefined();
  });
}

// softmax(x, out, rows, cols)
Napi::Value Softmax(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    int64_t rows, cols;
    rowsArgs(info, 2, rows, cols);
    softmaxRows(floatData(info, 0, "x", rows * cols), rows, cols, floatData(info, 1, "out", rows * cols));
    return info.Env().Undefined();
  });
}

// expectedLevels(scores, levels, out, rows, cols, beta)
Napi::Value ExpectedLevels(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    int64_t rows, cols;
    rowsArgs(info, 3, rows, cols);
    expectedLevels(floatData(info, 0, "scores", rows * cols), rows, cols, floatData(info, 1, "levels", cols),
                   info[5].As<Napi::Number>().FloatValue(), floatData(info, 2, "out", rows));
    return info.Env().Undefined();
  });
}

// expectedLevelsGrad(scores, levels, out, dOut, dScores, rows, cols, beta)
Napi::Value ExpectedLevelsGrad(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    int64_t rows, cols;
    rowsArgs(info, 5, rows, cols);
    expectedLevelsGrad(floatData(info, 0, "scores", rows * cols), rows, cols, floatData(info, 1, "levels", cols),
                       info[7].As<Napi::Number>().FloatValue(), floatData(info, 2, "out", rows),
                       floatData(info, 3, "dOut", rows), floatData(info, 4, "dScores", rows * cols));
    return info.Env().Undefined();
  });
}

// adamStep(value, m, v, grad, valueOut, mOut, vOut, settings: Float32Array [lr, b1, b2, eps, c1, c2])
Napi::Value AdamStep(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    Napi::Float32Array value = floatArray(info, 0, "value");
    const int64_t size = static_cast<int64_t>(value.ElementLength());
    const float *s = floatData(info, 7, "settings", 6);
    const AdamSettings a{s[0], s[1], s[2], s[3], s[4], s[5]};
    adamStep(a, value.Data(), floatData(info, 1, "m", size), floatData(info, 2, "v", size),
             floatData(info, 3, "grad", size), size, floatData(info, 4, "valueOut", size),
             floatData(info, 5, "mOut", size), floatData(info, 6, "vOut", size));
    return info.Env().Undefined();
  });
}

// relativeSquaredError(a, t, epsilon) -> [value, denominator]
Napi::Value RelativeSquaredError(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    Napi::Float32Array a = floatArray(info, 0, "a");
    const int64_t size = static_cast<int64_t>(a.ElementLength());
    if (size == 0) throw Napi::RangeError::New(info.Env(), "empty tensors");
    double denominator = 0;
    const double value = relativeSquaredError(a.Data(), floatData(info, 1, "t", size), size,
                                              info[2].As<Napi::Number>().DoubleValue(), &denominator);
    Napi::Array out = Napi::Array::New(info.Env(), 2);
    out.Set(0u, Napi::Number::New(info.Env(), value));
    out.Set(1u, Napi::Number::New(info.Env(), denominator));
    return out;
  });
}

// relativeSquaredErrorGrad(a, t, da, scale)
Napi::Value RelativeSquaredErrorGrad(const Napi::CallbackInfo &info) {
  return guarded(info, [&] {
    Napi::Float32Array a = floatArray(info, 0, "a");
    const int64_t size = static_cast<int64_t>(a.ElementLength());
    relativeSquaredErrorGrad(a.Data(), floatData(info, 1, "t", size), size, info[3].As<Napi::Number>().FloatValue(),
                             floatData(info, 2, "da", size));
    return info.Env().Undefined();
  });
}

// setThreads(n): the OpenMP team size for later calls from this thread.
Napi::Value SetThreads(const Napi::CallbackInfo &info) {
  const int threads = info[0].As<Napi::Number>().Int32Value();
  if (threads < 1) throw Napi::RangeError::New(info.Env(), "threads must be at least 1");
  omp_set_num_threads(threads);
  return info.Env().Undefined();
}

// tuneAllocator(): keeps freed memory in malloc's heap for reuse instead of handing it back to the kernel.
// Every kernel returns a new output array (several MB at batch 64); by default glibc maps such blocks
// fresh and unmaps them when freed, so each output costs page faults that take as long as the
// convolution that fills it. Blocks up to 32 MB (glibc's maximum) now come from the heap. The heap is
// trimmed when 32 MB lie free at its top: a 512 MB threshold made direct synthesis 18% faster (54 vs
// 64 s on the default W8A8 run) but kept ~30 MB more resident (peak 471-479 vs 443 MiB), which is
// above what the cpu backend peaks at on that run (463-470 MiB).
Napi::Value TuneAllocator(const Napi::CallbackInfo &info) {
  const bool ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 32 << 20) == 1;
  return Napi::Boolean::New(info.Env(), ok);
}

}  // namespace
}  // namespace tfjs_native

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace tfjs_native;
  exports.Set("convForward", Napi::Function::New(env, ConvForward));
  exports.Set("convBackwardData", Napi::Function::New(env, ConvBackwardData));
  exports.Set("convBackwardFilter", Napi::Function::New(env, ConvBackwardFilter));
  exports.Set("matMul", Napi::Function::New(env, MatMul));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("batchNorm", Napi::Function::New(env, BatchNorm));
  exports.Set("reduceSum", Napi::Function::New(env, ReduceSum));
  exports.Set("reduceExtreme", Napi::Function::New(env, ReduceExtreme));
  exports.Set("argMax", Napi::Function::New(env, ArgMax));
  exports.Set("stridedCopy", Napi::Function::New(env, StridedCopy));
  exports.Set("tile", Napi::Function::New(env, Tile));
  exports.Set("channelMoments", Napi::Function::New(env, ChannelMoments));
  exports.Set("channelMomentsGrad", Napi::Function::New(env, ChannelMomentsGrad));
  exports.Set("channelAffine", Napi::Function::New(env, ChannelAffine));
  exports.Set("clippedLinearGrad", Napi::Function::New(env, ClippedLinearGrad));
  exports.Set("maxPool", Napi::Function::New(env, MaxPool));
  exports.Set("maxPoolGrad", Napi::Function::New(env, MaxPoolGrad));
  exports.Set("fakeQuantize", Napi::Function::New(env, FakeQuantize));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("expectedLevels", Napi::Function::New(env, ExpectedLevels));
  exports.Set("expectedLevelsGrad", Napi::Function::New(env, ExpectedLevelsGrad));
  exports.Set("adamStep", Napi::Function::New(env, AdamStep));
  exports.Set("relativeSquaredError", Napi::Function::New(env, RelativeSquaredError));
  exports.Set("relativeSquaredErrorGrad", Napi::Function::New(env, RelativeSquaredErrorGrad));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("clearCache", Napi::Function::New(env, ClearCache));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("tuneAllocator", Napi::Function::New(env, TuneAllocator));
  exports.Set("release", Napi::Function::New(env, Release));
  return exports;
}

NODE_API_MODULE(tfjs_native, Init)
