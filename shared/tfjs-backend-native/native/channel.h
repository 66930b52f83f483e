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

// dx[i] = dy[i] where low < x[i] <= high (low <= x[i] with lowInclusive), else dy[i] * 0. Where x is
// NaN: NaN (as dy * step(x) gives: the gradient of Relu, high = inf, and Relu6, high = 6), or with
// lowInclusive dy * 0 (the clipped straight-through estimator of fake quantization, dy * (lo <= x <= hi)).
void clippedLinearGrad(const float *dy, const float *x, int64_t size, float low, float high, bool lowInclusive,
                       float *dx);

// Mean-field weights: out[r] = sum_j softmax(beta * scores[r, :])_j * levels[j], for scores viewed as
// [rows, cols] (one row per weight, one column per grid level).
void expectedLevels(const float *scores, int64_t rows, int64_t cols, const float *levels, float beta, float *out);

// Its gradient: dScores[r, j] = beta * u[r, j] * (levels[j] - out[r]) * dOut[r], u recomputed.
void expectedLevelsGrad(const float *scores, int64_t rows, int64_t cols, const float *levels, float beta,
                        const float *out, const float *dOut, float *dScores);

// The feature term of distillation: mean((a - t)^2) / (mean(t^2) + epsilon), sums in double over
// per-thread chunks combined in order. Returns it and writes the denominator to *denominator.
double relativeSquaredError(const float *a, const float *t, int64_t size, double epsilon, double *denominator);

// Its gradient with respect to a: dy * 2 (a - t) / (size * denominator).
void relativeSquaredErrorGrad(const float *a, const float *t, int64_t size, float scale, float *da);

// One Adam step over `size` parameters, in float as tf.train.adam's op chain: m = b1 m + (1 - b1) g,
// v = b2 v + (1 - b2) g^2, value -= lr (m / c1) / (sqrt(v / c2) + epsilon), with c1 = 1 - b1^t and
// c2 = 1 - b2^t. Writes the new value, m and v to their own outputs.
struct AdamSettings {
  float learningRate, beta1, beta2, epsilon, correction1, correction2;
};
void adamStep(const AdamSettings &a, const float *value, const float *m, const float *v, const float *grad,
              int64_t size, float *valueOut, float *mOut, float *vOut);

}  // namespace tfjs_native
