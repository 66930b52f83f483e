// Max pooling over NHWC float32, forward and gradient, with the cpu kernel's choice of maximum: the
// first in scan order (rows, then columns) that is strictly greater than all before it, so a window of
// NaNs has none (forward -Infinity, no gradient).
#pragma once

#include <cstdint>

namespace tfjs_native {

struct PoolGeometry {
  int64_t batch, inHeight, inWidth, channels, outHeight, outWidth;
  int64_t strideHeight, strideWidth, dilationHeight, dilationWidth;
  int64_t effectiveHeight, effectiveWidth, padTop, padLeft;
};

// out[n, oh, ow, c] = max over the window.
void maxPool(const PoolGeometry &g, const float *x, float *out);

// dx = 0, then each dy[n, oh, ow, c] added at its window's maximum.
void maxPoolGrad(const PoolGeometry &g, const float *x, const float *dy, float *dx);

}  // namespace tfjs_native
