#include "channel.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "parallel.h"

namespace tfjs_native {

void channelMoments(const float *x, int64_t rows, int64_t channels, float *mean, float *variance,
                    const float *scale, const float *shift, float *out) {
  // Per-thread sums in double over that thread's rows, combined in thread order. Shifting by the first
  // row keeps E[d^2] - E[d]^2 from cancelling when a channel's mean is large against its spread.
  const int team = parallelTeam(rows, channels);
  std::vector<double> sums(static_cast<std::size_t>(team) * channels * 2, 0.0);
  parallelRows(rows, channels, [&](int64_t begin, int64_t end, int t) {
    double *s = sums.data() + static_cast<std::size_t>(t) * channels * 2;
    double *s2 = s + channels;
    for (int64_t r = begin; r < end; ++r) {
      const float *row = x + r * channels;
      for (int64_t c = 0; c < channels; ++c) {
        const double d = static_cast<double>(row[c]) - static_cast<double>(x[c]);
        s[c] += d;
        s2[c] += d * d;
      }
      if (out != nullptr) {
        float *o = out + r * channels;
        for (int64_t c = 0; c < channels; ++c) o[c] = row[c] * scale[c] + shift[c];
      }
    }
  });
  for (int64_t c = 0; c < channels; ++c) {
    double s = 0, s2 = 0;
    for (int t = 0; t < team; ++t) {
      s += sums[static_cast<std::size_t>(t) * channels * 2 + c];
      s2 += sums[static_cast<std::size_t>(t) * channels * 2 + channels + c];
    }
    const double shiftedMean = s / static_cast<double>(rows);
    mean[c] = static_cast<float>(shiftedMean + static_cast<double>(x[c]));
    variance[c] = static_cast<float>(std::max(0.0, s2 / static_cast<double>(rows) - shiftedMean * shiftedMean));
  }
}

void channelMomentsGrad(const float *x, int64_t rows, int64_t channels, const float *mean, const float *dMean,
                        const float *dVariance, const float *dy, const float *scale, float *dx) {
  std::vector<float> a(channels), b(channels);
  const float inv = 1.0f / static_cast<float>(rows);
  for (int64_t c = 0; c < channels; ++c) {
    a[c] = dMean[c] * inv;
    b[c] = 2.0f * dVariance[c] * inv;
  }
  parallelRows(rows, channels, [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r) {
      const float *xr = x + r * channels;
      float *o = dx + r * channels;
      if (dy != nullptr) {
        const float *g = dy + r * channels;
        for (int64_t c = 0; c < channels; ++c) o[c] = g[c] * scale[c] + (a[c] + (xr[c] - mean[c]) * b[c]);
      } else {
        for (int64_t c = 0; c < channels; ++c) o[c] = a[c] + (xr[c] - mean[c]) * b[c];
      }
    }
  });
}

void channelAffine(const float *x, int64_t rows, int64_t channels, const float *scale, const float *shift,
                   float *out) {
  parallelRows(rows, channels, [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r) {
      const float *xr = x + r * channels;
      float *o = out + r * channels;
      if (shift != nullptr) {
        for (int64_t c = 0; c < channels; ++c) o[c] = xr[c] * scale[c] + shift[c];
      } else {
        for (int64_t c = 0; c < channels; ++c) o[c] = xr[c] * scale[c];
      }
    }
  });
}

void clippedLinearGrad(const float *dy, const float *x, int64_t size, float low, float high, bool lowInclusive,
                       float *dx) {
  // dy * mask, the mask 1 inside (low, high] and 0 outside (dy * 0 gives -0 for negative dy and NaN for
  // infinite dy, as dy * step(x) does), NaN where x is NaN. Written without branches: activations are
  // positive or not at random, and a mispredicted branch per element cost 10x the memory traffic.
  if (lowInclusive) {
    parallelChunks(size, [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; ++i) {
        const float v = x[i];
        const float above = v >= low ? 1.f : 0.f;
        dx[i] = dy[i] * (v <= high ? above : 0.f);  // NaN compares false: masked
      }
    });
    return;
  }
  parallelChunks(size, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      const float v = x[i];
      const float above = v > low ? 1.f : 0.f;
      const float inside = v <= high ? above : 0.f;
      const float mask = v != v ? v : inside;
      dx[i] = dy[i] * mask;
    }
  });
}

namespace {

// exp(x) for x <= 0 to about 2 ulp: Cody-Waite reduction by ln 2 and Cephes' degree-5 polynomial, inline
// and branch-free so that a row's loop vectorizes. A 224x224 model's level scores take tens of millions
// of exponentials per step, forward and backward, which libm's expf (a call each) made the step's
// largest cost. Below -87.3 the result would be subnormal: it is clamped to exp(-87.3) instead, far
// below anything a probability sum notices.
inline float expNonPositive(float x) {
  x = std::max(x, -87.3f);
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
  x = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * x + 1.3981999507e-3f;
  p = p * x + 8.3334519073e-3f;
  p = p * x + 4.1665795894e-2f;
  p = p * x + 1.6666665459e-1f;
  p = p * x + 5.0000001201e-1f;
  p = p * (x * x) + x + 1.f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// u[j] = softmax(beta * row)[j] (the row is short: one entry per grid level).
inline void levelProbabilities(const float *row, int64_t cols, float beta, float *u) {
  float m = beta * row[0];
  for (int64_t j = 1; j < cols; ++j) m = std::max(m, beta * row[j]);
  float z = 0;
  for (int64_t j = 0; j < cols; ++j) {
    u[j] = expNonPositive(beta * row[j] - m);
    z += u[j];
  }
  const float inv = 1.f / z;
  for (int64_t j = 0; j < cols; ++j) u[j] *= inv;
}

}  // namespace

void expectedLevels(const float *scores, int64_t rows, int64_t cols, const float *levels, float beta, float *out) {
  parallelRows(rows, cols * 8, [&](int64_t begin, int64_t end, int) {
    std::vector<float> u(cols);
    for (int64_t r = begin; r < end; ++r) {
      levelProbabilities(scores + r * cols, cols, beta, u.data());
      float w = 0;
      for (int64_t j = 0; j < cols; ++j) w += u[j] * levels[j];
      out[r] = w;
    }
  });
}

void expectedLevelsGrad(const float *scores, int64_t rows, int64_t cols, const float *levels, float beta,
                        const float *out, const float *dOut, float *dScores) {
  parallelRows(rows, cols * 8, [&](int64_t begin, int64_t end, int) {
    std::vector<float> u(cols);
    for (int64_t r = begin; r < end; ++r) {
      levelProbabilities(scores + r * cols, cols, beta, u.data());
      const float g = beta * dOut[r];
      float *d = dScores + r * cols;
      for (int64_t j = 0; j < cols; ++j) d[j] = g * u[j] * (levels[j] - out[r]);
    }
  });
}

double relativeSquaredError(const float *a, const float *t, int64_t size, double epsilon, double *denominator) {
  const int team = parallelTeam(size, 1);
  std::vector<double> sums(static_cast<std::size_t>(team) * 2, 0.0);
  parallelChunks(size, [&](int64_t begin, int64_t end, int thread) {
    double se = 0, st = 0;
    for (int64_t i = begin; i < end; ++i) {
      const double d = static_cast<double>(a[i]) - static_cast<double>(t[i]);
      se += d * d;
      st += static_cast<double>(t[i]) * static_cast<double>(t[i]);
    }
    sums[2 * thread] = se;
    sums[2 * thread + 1] = st;
  });
  double se = 0, st = 0;
  for (int k = 0; k < team; ++k) {
    se += sums[2 * k];
    st += sums[2 * k + 1];
  }
  *denominator = st / static_cast<double>(size) + epsilon;
  return se / static_cast<double>(size) / *denominator;
}

void relativeSquaredErrorGrad(const float *a, const float *t, int64_t size, float scale, float *da) {
  parallelChunks(size, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) da[i] = (a[i] - t[i]) * scale;
  });
}

void adamStep(const AdamSettings &a, const float *value, const float *m, const float *v, const float *grad,
              int64_t size, float *valueOut, float *mOut, float *vOut) {
  // Outputs may be the inputs themselves (an update in place): each element is read before it is written.
  const float keep1 = 1.f - a.beta1, keep2 = 1.f - a.beta2;
  const float inv1 = 1.f / a.correction1, inv2 = 1.f / a.correction2, rate = -a.learningRate;
  parallelChunks(size, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      const float g = grad[i];
      const float m1 = m[i] * a.beta1 + g * keep1;
      const float v1 = v[i] * a.beta2 + (g * g) * keep2;
      mOut[i] = m1;
      vOut[i] = v1;
      valueOut[i] = value[i] + ((m1 * inv1) / (std::sqrt(v1 * inv2) + a.epsilon)) * rate;
    }
  });
}

}  // namespace tfjs_native
