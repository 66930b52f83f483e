// 2-D convolutions in TF.js layouts: activations NHWC; filters HWIO, or [h, w, in, multiplier] when
// depthwise (groups == in channels), which is oneDNN's grouped "hwigo" layout.
#pragma once

#include <cstdint>
#include <string>

#include "activation.h"

namespace tfjs_native {

struct ConvGeometry {
  int64_t batch, inH, inW, inC;
  int64_t outH, outW, outC;
  int64_t filterH, filterW;
  int64_t strideH, strideW;
  int64_t dilationH, dilationW;  // TF convention: 1 means no dilation
  int64_t padTop, padLeft, padBottom, padRight;
  int64_t groups;  // 1, or inC for depthwise

  static constexpr int kFields = 18;
  // Reads the fields in declaration order, as src/kernels/conv_geometry.ts writes them.
  static ConvGeometry fromArray(const int32_t *v);
  std::string key() const;
};

void convForward(const ConvGeometry &g, const float *x, const float *filter, const float *bias,
                 const Epilogue &epilogue, float *y);
void convBackwardData(const ConvGeometry &g, const float *dy, const float *filter, float *dx);
void convBackwardFilter(const ConvGeometry &g, const float *x, const float *dy, float *dFilter);

void clearConvCaches();
std::size_t convCacheSize();

}  // namespace tfjs_native
