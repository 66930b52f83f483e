#include "engine.h"

namespace tfjs_native {

dnnl::engine &cpuEngine() {
  thread_local dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream &cpuStream() {
  thread_local dnnl::stream stream(cpuEngine());
  return stream;
}

Operand::Operand(const dnnl::memory::desc &user, const dnnl::memory::desc &inner)
    : userMem_(user, cpuEngine(), DNNL_MEMORY_NONE), reorders_(user != inner) {
  if (!reorders_) return;
  // Reorders are built on first use: an operand is either an input or an output, never both.
  innerMem_ = dnnl::memory(inner, cpuEngine());
}

dnnl::memory Operand::input(const void *data) {
  userMem_.set_data_handle(const_cast<void *>(data));
  if (!reorders_) return userMem_;
  if (!toInner_) toInner_ = dnnl::reorder(userMem_, innerMem_);
  toInner_.execute(cpuStream(), userMem_, innerMem_);
  return innerMem_;
}

dnnl::memory Operand::output(void *data) {
  userMem_.set_data_handle(data);
  isOutput_ = true;
  return reorders_ ? innerMem_ : userMem_;
}

void Operand::commit() {
  if (!reorders_ || !isOutput_) return;
  if (!toUser_) toUser_ = dnnl::reorder(innerMem_, userMem_);
  toUser_.execute(cpuStream(), innerMem_, userMem_);
}

}  // namespace tfjs_native
