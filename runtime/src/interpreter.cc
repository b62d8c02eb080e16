#include "interpreter.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "kernels/cpu.h"
#include "memory_planner.h"

namespace qrt {

namespace {

// Activations start on cache-line boundaries (wide SIMD loads, no false sharing).
constexpr size_t kArenaAlign = 64;
// Offsets written by an offline planner only need the model format's alignment.
constexpr size_t kOfflineAlign = 16;
constexpr size_t kNotPlanned = SIZE_MAX;

size_t align_up(size_t v, size_t a) { return (v + a - 1) & ~(a - 1); }

// a + align_up(b, kArenaAlign) into *sum, false when it does not fit in size_t
// (32-bit targets: packed weights or indirection buffers of a huge model).
bool add_aligned(size_t a, size_t b, size_t* sum) {
  if (b > SIZE_MAX - (kArenaAlign - 1)) return false;
  b = align_up(b, kArenaAlign);
  if (a > SIZE_MAX - b) return false;
  *sum = a + b;
  return true;
}

void init_tensor(const fb::Model& model, const fb::Tensor& src, Tensor* t) {
  t->name = src.name() ? src.name()->c_str() : "";
  t->dtype = src.dtype();
  t->rank = src.shape() ? static_cast<int32_t>(src.shape()->size()) : 0;
  t->elements = 1;
  for (int32_t i = 0; i < t->rank; ++i) {
    t->dims[i] = src.shape()->Get(static_cast<flatbuffers::uoffset_t>(i));
    t->elements *= static_cast<size_t>(t->dims[i]);
  }
  t->bytes = t->elements * dtype_size(t->dtype);
  if (src.buffer() != 0) {
    t->is_constant = true;
    // Constants are read in place; the verifier guarantees outputs never alias them.
    t->data = const_cast<uint8_t*>(model.buffers()->Get(src.buffer())->data()->data());
  }
  if (const fb::Quantization* q = src.quantization()) {
    if (q->scale() && q->scale()->size() > 0) {
      t->num_scales = static_cast<int32_t>(q->scale()->size());
      t->axis = q->axis();
      t->per_channel = q->per_channel() || t->num_scales > 1;
      t->scales = q->scale()->data();
      t->zero_points = q->zero_point()->data();
      t->scale = t->scales[0];
      t->zero_point = static_cast<int32_t>(t->zero_points[0]);
    }
  }
}

}  // namespace

Interpreter::~Interpreter() {
  // Join the (idle) workers before the memory their jobs pointed into goes.
  pool_.stop();
  std::free(owned_arena_);
}

int32_t Interpreter::find_input(const char* name) const {
  for (size_t i = 0; i < inputs_.size(); ++i)
    if (name && std::strcmp(tensors_[inputs_[i]].name, name) == 0) return static_cast<int32_t>(i);
  return -1;
}

int32_t Interpreter::find_output(const char* name) const {
  for (size_t i = 0; i < outputs_.size(); ++i)
    if (name && std::strcmp(tensors_[outputs_[i]].name, name) == 0)
      return static_cast<int32_t>(i);
  return -1;
}

const char* Interpreter::op_kind(int32_t i) const { return infos_[i]->name; }

qrt_status Interpreter::prepare(const Model& model, const InterpreterOptions& options,
                                bool plan_only, Error* error) {
  if (model_) return fail(error, QRT_INVALID_ARGUMENT, "interpreter is already prepared");
  if (!model.root) return fail(error, QRT_INVALID_ARGUMENT, "model is not loaded");
  // Once per interpreter, before any op sizes its packed weights: the tier
  // decides those sizes, so sizing and fill pass must see the same one. A
  // QRT_ISA the CPU cannot honour is an error, not a silent fallback, so a
  // benchmark or test never measures a tier other than the one it named.
  std::string isa_error;
  const kernels::Isa isa = kernels::selected_isa(&isa_error);
  if (!isa_error.empty()) return fail(error, QRT_INVALID_ARGUMENT, "%s", isa_error.c_str());
  if (options.threads < 0)
    return fail(error, QRT_INVALID_ARGUMENT,
                "threads is %d: expected 0 (the default, one thread) or a positive count",
                options.threads);
  // Known before the sizing pass: ops size their scratch per thread.
  threads_ = ThreadPool::resolve(options.threads, options.cap_threads_to_cores);
  model_ = &model;
  profile_ops_ = options.profile_ops;
  const fb::Model& root = *model.root;
  const auto* graphs = root.subgraphs();

  // The main graph, then every body an IF reaches from it (the verifier
  // made the calls a forest, so each is listed once). All share one tensor
  // and one op table; a body's are contiguous.
  body_of_.assign(graphs->size(), -1);
  std::vector<const fb::SubGraph*> order{graphs->Get(0)};
  body_of_[0] = 0;
  size_t num_tensors = 0, num_ops = 0, io_count = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const fb::SubGraph& g = *order[k];
    num_tensors += g.tensors() ? g.tensors()->size() : 0;
    if (!g.operators()) continue;
    for (const fb::Operator* op : *g.operators()) {
      ++num_ops;
      io_count += (op->inputs() ? op->inputs()->size() : 0) + op->outputs()->size();
      if (op->opcode() != fb::OpCode::IF) continue;
      const fb::IfOptions* o = op->options_as_IfOptions();
      for (int32_t b : {o->then_subgraph(), o->else_subgraph()}) {
        body_of_[static_cast<size_t>(b)] = static_cast<int32_t>(order.size());
        order.push_back(graphs->Get(static_cast<flatbuffers::uoffset_t>(b)));
      }
    }
  }
  tensors_.assign(num_tensors, Tensor{});
  op_tensors_.assign(io_count, nullptr);
  ops_.assign(num_ops, OpContext{});
  infos_.assign(num_ops, nullptr);
  bodies_.assign(order.size(), Body{});
  const kernels::Profile profile = root.profile() == fb::Profile::Fbgemm
                                       ? kernels::Profile::fbgemm
                                       : kernels::Profile::qnnpack;
  size_t next = 0, tensor_base = 0, oi = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const fb::SubGraph& graph = *order[k];
    Body& body = bodies_[k];
    const auto* fb_tensors = graph.tensors();
    const size_t n = fb_tensors ? fb_tensors->size() : 0;
    for (size_t t = 0; t < n; ++t)
      init_tensor(root, *fb_tensors->Get(static_cast<flatbuffers::uoffset_t>(t)),
                  &tensors_[tensor_base + t]);
    auto global = [&](int32_t t) { return static_cast<int32_t>(tensor_base) + t; };
    if (graph.inputs())
      for (int32_t t : *graph.inputs()) body.inputs.push_back(global(t));
    if (graph.outputs())
      for (int32_t t : *graph.outputs()) body.outputs.push_back(global(t));
    body.first_op = oi;
    const auto* fb_ops = graph.operators();
    const size_t ops_here = fb_ops ? fb_ops->size() : 0;
    for (size_t j = 0; j < ops_here; ++j, ++oi) {
      const fb::Operator* op = fb_ops->Get(static_cast<flatbuffers::uoffset_t>(j));
      OpContext& ctx = ops_[oi];
      infos_[oi] = find_op(op->opcode());  // non-null: the model was verified
      ctx.op = op;
      ctx.index = static_cast<int32_t>(oi);
      ctx.name = op->name() ? op->name()->c_str() : "";
      ctx.profile = profile;
      ctx.isa = isa;
      ctx.threads = threads_;
      ctx.error = error;
      ctx.bodies = this;
      ctx.inputs = op_tensors_.data() + next;
      ctx.num_inputs = op->inputs() ? static_cast<int32_t>(op->inputs()->size()) : 0;
      for (int32_t q = 0; q < ctx.num_inputs; ++q) {
        int32_t t = op->inputs()->Get(static_cast<flatbuffers::uoffset_t>(q));
        op_tensors_[next++] = t >= 0 ? &tensors_[static_cast<size_t>(global(t))] : nullptr;
      }
      ctx.outputs = op_tensors_.data() + next;
      ctx.num_outputs = static_cast<int32_t>(op->outputs()->size());
      for (int32_t q = 0; q < ctx.num_outputs; ++q)
        op_tensors_[next++] = &tensors_[static_cast<size_t>(
            global(op->outputs()->Get(static_cast<flatbuffers::uoffset_t>(q))))];
    }
    body.end_op = oi;
    tensor_base += n;
  }
  inputs_ = bodies_[0].inputs;
  outputs_ = bodies_[0].outputs;

  // Sizing pass: validate every op and learn its persistent and scratch needs.
  std::vector<size_t> persistent_offsets(num_ops, 0);
  size_t persistent = 0;
  for (size_t i = 0; i < num_ops; ++i) {
    Carver sizing;
    ops_[i].persistent = &sizing;
    qrt_status s = infos_[i]->prepare(ops_[i]);
    ops_[i].persistent = nullptr;
    if (s != QRT_OK) return s;
    persistent_offsets[i] = persistent;
    if (!add_aligned(persistent, sizing.used(), &persistent))
      return fail(error, QRT_OUT_OF_MEMORY,
                  "operator %zu '%s' (%s): persistent data (packed weights, indirection) "
                  "overflows the address space",
                  i, ops_[i].name, infos_[i]->name);
  }

  qrt_status s = plan(*graphs->Get(0), error);
  if (s != QRT_OK) return s;
  memory_.persistent_bytes = persistent;
  if (!add_aligned(persistent, memory_.arena_bytes, &memory_.total_bytes))
    return fail(error, QRT_OUT_OF_MEMORY,
                "model needs %zu activation and %zu persistent bytes, together more than the "
                "address space",
                memory_.arena_bytes, persistent);
  // Checked before anything is allocated: a limit is how a caller keeps a
  // hostile or mistaken model from taking the device's memory.
  if (options.max_arena_bytes && memory_.total_bytes > options.max_arena_bytes)
    return fail(error, QRT_OUT_OF_MEMORY,
                "model needs %zu arena bytes (%zu for activations and scratch, %zu persistent), "
                "above the limit of %zu bytes (max_arena_bytes)",
                memory_.total_bytes, memory_.arena_bytes, persistent, options.max_arena_bytes);
  if (plan_only) return QRT_OK;

  if (options.arena) {
    if (reinterpret_cast<uintptr_t>(options.arena) % 16 != 0)
      return fail(error, QRT_INVALID_ARGUMENT, "arena at %p is not 16-byte aligned",
                  options.arena);
    if (options.arena_bytes < memory_.total_bytes)
      return fail(error, QRT_ARENA_TOO_SMALL,
                  "arena of %zu bytes is too small: this model needs %zu bytes",
                  options.arena_bytes, memory_.total_bytes);
    arena_ = static_cast<uint8_t*>(options.arena);
  } else {
    const size_t bytes = align_up(memory_.total_bytes ? memory_.total_bytes : 1, kArenaAlign);
    owned_arena_ = static_cast<uint8_t*>(std::aligned_alloc(kArenaAlign, bytes));
    if (!owned_arena_)
      return fail(error, QRT_OUT_OF_MEMORY, "cannot allocate an arena of %zu bytes", bytes);
    arena_ = owned_arena_;
  }
  // A deterministic start: inputs a caller never sets read as zeros.
  std::memset(arena_, 0, memory_.total_bytes);

  for (size_t i = 0; i < num_tensors; ++i)
    if (offsets_[i] != kNotPlanned) tensors_[i].data = arena_ + offsets_[i];
  uint8_t* persistent_base = arena_ + align_up(memory_.arena_bytes, kArenaAlign);
  for (size_t i = 0; i < num_ops; ++i) {
    OpContext& ctx = ops_[i];
    ctx.scratch = ctx.scratch_bytes ? arena_ + scratch_offsets_[i] : nullptr;
    Carver carver(persistent_base + persistent_offsets[i]);
    ctx.persistent = &carver;
    s = infos_[i]->prepare(ctx);
    ctx.persistent = nullptr;
    if (s != QRT_OK) return s;
  }
  // Last: nothing after it can fail, and a plan-only or failed prepare starts no thread.
  if (threads_ > 1) {
    s = pool_.start(threads_, error);
    if (s != QRT_OK) return s;
    for (OpContext& ctx : ops_) ctx.pool = &pool_;
  }
  if (profile_ops_) op_ns_.assign(num_ops, 0);
  return QRT_OK;
}

void Interpreter::schedule(size_t body, int* t) {
  Body& b = bodies_[body];
  b.entry = (*t)++;
  for (size_t i = b.first_op; i < b.end_op; ++i) {
    op_begin_[i] = (*t)++;
    const fb::Operator* op = ops_[i].op;
    if (op->opcode() == fb::OpCode::IF) {
      const fb::IfOptions* o = op->options_as_IfOptions();
      schedule(static_cast<size_t>(body_of_[static_cast<size_t>(o->then_subgraph())]), t);
      schedule(static_cast<size_t>(body_of_[static_cast<size_t>(o->else_subgraph())]), t);
      op_end_[i] = (*t)++;
    } else {
      op_end_[i] = op_begin_[i];
    }
  }
  b.exit = (*t)++;
}

// Lifetimes are on a timeline where each IF spans the ops of both its
// bodies, one body after the other: the two bodies never run together, so
// their tensors may share bytes, while the IF's own inputs and outputs stay
// live across both.
qrt_status Interpreter::plan(const fb::SubGraph& graph, Error* error) {
  const size_t num_tensors = tensors_.size();
  const int num_ops = static_cast<int>(ops_.size());
  op_begin_.assign(ops_.size(), 0);
  op_end_.assign(ops_.size(), 0);
  int time = 0;
  schedule(0, &time);
  const int last_time = time - 1;
  std::vector<int> first(num_tensors, -1), last(num_tensors, -1);
  auto touch = [&](int32_t k, int from, int to) {
    if (first[k] < 0 || from < first[k]) first[k] = from;
    if (to > last[k]) last[k] = to;
  };
  auto index = [&](const Tensor* t) { return static_cast<int32_t>(t - tensors_.data()); };
  for (int i = 0; i < num_ops; ++i) {
    const OpContext& ctx = ops_[i];
    for (int32_t k = 0; k < ctx.num_outputs; ++k)
      touch(index(ctx.outputs[k]), op_begin_[i], op_begin_[i]);
    for (int32_t k = 0; k < ctx.num_inputs; ++k)
      if (ctx.inputs[k]) touch(index(ctx.inputs[k]), op_begin_[i], op_end_[i]);
  }
  for (size_t k = 1; k < bodies_.size(); ++k) {
    for (int32_t t : bodies_[k].inputs) touch(t, bodies_[k].entry, bodies_[k].entry);
    for (int32_t t : bodies_[k].outputs) touch(t, bodies_[k].exit, bodies_[k].exit);
  }
  // Inputs are written before invoke, outputs read after it.
  for (int32_t t : inputs_) {
    first[t] = 0;
    last[t] = last_time;
  }
  for (int32_t t : outputs_) {
    if (first[t] < 0) first[t] = 0;
    last[t] = last_time;
  }

  // An offline plan covers one subgraph; with bodies the runtime plans all.
  const fb::MemoryPlan* offline = bodies_.size() == 1 ? graph.memory_plan() : nullptr;
  const auto* offline_offsets = offline ? offline->offsets() : nullptr;

  std::vector<PlanBuffer> buffers;
  std::vector<size_t> tensor_buffer(num_tensors, kNotPlanned);
  std::vector<PlanBuffer> fixed;
  std::vector<size_t> fixed_offsets;
  for (size_t i = 0; i < num_tensors; ++i) {
    if (tensors_[i].is_constant || first[i] < 0) continue;
    PlanBuffer b{tensors_[i].bytes, first[i], last[i], -1};
    if (offline_offsets) {
      int64_t off = offline_offsets->Get(static_cast<flatbuffers::uoffset_t>(i));
      if (off >= 0) {
        b.offline_offset = off;
        fixed.push_back(b);
        fixed_offsets.push_back(static_cast<size_t>(off));
      }
    }
    tensor_buffer[i] = buffers.size();
    buffers.push_back(b);
  }
  std::vector<size_t> op_buffer(ops_.size(), kNotPlanned);
  for (int i = 0; i < num_ops; ++i) {
    if (ops_[i].scratch_bytes == 0) continue;
    op_buffer[i] = buffers.size();
    buffers.push_back(PlanBuffer{ops_[i].scratch_bytes, op_begin_[i], op_end_[i], -1});
  }

  // The model's own plan is a hint: used when it is consistent, else replanned.
  memory_.offline_plan = !fixed.empty() && check_memory_plan(fixed, fixed_offsets, kOfflineAlign, nullptr);
  if (!memory_.offline_plan)
    for (PlanBuffer& b : buffers) b.offline_offset = -1;
  MemoryPlan planned = plan_memory(buffers, kArenaAlign);
  if (planned.offsets.size() != buffers.size())
    return fail(error, QRT_OUT_OF_MEMORY,
                "the activations and scratch of this model (%zu buffers) add up to more than "
                "the address space",
                buffers.size());
  memory_.arena_bytes = planned.arena_bytes;
  memory_.lower_bound_bytes = memory_lower_bound(buffers, kArenaAlign);

  offsets_.assign(num_tensors, kNotPlanned);
  for (size_t i = 0; i < num_tensors; ++i)
    if (tensor_buffer[i] != kNotPlanned) offsets_[i] = planned.offsets[tensor_buffer[i]];
  scratch_offsets_.assign(ops_.size(), kNotPlanned);
  for (size_t i = 0; i < ops_.size(); ++i)
    if (op_buffer[i] != kNotPlanned) scratch_offsets_[i] = planned.offsets[op_buffer[i]];
  return QRT_OK;
}

qrt_status Interpreter::invoke(Error* error) {
  if (!arena_) return fail(error, QRT_INVALID_ARGUMENT, "interpreter is not prepared");
  return run(bodies_[0], error);
}

qrt_status Interpreter::run(const Body& body, Error* error) {
  for (size_t i = body.first_op; i < body.end_op; ++i) {
    OpContext& ctx = ops_[i];
    ctx.error = error;
    if (profile_ops_) {
      auto t0 = std::chrono::steady_clock::now();
      qrt_status s = infos_[i]->eval(ctx);
      auto t1 = std::chrono::steady_clock::now();
      op_ns_[i] = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
      if (s != QRT_OK) return s;
    } else {
      qrt_status s = infos_[i]->eval(ctx);
      if (s != QRT_OK) return s;
    }
  }
  return QRT_OK;
}

// The verifier and prepare guarantee `subgraph` is a body reached from the
// main graph; IF asks only for those.
Tensor& Interpreter::body_input(int32_t subgraph, int32_t i) {
  return tensors_[static_cast<size_t>(bodies_[static_cast<size_t>(body_of_[static_cast<size_t>(subgraph)])].inputs[static_cast<size_t>(i)])];
}

Tensor& Interpreter::body_output(int32_t subgraph, int32_t i) {
  return tensors_[static_cast<size_t>(bodies_[static_cast<size_t>(body_of_[static_cast<size_t>(subgraph)])].outputs[static_cast<size_t>(i)])];
}

qrt_status Interpreter::run_body(int32_t subgraph, Error* error) {
  return run(bodies_[static_cast<size_t>(body_of_[static_cast<size_t>(subgraph)])], error);
}

}  // namespace qrt
