#include "pool.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "parallel.h"

namespace tfjs_native {
namespace {

// For output pixel (n, oh, ow): best[c] and at[c] (offset within image n, -1 for none) over its window.
// Selects rather than branches, so the channel loop vectorises.
void scanWindow(const PoolGeometry &g, const float *image, int64_t oh, int64_t ow, float *best, int64_t *at) {
  const int64_t C = g.channels;
  const int64_t rCorner = oh * g.strideHeight - g.padTop;
  const int64_t cCorner = ow * g.strideWidth - g.padLeft;
  const int64_t rMin = std::max<int64_t>(0, rCorner), rMax = std::min(g.inHeight, rCorner + g.effectiveHeight);
  const int64_t cMin = std::max<int64_t>(0, cCorner), cMax = std::min(g.inWidth, cCorner + g.effectiveWidth);
  std::fill(best, best + C, -std::numeric_limits<float>::infinity());
  std::fill(at, at + C, int64_t{-1});
  for (int64_t r = rMin; r < rMax; r += g.dilationHeight) {
    for (int64_t c = cMin; c < cMax; c += g.dilationWidth) {
      const int64_t base = (r * g.inWidth + c) * C;
      const float *v = image + base;
      for (int64_t d = 0; d < C; ++d) {
        const bool greater = v[d] > best[d];
        best[d] = greater ? v[d] : best[d];
        at[d] = greater ? base + d : at[d];
      }
    }
  }
}

}  // namespace

void maxPool(const PoolGeometry &g, const float *x, float *out) {
  const int64_t rows = g.batch * g.outHeight;
  const int64_t imageSize = g.inHeight * g.inWidth * g.channels;
  parallelRows(rows, g.outWidth * g.channels * 9, [&](int64_t begin, int64_t end, int) {
    std::vector<float> best(g.channels);
    std::vector<int64_t> at(g.channels);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t n = row / g.outHeight, oh = row % g.outHeight;
      for (int64_t ow = 0; ow < g.outWidth; ++ow) {
        scanWindow(g, x + n * imageSize, oh, ow, best.data(), at.data());
        std::memcpy(out + (row * g.outWidth + ow) * g.channels, best.data(), g.channels * sizeof(float));
      }
    }
  });
}

void maxPoolGrad(const PoolGeometry &g, const float *x, const float *dy, float *dx) {
  // Windows overlap within an image, so threads split images, each writing only its own image's dx.
  const int64_t imageSize = g.inHeight * g.inWidth * g.channels;
  const int64_t outImageSize = g.outHeight * g.outWidth * g.channels;
  parallelRows(g.batch, outImageSize * 9, [&](int64_t begin, int64_t end, int) {
    std::vector<float> best(g.channels);
    std::vector<int64_t> at(g.channels);
    for (int64_t n = begin; n < end; ++n) {
      float *dxImage = dx + n * imageSize;
      std::fill(dxImage, dxImage + imageSize, 0.0f);
      for (int64_t oh = 0; oh < g.outHeight; ++oh) {
        for (int64_t ow = 0; ow < g.outWidth; ++ow) {
          scanWindow(g, x + n * imageSize, oh, ow, best.data(), at.data());
          const float *g0 = dy + n * outImageSize + (oh * g.outWidth + ow) * g.channels;
          for (int64_t d = 0; d < g.channels; ++d) {
            if (at[d] >= 0) dxImage[at[d]] += g0[d];
          }
        }
      }
    }
  });
}

}  // namespace tfjs_native
