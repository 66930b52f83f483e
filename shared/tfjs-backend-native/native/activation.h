// The activations TF.js can fuse into conv2d and matMul. Most map onto oneDNN eltwise post-ops, which
// run while the output is still in cache; PReLU (per-channel slopes) is applied in a separate pass.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <string>

namespace tfjs_native {

// Codes shared with src/kernels/activation.ts.
enum class Activation : int32_t {
  kLinear = 0,
  kRelu = 1,
  kRelu6 = 2,
  kLeakyRelu = 3,
  kSigmoid = 4,
  kElu = 5,
  kPrelu = 6,
};

struct Epilogue {
  Activation activation = Activation::kLinear;
  float alpha = 0.f;               // LeakyReLU slope
  const float *preluSlopes = nullptr;  // PReLU: one slope per channel, or a single one
  int64_t preluCount = 0;

  // Post-ops for the primitive; PReLU adds none and is finished by applyPrelu().
  dnnl::primitive_attr attr() const;
  void appendKey(std::string &key) const;
  // Applies PReLU in place to `size` values whose innermost dimension is `channels`.
  void applyPrelu(float *y, int64_t size, int64_t channels) const;
};

}  // namespace tfjs_native
