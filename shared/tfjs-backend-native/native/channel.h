// Fused per-channel kernels of the synthesis and distillation loops, on NHWC tensors viewed as
// [rows, channels]. Each replaces a chain of TF.js ops that made several passes over activations of
// many megabytes (and as many JS dispatches): the batch moments that the BatchNorm-statistics loss reads,
// BatchNorm's inference affine, and the ReLU family's gradient mask. They split rows over the OpenMP
// team in fixed chunks, so a result depends on the thread count only, never on timing.
#pragma once

#include <cstdint>

namespace tfjs_native {

// mean[c] and (biased) variance[c] of x[:, c], accumulated in double. With `out`, the same pass also
// writes out[r, c] = x[r, c] * scale[c] + shift[c] (BatchNorm at inference, whose input the moments are of).
void channelMoments(const float *x, int64_t rows, int64_t channels, float *mean, float *variance,
                    const float *scale = nullptr, const float *shift = nullptr, float *out = nullptr);

// dx[r, c] = dMean[c] / rows + 2 (x[r, c] - mean[c]) dVariance[c] / rows: the gradient of channelMoments.
// With dy, adds dy[r, c] * scale[c], the gradient through the affine output, in the same pass.
void channelMomentsGrad(const float *x, int64_t rows, int64_t channels, const float *mean, const float *dMean,
                        const float *dVariance, const float *dy, const float *scale, float *dx);

// out[r, c] = x[r, c] * scale[c] + shift[c] (shift may be null: no shift).
void channelAffine(const float *x, int64_t rows, int64_t channels, const float *scale, const float *shift,
                   float *out);

// dx[i] = dy[i] where low < x[i] <= high, else 0 (NaN where x is NaN, as dy * step(x) gives): the
// gradient of Relu (high = inf) and Relu6 (high = 6).
void clippedLinearGrad(const float *dy, const float *x, int64_t size, float low, float high, float *dx);

}  // namespace tfjs_native
