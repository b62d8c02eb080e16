// libFuzzer harness: arbitrary bytes as a .qrt model through the public C
// API (load, verify, prepare with a bounded arena, invoke on one thread).
//
// Byte mutations rarely get past the flatbuffers verifier with a model that
// still means something, so half of the mutations unpack a valid model
// (flatbuffers object API), change one field (a dim, an index, an opcode, an
// option, a quantization parameter, a vector's length) and re-serialize it:
// that is what reaches the semantic checks, the ops' prepare and the kernels.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "fuzz/runtime_entries.h"
#include "qrt/schema/qrt_generated.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

using Rng = std::minstd_rand;

size_t below(Rng& r, size_t n) { return n ? r() % n : 0; }

// Values that sit on the checks' boundaries, or far past them.
int32_t interesting_int(Rng& r, int32_t old) {
  static constexpr int32_t kValues[] = {0, 1, 2, 3, 4, 7, 8, 16, 255, 256, 65535, 65536,
                                        1 << 24, std::numeric_limits<int32_t>::max(),
                                        std::numeric_limits<int32_t>::min(), -1, -2};
  const uint32_t u = static_cast<uint32_t>(old);  // wraps instead of overflowing
  switch (r() % 4) {
    case 0: return static_cast<int32_t>(u + 1);
    case 1: return static_cast<int32_t>(u - 1);
    case 2: return static_cast<int32_t>(u * 2);
    default: return kValues[below(r, std::size(kValues))];
  }
}

float interesting_float(Rng& r, float old) {
  static constexpr float kValues[] = {0.f, -0.f, 1.f, -1.f, 6.f, 1e-38f, 1e-45f, 1e-20f, 1e20f,
                                      3.4e38f, std::numeric_limits<float>::infinity(),
                                      -std::numeric_limits<float>::infinity(),
                                      std::numeric_limits<float>::quiet_NaN()};
  if (r() % 3 == 0) return old * (r() % 2 ? 2.f : 0.5f);
  return kValues[below(r, std::size(kValues))];
}

template <class T>
void mutate_vector(Rng& r, std::vector<T>& v, T (*value)(Rng&, T)) {
  switch (r() % 4) {
    case 0: v.push_back(v.empty() ? T{} : v[below(r, v.size())]); break;
    case 1: if (!v.empty()) v.erase(v.begin() + static_cast<long>(below(r, v.size()))); break;
    default: if (!v.empty()) { T& x = v[below(r, v.size())]; x = value(r, x); } break;
  }
}

int32_t any_int(Rng& r, int32_t old) { return interesting_int(r, old); }
int64_t any_long(Rng& r, int64_t old) {
  return r() % 4 == 0 ? int64_t{1} << (r() % 63) : interesting_int(r, static_cast<int32_t>(old));
}
float any_float(Rng& r, float old) { return interesting_float(r, old); }

// One field of the options table, whatever its type.
void mutate_options(Rng& r, qrt::fb::OpOptionsUnion& u) {
  using namespace qrt::fb;
  auto pick = [&r](std::initializer_list<int32_t*> ints, std::initializer_list<float*> floats) {
    size_t k = below(r, ints.size() + floats.size());
    if (k < ints.size()) {
      int32_t* p = ints.begin()[k];
      *p = interesting_int(r, *p);
    } else {
      float* p = floats.begin()[k - ints.size()];
      *p = interesting_float(r, *p);
    }
  };
  if (r() % 16 == 0) {  // no table at all
    u.Reset();
    return;
  }
  switch (u.type) {
    case OpOptions::Conv2DOptions: {
      auto* o = u.AsConv2DOptions();
      pick({&o->stride_h, &o->stride_w, &o->dilation_h, &o->dilation_w, &o->pad_top, &o->pad_left,
            &o->pad_bottom, &o->pad_right, &o->groups},
           {&o->act_min, &o->act_max});
      break;
    }
    case OpOptions::TransposeConv2DOptions: {
      auto* o = u.AsTransposeConv2DOptions();
      pick({&o->stride_h, &o->stride_w, &o->dilation_h, &o->dilation_w, &o->pad_top, &o->pad_left,
            &o->pad_bottom, &o->pad_right, &o->groups},
           {&o->act_min, &o->act_max});
      break;
    }
    case OpOptions::Pool2DOptions: {
      auto* o = u.AsPool2DOptions();
      if (r() % 8 == 0) o->ceil_mode = !o->ceil_mode;
      else if (r() % 8 == 0) o->count_include_pad = !o->count_include_pad;
      else
        pick({&o->kernel_h, &o->kernel_w, &o->stride_h, &o->stride_w, &o->pad_top, &o->pad_left,
              &o->pad_bottom, &o->pad_right, &o->divisor_override, &o->dilation_h,
              &o->dilation_w},
             {});
      break;
    }
    case OpOptions::FullyConnectedOptions: {
      auto* o = u.AsFullyConnectedOptions();
      pick({}, {&o->act_min, &o->act_max});
      break;
    }
    case OpOptions::AddOptions: {
      auto* o = u.AsAddOptions();
      pick({}, {&o->act_min, &o->act_max});
      break;
    }
    case OpOptions::BinaryOptions: {
      auto* o = u.AsBinaryOptions();
      pick({}, {&o->act_min, &o->act_max});
      break;
    }
    case OpOptions::ClampOptions: {
      auto* o = u.AsClampOptions();
      pick({}, {&o->min, &o->max});
      break;
    }
    case OpOptions::ConcatOptions: pick({&u.AsConcatOptions()->axis}, {}); break;
    case OpOptions::GatherOptions: pick({&u.AsGatherOptions()->axis}, {}); break;
    case OpOptions::SplitOptions: pick({&u.AsSplitOptions()->axis}, {}); break;
    case OpOptions::SoftmaxOptions: pick({&u.AsSoftmaxOptions()->axis}, {}); break;
    case OpOptions::HardSigmoidOptions: {
      auto* o = u.AsHardSigmoidOptions();
      pick({}, {&o->alpha, &o->beta});
      break;
    }
    case OpOptions::LeakyReluOptions: pick({}, {&u.AsLeakyReluOptions()->alpha}); break;
    case OpOptions::GeluOptions:
      u.AsGeluOptions()->approximate_tanh = !u.AsGeluOptions()->approximate_tanh;
      break;
    case OpOptions::LayerNormOptions: {
      auto* o = u.AsLayerNormOptions();
      pick({&o->axis}, {&o->epsilon});
      break;
    }
    case OpOptions::ReduceOptions: {
      auto* o = u.AsReduceOptions();
      if (r() % 4 == 0) o->keep_dims = !o->keep_dims;
      else mutate_vector(r, o->axes, any_int);
      break;
    }
    case OpOptions::TransposeOptions: mutate_vector(r, u.AsTransposeOptions()->perm, any_int); break;
    case OpOptions::PadOptions: {
      auto* o = u.AsPadOptions();
      if (r() % 4 == 0) o->mode = static_cast<PadMode>(r() % 4);
      else if (r() % 4 == 0) o->value = interesting_float(r, o->value);
      else mutate_vector(r, o->pads, any_int);
      break;
    }
    case OpOptions::SliceOptions: {
      auto* o = u.AsSliceOptions();
      mutate_vector(r, r() % 2 ? o->begin : o->step, any_int);
      break;
    }
    case OpOptions::ResizeOptions: {
      auto* o = u.AsResizeOptions();
      switch (r() % 5) {
        case 0: o->mode = static_cast<ResizeMode>(r() % 3); break;
        case 1: o->coordinate_mode = static_cast<CoordinateMode>(r() % 6); break;
        case 2: o->nearest_mode = static_cast<NearestMode>(r() % 5); break;
        default: pick({}, {&o->scale_h, &o->scale_w}); break;
      }
      break;
    }
    default: break;
  }
}

// Changes one field of a valid model; false if it had nothing to change.
bool mutate_model(Rng& r, qrt::fb::ModelT& m) {
  using namespace qrt::fb;
  if (m.subgraphs.empty()) return false;
  SubGraphT& g = *m.subgraphs[below(r, m.subgraphs.size())];
  auto index = [&](int32_t old) {
    // Mostly in range (a plausible rewiring), sometimes far off.
    if (r() % 4 == 0) return interesting_int(r, old);
    return static_cast<int32_t>(below(r, g.tensors.size() + 1)) - 1;
  };
  TensorT* t = g.tensors.empty() ? nullptr : g.tensors[below(r, g.tensors.size())].get();
  OperatorT* op = g.operators.empty() ? nullptr : g.operators[below(r, g.operators.size())].get();
  switch (r() % 14) {
    case 0:
      if (!t) return false;
      mutate_vector(r, t->shape, any_int);
      return true;
    case 1:
      if (!t) return false;
      t->dtype = static_cast<DType>(r() % 6);
      return true;
    case 2:
      if (!t) return false;
      t->buffer = r() % 4 == 0 ? static_cast<uint32_t>(interesting_int(r, 0))
                               : static_cast<uint32_t>(below(r, m.buffers.size() + 1));
      return true;
    case 3: {
      if (!t) return false;
      if (!t->quantization) t->quantization = std::make_unique<QuantizationT>();
      QuantizationT& q = *t->quantization;
      switch (r() % 5) {
        case 0: mutate_vector(r, q.scale, any_float); break;
        case 1: mutate_vector(r, q.zero_point, any_long); break;
        case 2: q.axis = interesting_int(r, q.axis); break;
        case 3: q.per_channel = !q.per_channel; break;
        default: t->quantization.reset(); break;
      }
      return true;
    }
    case 4:
      if (!op) return false;
      op->opcode = static_cast<OpCode>(r() % 48);
      return true;
    case 5:
      if (!op) return false;
      if (r() % 4 == 0) mutate_vector(r, r() % 2 ? op->inputs : op->outputs, any_int);
      else if (!op->inputs.empty()) op->inputs[below(r, op->inputs.size())] = index(0);
      return true;
    case 6:
      if (!op) return false;
      if (!op->outputs.empty()) op->outputs[below(r, op->outputs.size())] = index(0);
      return true;
    case 7:
      if (!op) return false;
      mutate_options(r, op->options);
      return true;
    case 8: {
      if (m.buffers.size() < 2) return false;
      BufferT& b = *m.buffers[1 + below(r, m.buffers.size() - 1)];
      if (r() % 2 && !b.data.empty()) b.data[below(r, b.data.size())] = static_cast<uint8_t>(r());
      else b.data.resize(r() % 2 ? b.data.size() + 1 + r() % 64 : below(r, b.data.size()));
      return true;
    }
    case 9:
      mutate_vector(r, r() % 2 ? g.inputs : g.outputs, any_int);
      return true;
    case 10:
      if (!g.memory_plan) {
        g.memory_plan = std::make_unique<MemoryPlanT>();
        g.memory_plan->offsets.assign(g.tensors.size(), -1);
      }
      mutate_vector(r, g.memory_plan->offsets, any_long);
      return true;
    case 11:
      if (r() % 2) m.format_version = static_cast<uint32_t>(interesting_int(r, 1));
      else m.profile = static_cast<Profile>(r() % 3);
      return true;
    case 12: {  // reorder, duplicate or drop an operator
      if (g.operators.size() < 2) return false;
      size_t a = below(r, g.operators.size()), b = below(r, g.operators.size());
      if (r() % 2) std::swap(g.operators[a], g.operators[b]);
      else g.operators.erase(g.operators.begin() + static_cast<long>(a));
      return true;
    }
    default: {  // a tensor's rank
      if (!t) return false;
      if (t->shape.empty() || r() % 2) t->shape.push_back(1 + static_cast<int32_t>(r() % 4));
      else t->shape.erase(t->shape.begin());
      return true;
    }
  }
}

size_t mutate_structure(uint8_t* data, size_t size, size_t max_size, unsigned seed) {
  // Only models the loader accepts: UnPack reads every vector in place, so
  // it needs the loader's alignment checks, and on a 16-byte aligned copy.
  std::vector<std::max_align_t> aligned((size + sizeof(std::max_align_t) - 1) /
                                        sizeof(std::max_align_t));
  if (size) std::memcpy(aligned.data(), data, size);
  const auto* bytes = reinterpret_cast<const uint8_t*>(aligned.data());
  qrt_model* loaded = nullptr;
  if (qrt_model_from_buffer(bytes, size, &loaded) != QRT_OK) return 0;
  qrt_model_free(loaded);
  qrt::fb::ModelT model;
  qrt::fb::GetModel(bytes)->UnPackTo(&model);
  // The verifier accepts a union type without its table; Pack would
  // dereference the missing table.
  for (auto& g : model.subgraphs)
    for (auto& op : g->operators)
      if (!op->options.value) op->options.Reset();
  Rng r(seed);
  if (!mutate_model(r, model)) return 0;
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(qrt::fb::Model::Pack(fbb, &model), qrt::fb::ModelIdentifier());
  if (fbb.GetSize() > max_size) return 0;
  std::memcpy(data, fbb.GetBufferPointer(), fbb.GetSize());
  return fbb.GetSize();
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  if (seed % 2 == 0) {
    if (size_t n = mutate_structure(data, size, max_size, seed / 2)) return n;
  }
  return LLVMFuzzerMutate(data, size, max_size);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qrt::fuzz::run_model(data, size);
  return 0;
}
