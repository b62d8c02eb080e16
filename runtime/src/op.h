// The contract between the interpreter and an operator implementation.
//
// Each op kind has a prepare and an eval function. prepare runs twice at
// interpreter creation: first a sizing pass (persistent.sizing() is true, the
// pointers it hands out are null) to learn how much persistent memory and
// scratch the op needs, then a fill pass with real memory, where it
// precomputes everything eval needs into ctx.data. eval runs on every invoke
// and must not allocate, throw or make system calls.
#pragma once

#include <cstddef>
#include <cstdint>

#include "error.h"
#include "kernels/cpu.h"
#include "kernels/params.h"
#include "tensor.h"

namespace qrt {

class ThreadPool;

// Hands out aligned pieces of the persistent region, or only counts them.
class Carver {
 public:
  explicit Carver(uint8_t* base = nullptr) : base_(base) {}
  bool sizing() const { return base_ == nullptr; }
  size_t used() const { return used_; }

  // Saturates at SIZE_MAX instead of wrapping (huge shapes on 32-bit
  // targets); the interpreter refuses such a size before the fill pass.
  template <class T>
  T* take(size_t count) {
    if (used_ > SIZE_MAX - kAlign || count > (SIZE_MAX - kAlign - used_) / sizeof(T)) {
      used_ = SIZE_MAX;
      return nullptr;
    }
    used_ = (used_ + kAlign - 1) & ~(kAlign - 1);
    T* p = base_ ? reinterpret_cast<T*>(base_ + used_) : nullptr;
    used_ += count * sizeof(T);
    return p;
  }

 private:
  static constexpr size_t kAlign = 64;
  uint8_t* base_;
  size_t used_ = 0;
};

// What a control-flow op sees of the interpreter: the bodies it may run,
// named by their subgraph index in the model.
class SubgraphRunner {
 public:
  virtual Tensor& body_input(int32_t subgraph, int32_t i) = 0;
  virtual Tensor& body_output(int32_t subgraph, int32_t i) = 0;
  // Runs every op of the body; no allocation (its memory is planned).
  virtual qrt_status run_body(int32_t subgraph, Error* error) = 0;

 protected:
  ~SubgraphRunner() = default;
};

struct OpContext {
  const fb::Operator* op = nullptr;
  int32_t index = 0;  // position in execution order
  const char* name = "";
  kernels::Profile profile = kernels::Profile::qnnpack;
  // Chosen once per interpreter (QRT_ISA or the CPU's best): every op of one
  // interpreter runs the same tier, and a fast kernel matches the reference
  // bit for bit, so the choice changes speed, never output bytes.
  kernels::Isa isa = kernels::Isa::ref;
  const char* kernel = "ref";  // what eval calls, set by prepare (profiles, tests)

  Tensor** inputs = nullptr;  // absent optional inputs are null
  int32_t num_inputs = 0;
  Tensor** outputs = nullptr;
  int32_t num_outputs = 0;

  Carver* persistent = nullptr;  // during prepare only
  void* data = nullptr;          // the op's prepared state
  size_t scratch_bytes = 0;      // requested by prepare
  // Packed weight bytes found by the sizing pass, carved again by the fill
  // pass without recomputing them: the AVX2 tier plans a GEMM's layout from
  // its weights to size it, as long as packing takes.
  size_t packed_bytes = 0;
  uint8_t* scratch = nullptr;    // assigned before the first eval
  // The interpreter's threads, the caller's included; set before the sizing
  // pass, so prepare can ask for scratch per thread (request_scratch). pool
  // is null with one thread: ops then call their kernel once, with nothing
  // in between (thread_pool.h: parallel_for), and is set for eval only.
  int32_t threads = 1;
  ThreadPool* pool = nullptr;
  uint64_t macs = 0;             // multiply-accumulates per eval, for profiles
  SubgraphRunner* bodies = nullptr;  // set for every op before prepare

  Error* error = nullptr;

  Tensor* input(int i) const { return i < num_inputs ? inputs[i] : nullptr; }
  Tensor* output(int i) const { return outputs[i]; }
};

// Asks for one scratch slice of per_call bytes for each thread (a kernel's
// scratch is per concurrent run call) and returns the stride between slices:
// slot s of parallel_for uses ctx.scratch + s * stride. The stride is a
// multiple of 64 bytes so no two threads write one cache line. A request
// the address space cannot hold (a 32-bit size_t and huge shapes) saturates
// to SIZE_MAX, which the memory planner refuses with an error.
inline size_t request_scratch(OpContext& ctx, size_t per_call) {
  constexpr size_t kMax = ~size_t{0};
  const size_t threads = ctx.threads > 0 ? static_cast<size_t>(ctx.threads) : 1;
  if (per_call > kMax - 63 || ((per_call + 63) & ~size_t{63}) > kMax / threads) {
    ctx.scratch_bytes = kMax;
    return 0;
  }
  const size_t stride = (per_call + 63) & ~size_t{63};
  ctx.scratch_bytes = stride * threads;
  return stride;
}

using PrepareFn = qrt_status (*)(OpContext& ctx);
using EvalFn = qrt_status (*)(OpContext& ctx);

struct OpInfo {
  fb::OpCode code;
  const char* name;
  int32_t min_inputs;
  int32_t max_inputs;
  int32_t min_outputs;
  int32_t max_outputs;
  fb::OpOptions options;  // the options table it expects; NONE = takes none
  PrepareFn prepare;
  EvalFn eval;
};

// The registry of supported ops; null for an opcode this runtime lacks.
const OpInfo* find_op(fb::OpCode code);

// Shared checks for prepare functions; each fails with a message naming the
// op and tensor.
qrt_status expect_dtype(OpContext& ctx, const Tensor& t, const char* role, DType dtype);
qrt_status expect_rank(OpContext& ctx, const Tensor& t, const char* role, int rank);
qrt_status expect_per_tensor_quant(OpContext& ctx, const Tensor& t, const char* role);
qrt_status expect_same_shape(OpContext& ctx, const Tensor& a, const char* role_a,
                             const Tensor& b, const char* role_b);
qrt_status expect_same_quant(OpContext& ctx, const Tensor& a, const char* role_a,
                             const Tensor& b, const char* role_b);
qrt_status op_fail(OpContext& ctx, qrt_status code, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace qrt
