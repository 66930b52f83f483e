#include "conv.h"

#include <memory>

#include "engine.h"

namespace tfjs_native {

using dnnl::algorithm;
using dnnl::prop_kind;
using md = dnnl::memory::desc;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

ConvGeometry ConvGeometry::fromArray(const int32_t *v) {
  return {v[0], v[1], v[2],  v[3],  v[4],  v[5],  v[6],  v[7],  v[8],
          v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16], v[17]};
}

std::string ConvGeometry::key() const {
  std::string key;
  for (int64_t v : {batch, inH, inW, inC, outH, outW, outC, filterH, filterW, strideH, strideW, dilationH,
                    dilationW, padTop, padLeft, padBottom, padRight, groups}) {
    keyAppend(key, v);
  }
  return key;
}

namespace {

// Descriptors of the caller's (TF.js) layouts and of the layouts the primitive may choose.
struct ConvDescs {
  md src, weights, dst, bias;  // TF.js layouts
  md weightsAny;               // left to the primitive
  dims strides, dilates, padL, padR;

  explicit ConvDescs(const ConvGeometry &g) {
    const dims srcDims = {g.batch, g.inC, g.inH, g.inW};
    const dims dstDims = {g.batch, g.outC, g.outH, g.outW};
    // Activations stay NHWC: oneDNN's brgemm and NHWC jit kernels run as fast on it as on blocked
    // layouts (measured), so reordering the large tensors would only cost time. The small filters go
    // to whatever blocked layout the primitive wants.
    src = md(srcDims, dt::f32, tag::nhwc);
    dst = md(dstDims, dt::f32, tag::nhwc);
    if (g.groups == 1) {
      const dims wDims = {g.outC, g.inC, g.filterH, g.filterW};
      weights = md(wDims, dt::f32, tag::hwio);
      weightsAny = md(wDims, dt::f32, tag::any);
    } else {
      const dims wDims = {g.groups, g.outC / g.groups, g.inC / g.groups, g.filterH, g.filterW};
      weights = md(wDims, dt::f32, tag::hwigo);
      weightsAny = md(wDims, dt::f32, tag::any);
    }
    bias = md({g.outC}, dt::f32, tag::x);
    strides = {g.strideH, g.strideW};
    dilates = {g.dilationH - 1, g.dilationW - 1};
    padL = {g.padTop, g.padLeft};
    padR = {g.padBottom, g.padRight};
  }

  dnnl::convolution_forward::primitive_desc forwardDesc(prop_kind kind, bool withBias,
                                                        const dnnl::primitive_attr &attr) const {
    auto desc = withBias ? dnnl::convolution_forward::desc(kind, algorithm::convolution_direct, src, weightsAny,
                                                           bias, dst, strides, dilates, padL, padR)
                         : dnnl::convolution_forward::desc(kind, algorithm::convolution_direct, src, weightsAny,
                                                           dst, strides, dilates, padL, padR);
    return {desc, attr, cpuEngine()};
  }
};

struct ForwardPlan {
  dnnl::convolution_forward primitive;
  Operand src, weights, dst;
  md bias;
};

struct BackwardDataPlan {
  dnnl::convolution_backward_data primitive;
  Operand diffDst, weights, diffSrc;
};

struct BackwardFilterPlan {
  dnnl::convolution_backward_weights primitive;
  Operand src, diffDst, diffWeights;
};

thread_local PlanCache<ForwardPlan> forwardPlans(256);
thread_local PlanCache<BackwardDataPlan> backwardDataPlans(256);
thread_local PlanCache<BackwardFilterPlan> backwardFilterPlans(256);

}  // namespace

void convForward(const ConvGeometry &g, const float *x, const float *filter, const float *bias,
                 const Epilogue &epilogue, float *y) {
  std::string key = g.key();
  keyAppend(key, bias != nullptr);
  epilogue.appendKey(key);
  ForwardPlan &plan = forwardPlans.get(key, [&] {
    ConvDescs d(g);
    auto pd = d.forwardDesc(prop_kind::forward_inference, bias != nullptr, epilogue.attr());
    auto plan = std::make_unique<ForwardPlan>();
    plan->primitive = dnnl::convolution_forward(pd);
    plan->src = Operand(d.src, pd.src_desc());
    plan->weights = Operand(d.weights, pd.weights_desc());
    plan->dst = Operand(d.dst, pd.dst_desc());
    plan->bias = d.bias;
    return plan;
  });

  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, plan.src.input(x)},
      {DNNL_ARG_WEIGHTS, plan.weights.input(filter)},
      {DNNL_ARG_DST, plan.dst.output(y)},
  };
  if (bias != nullptr) {
    args.emplace(DNNL_ARG_BIAS, dnnl::memory(plan.bias, cpuEngine(), const_cast<float *>(bias)));
  }
  plan.primitive.execute(cpuStream(), args);
  plan.dst.commit();
  cpuStream().wait();
  epilogue.applyPrelu(y, g.batch * g.outH * g.outW * g.outC, g.outC);
}

void convBackwardData(const ConvGeometry &g, const float *dy, const float *filter, float *dx) {
  BackwardDataPlan &plan = backwardDataPlans.get(g.key(), [&] {
    ConvDescs d(g);
    auto hint = d.forwardDesc(prop_kind::forward_training, false, {});
    dnnl::convolution_backward_data::desc desc(algorithm::convolution_direct, d.src, d.weightsAny, d.dst,
                                               d.strides, d.dilates, d.padL, d.padR);
    dnnl::convolution_backward_data::primitive_desc pd(desc, cpuEngine(), hint);
    auto plan = std::make_unique<BackwardDataPlan>();
    plan->primitive = dnnl::convolution_backward_data(pd);
    plan->diffDst = Operand(d.dst, pd.diff_dst_desc());
    plan->weights = Operand(d.weights, pd.weights_desc());
    plan->diffSrc = Operand(d.src, pd.diff_src_desc());
    return plan;
  });

  plan.primitive.execute(cpuStream(), {
                                          {DNNL_ARG_DIFF_DST, plan.diffDst.input(dy)},
                                          {DNNL_ARG_WEIGHTS, plan.weights.input(filter)},
                                          {DNNL_ARG_DIFF_SRC, plan.diffSrc.output(dx)},
                                      });
  plan.diffSrc.commit();
  cpuStream().wait();
}

void convBackwardFilter(const ConvGeometry &g, const float *x, const float *dy, float *dFilter) {
  BackwardFilterPlan &plan = backwardFilterPlans.get(g.key(), [&] {
    ConvDescs d(g);
    auto hint = d.forwardDesc(prop_kind::forward_training, false, {});
    dnnl::convolution_backward_weights::desc desc(algorithm::convolution_direct, d.src, d.weightsAny,
                                                  d.dst, d.strides, d.dilates, d.padL, d.padR);
    dnnl::convolution_backward_weights::primitive_desc pd(desc, cpuEngine(), hint);
    auto plan = std::make_unique<BackwardFilterPlan>();
    plan->primitive = dnnl::convolution_backward_weights(pd);
    plan->src = Operand(d.src, pd.src_desc());
    plan->diffDst = Operand(d.dst, pd.diff_dst_desc());
    plan->diffWeights = Operand(d.weights, pd.diff_weights_desc());
    return plan;
  });

  plan.primitive.execute(cpuStream(), {
                                          {DNNL_ARG_SRC, plan.src.input(x)},
                                          {DNNL_ARG_DIFF_DST, plan.diffDst.input(dy)},
                                          {DNNL_ARG_DIFF_WEIGHTS, plan.diffWeights.output(dFilter)},
                                      });
  plan.diffWeights.commit();
  cpuStream().wait();
}

void clearConvCaches() {
  forwardPlans.clear();
  backwardDataPlans.clear();
  backwardFilterPlans.clear();
}

std::size_t convCacheSize() {
  return forwardPlans.size() + backwardDataPlans.size() + backwardFilterPlans.size();
}

}  // namespace tfjs_native
