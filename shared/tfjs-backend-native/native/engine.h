// oneDNN state: a CPU engine and an in-order stream, plus caches of primitives, whose creation costs far
// more than executing them on the small tensors of a CNN. TF.js kernels are synchronous, so each JS
// thread (the main one, or a worker that loads the addon too) gets its own, thread_local, and no locks.
#pragma once

#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>

namespace tfjs_native {

dnnl::engine &cpuEngine();
dnnl::stream &cpuStream();

// Maps a shape key to a prepared computation. Bounded so that a run over many shapes cannot grow memory
// without limit; when full it is simply emptied, since shapes repeat across training steps. Primitives
// fix their work split for the thread count in force when they are created, so that count is part of
// every key (plans for both counts stay cached while the thread count changes with the machine's load).
template <typename Plan>
class PlanCache {
 public:
  explicit PlanCache(std::size_t capacity) : capacity_(capacity) {
    // Create the engine and stream first so that they outlive the plans: thread_locals are destroyed in
    // the reverse order of their construction.
    cpuStream();
  }

  template <typename Make>
  Plan &get(const std::string &shapeKey, Make make) {
    const std::string key = std::to_string(omp_get_max_threads()) + '|' + shapeKey;
    auto it = plans_.find(key);
    if (it != plans_.end()) return *it->second;
    if (plans_.size() >= capacity_) plans_.clear();
    auto plan = make();
    Plan &ref = *plan;
    plans_.emplace(key, std::move(plan));
    return ref;
  }

  void clear() { plans_.clear(); }
  std::size_t size() const { return plans_.size(); }

 private:
  std::size_t capacity_;
  std::unordered_map<std::string, std::unique_ptr<Plan>> plans_;
};

// One tensor argument of a primitive. The caller's data is in a plain layout (`user`); the primitive
// may prefer another (`inner`), in which case a reorder through a buffer owned here bridges the two.
class Operand {
 public:
  Operand() = default;
  Operand(const dnnl::memory::desc &user, const dnnl::memory::desc &inner);

  // For inputs: wrap `data` and, if needed, reorder it into the inner buffer. Returns what to execute on.
  dnnl::memory input(const void *data);
  // For outputs: the memory the primitive writes into; call commit() after executing.
  dnnl::memory output(void *data);
  void commit();

  bool reorders() const { return reorders_; }

 private:
  dnnl::memory userMem_;
  dnnl::memory innerMem_;
  dnnl::reorder toInner_;
  dnnl::reorder toUser_;
  bool reorders_ = false;
  bool isOutput_ = false;
};

// Appends `v` to a cache key.
inline void keyAppend(std::string &key, long long v) {
  key += std::to_string(v);
  key += ',';
}

}  // namespace tfjs_native
