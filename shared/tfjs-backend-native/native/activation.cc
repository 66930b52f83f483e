#include "activation.h"

#include "engine.h"

#include <cstring>

namespace tfjs_native {

dnnl::primitive_attr Epilogue::attr() const {
  using alg = dnnl::algorithm;
  dnnl::post_ops ops;
  switch (activation) {
    case Activation::kRelu: ops.append_eltwise(1.f, alg::eltwise_relu, 0.f, 0.f); break;
    case Activation::kRelu6: ops.append_eltwise(1.f, alg::eltwise_clip, 0.f, 6.f); break;
    case Activation::kLeakyRelu: ops.append_eltwise(1.f, alg::eltwise_relu, alpha, 0.f); break;
    case Activation::kSigmoid: ops.append_eltwise(1.f, alg::eltwise_logistic, 0.f, 0.f); break;
    case Activation::kElu: ops.append_eltwise(1.f, alg::eltwise_elu, 1.f, 0.f); break;
    case Activation::kLinear:
    case Activation::kPrelu: break;
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

void Epilogue::appendKey(std::string &key) const {
  keyAppend(key, static_cast<int32_t>(activation));
  if (activation == Activation::kLeakyRelu) {
    uint32_t bits;
    std::memcpy(&bits, &alpha, sizeof bits);  // exact, unlike a decimal rendering
    keyAppend(key, bits);
  }
}

void Epilogue::applyPrelu(float *y, int64_t size, int64_t channels) const {
  if (activation != Activation::kPrelu) return;
  if (preluCount == 1) {
    const float a = preluSlopes[0];
    for (int64_t i = 0; i < size; ++i) y[i] = y[i] < 0.f ? y[i] * a : y[i];
    return;
  }
  for (int64_t base = 0; base < size; base += channels) {
    float *row = y + base;
    for (int64_t c = 0; c < channels; ++c) row[c] = row[c] < 0.f ? row[c] * preluSlopes[c] : row[c];
  }
}

}  // namespace tfjs_native
