#include "matmul.h"

#include <algorithm>
#include <memory>
#include <string>

#include "engine.h"

namespace tfjs_native {

using md = dnnl::memory::desc;
using dt = dnnl::memory::data_type;

MatMulShape MatMulShape::fromArray(const int32_t *v) {
  return {v[0], v[1], v[2], v[3], v[4], v[5] != 0, v[6] != 0};
}

namespace {

struct MatMulPlan {
  dnnl::matmul primitive;
  dnnl::memory a, b, c, bias;  // user memories; data handles are set per call
};

thread_local PlanCache<MatMulPlan> plans(256);

}  // namespace

void matMul(const MatMulShape &s, const float *a, const float *b, const float *bias, const Epilogue &epilogue,
            float *c) {
  std::string key;
  for (int64_t v : {s.batchA, s.batchB, s.m, s.n, s.k}) keyAppend(key, v);
  keyAppend(key, s.transposeA);
  keyAppend(key, s.transposeB);
  keyAppend(key, bias != nullptr);
  epilogue.appendKey(key);
  const int64_t batch = std::max(s.batchA, s.batchB);

  MatMulPlan &plan = plans.get(key, [&] {
    // Transposes are expressed as strides over the same row-major buffers, so no copies are made.
    const md aDesc({s.batchA, s.m, s.k}, dt::f32,
                   s.transposeA ? dnnl::memory::dims{s.m * s.k, 1, s.m} : dnnl::memory::dims{s.m * s.k, s.k, 1});
    const md bDesc({s.batchB, s.k, s.n}, dt::f32,
                   s.transposeB ? dnnl::memory::dims{s.k * s.n, 1, s.k} : dnnl::memory::dims{s.k * s.n, s.n, 1});
    const md cDesc({batch, s.m, s.n}, dt::f32, dnnl::memory::dims{s.m * s.n, s.n, 1});
    const md biasDesc({1, 1, s.n}, dt::f32, dnnl::memory::dims{s.n, s.n, 1});
    auto desc = bias != nullptr ? dnnl::matmul::desc(aDesc, bDesc, biasDesc, cDesc)
                                : dnnl::matmul::desc(aDesc, bDesc, cDesc);
    dnnl::matmul::primitive_desc pd(desc, epilogue.attr(), cpuEngine());
    auto plan = std::make_unique<MatMulPlan>();
    plan->primitive = dnnl::matmul(pd);
    plan->a = dnnl::memory(aDesc, cpuEngine(), DNNL_MEMORY_NONE);
    plan->b = dnnl::memory(bDesc, cpuEngine(), DNNL_MEMORY_NONE);
    plan->c = dnnl::memory(cDesc, cpuEngine(), DNNL_MEMORY_NONE);
    plan->bias = dnnl::memory(biasDesc, cpuEngine(), DNNL_MEMORY_NONE);
    return plan;
  });

  plan.a.set_data_handle(const_cast<float *>(a));
  plan.b.set_data_handle(const_cast<float *>(b));
  plan.c.set_data_handle(c);
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, plan.a}, {DNNL_ARG_WEIGHTS, plan.b}, {DNNL_ARG_DST, plan.c}};
  if (bias != nullptr) {
    plan.bias.set_data_handle(const_cast<float *>(bias));
    args.emplace(DNNL_ARG_BIAS, plan.bias);
  }
  plan.primitive.execute(cpuStream(), args);
  cpuStream().wait();
  epilogue.applyPrelu(c, batch * s.m * s.n, s.n);
}

void clearMatMulCache() { plans.clear(); }
std::size_t matMulCacheSize() { return plans.size(); }

}  // namespace tfjs_native
