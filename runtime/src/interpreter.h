// Runs one model: tensors, the arena and the prepared operators.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "error.h"
#include "model.h"
#include "op.h"
#include "tensor.h"
#include "thread_pool.h"

namespace qrt {

struct InterpreterOptions {
  void* arena = nullptr;  // caller-owned, or null to allocate once
  size_t arena_bytes = 0;
  size_t max_arena_bytes = 0;  // 0 = no limit
  // Threads for invoke, the caller's included: 0 = the default (1), < 0 is
  // an error; see ThreadPool::resolve for the caps.
  int32_t threads = 1;
  // The C API's rule. Tests turn it off to run more threads than the
  // machine has cores (interleavings a 2-core machine would not show).
  bool cap_threads_to_cores = true;
  bool profile_ops = false;
};

struct MemoryInfo {
  size_t arena_bytes = 0;       // planned activations and scratch
  size_t persistent_bytes = 0;  // what prepare derived
  size_t lower_bound_bytes = 0;
  size_t total_bytes = 0;       // arena + persistent, as laid out
  bool offline_plan = false;    // the model's own plan was used
};

class Interpreter final : private SubgraphRunner {
 public:
  Interpreter() = default;
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;
  ~Interpreter();

  // Checks and prepares every operator of the main graph, plans and sets up
  // the arena. The model must outlive the interpreter. With plan_only the
  // work stops after planning (memory() is then valid, nothing runs).
  qrt_status prepare(const Model& model, const InterpreterOptions& options, bool plan_only,
                     Error* error);

  // Runs the graph: no allocation, no exception, no system call.
  qrt_status invoke(Error* error);

  // An interpreter serves one caller at a time (qrt.h). The C API holds this
  // flag around invoke and set_input, so a call overlapping another one on
  // the same interpreter (another thread's, or a re-entry from a signal
  // handler) is refused with a message instead of racing on the arena. One
  // uncontended atomic exchange per call: cheap enough to keep in release
  // builds, where such races actually happen.
  bool try_acquire() { return !busy_.exchange(true, std::memory_order_acquire); }
  void release() { busy_.store(false, std::memory_order_release); }

  int32_t input_count() const { return static_cast<int32_t>(inputs_.size()); }
  int32_t output_count() const { return static_cast<int32_t>(outputs_.size()); }
  Tensor& input(int32_t i) { return tensors_[inputs_[i]]; }
  Tensor& output(int32_t i) { return tensors_[outputs_[i]]; }
  const Tensor& input(int32_t i) const { return tensors_[inputs_[i]]; }
  const Tensor& output(int32_t i) const { return tensors_[outputs_[i]]; }
  int32_t find_input(const char* name) const;
  int32_t find_output(const char* name) const;

  const MemoryInfo& memory() const { return memory_; }
  int32_t threads() const { return threads_; }  // as resolved at prepare
  // Every op, those of IF bodies included (after the main graph's).
  int32_t op_count() const { return static_cast<int32_t>(ops_.size()); }
  const OpContext& op(int32_t i) const { return ops_[i]; }
  const char* op_kind(int32_t i) const;
  uint64_t op_nanoseconds(int32_t i) const { return op_ns_.empty() ? 0 : op_ns_[i]; }

 private:
  // One subgraph's slice of the tensor and op tables; entry and exit are
  // its places on the planner's timeline (copy in, copy out).
  struct Body {
    size_t first_op = 0, end_op = 0;
    std::vector<int32_t> inputs, outputs;
    int entry = 0, exit = 0;
  };

  qrt_status plan(const fb::SubGraph& graph, Error* error);
  void schedule(size_t body, int* time);
  qrt_status run(const Body& body, Error* error);
  Tensor& body_input(int32_t subgraph, int32_t i) override;
  Tensor& body_output(int32_t subgraph, int32_t i) override;
  qrt_status run_body(int32_t subgraph, Error* error) override;

  const Model* model_ = nullptr;
  std::vector<Tensor> tensors_;
  std::vector<OpContext> ops_;
  std::vector<const OpInfo*> infos_;
  std::vector<Tensor*> op_tensors_;  // backing store of every op's input/output lists
  std::vector<int32_t> inputs_, outputs_;  // the main graph's
  std::vector<Body> bodies_;               // [0] is the main graph
  std::vector<int32_t> body_of_;           // model subgraph -> bodies_ index, -1 if unused
  std::vector<int> op_begin_, op_end_;     // per op, on the planning timeline
  std::vector<size_t> offsets_;      // per tensor; SIZE_MAX for constants
  std::vector<size_t> scratch_offsets_;  // per op
  uint8_t* arena_ = nullptr;
  uint8_t* owned_arena_ = nullptr;
  MemoryInfo memory_;
  bool profile_ops_ = false;
  std::vector<uint64_t> op_ns_;
  int32_t threads_ = 1;
  ThreadPool pool_;  // workers only when threads_ > 1
  std::atomic<bool> busy_{false};
};

// The Interpreter behind a C API handle: lets tests hold its busy flag and
// check that overlapping calls are refused, without a race in the test.
Interpreter* interpreter_of(qrt_interpreter* interpreter);

}  // namespace qrt
