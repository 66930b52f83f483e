// One policy for splitting memory-bound loops across the OpenMP team: below kParallelMinimum elements a
// loop stays on the calling thread (waking the team costs more than it saves), above it every thread
// gets one contiguous chunk of rows, the same for the same size and team, so results never depend on
// timing.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace tfjs_native {

constexpr int64_t kParallelMinimum = 1 << 15;

// The threads parallelRows uses for rows of rowSize elements.
inline int parallelTeam(int64_t rows, int64_t rowSize) {
  const int threads = omp_get_max_threads();
  if (threads <= 1 || rows < 2 || rows * rowSize < kParallelMinimum) return 1;
  return static_cast<int>(std::min<int64_t>(threads, rows));
}

// Calls f(begin, end, thread) for one contiguous chunk of [0, rows) per thread of parallelTeam.
template <typename F>
void parallelRows(int64_t rows, int64_t rowSize, F f) {
  const int team = parallelTeam(rows, rowSize);
  if (team == 1) {
    f(int64_t{0}, rows, 0);
    return;
  }
  const int64_t chunk = (rows + team - 1) / team;
#pragma omp parallel num_threads(team)
  {
    const int t = omp_get_thread_num();
    const int64_t begin = std::min<int64_t>(rows, t * chunk);
    const int64_t end = std::min<int64_t>(rows, begin + chunk);
    if (begin < end) f(begin, end, t);
  }
}

template <typename F>
void parallelChunks(int64_t size, F f) {
  parallelRows(size, 1, f);
}

}  // namespace tfjs_native
