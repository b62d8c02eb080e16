// What the loader and .npy fuzzers do with one input. A crash input saved
// under tests/data/fuzz/<harness>/ seeds every later run (run.sh); replay it
// in a qrt-tests case too, as tests/converter/test_fuzz_onnx_regressions.cc does.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "npy.h"
#include "qrt/qrt.h"

namespace qrt::fuzz {

// Absurd models must be refused at prepare, not allocated.
constexpr size_t kMaxArenaBytes = size_t{64} << 20;
// Larger models, and models whose operators report more multiply-adds in
// all, are prepared but not run: a few hundred bytes of model can ask for
// minutes of arithmetic (an adaptive pool that widens one dimension and
// narrows the other), and the fuzzer hunts memory errors, not slow models.
constexpr size_t kMaxInvokeArenaBytes = size_t{8} << 20;
constexpr uint64_t kMaxInvokeMacs = uint64_t{64} << 20;

inline uint64_t total_macs(const qrt_interpreter* it) {
  uint64_t macs = 0;
  for (int32_t i = 0; i < qrt_op_count(it); ++i) {
    qrt_op_profile op;
    if (qrt_op_profile_at(it, i, &op) != QRT_OK) std::abort();
    macs += op.macs;
  }
  return macs;
}

// Input values follow the model bytes: deterministic, so a saved input
// replays exactly. Floats stay finite and small, the way real inputs are;
// integer inputs (gather indices, ...) get any bit pattern.
inline void fill_input(const qrt_tensor& t, const uint8_t* data, size_t size,
                       std::vector<uint8_t>* bytes) {
  bytes->resize(t.bytes);
  if (t.dtype == QRT_F32) {
    for (size_t i = 0; i < t.bytes / 4; ++i) {
      float v = static_cast<float>(static_cast<int8_t>(data[i % size])) / 16.f;
      std::memcpy(bytes->data() + 4 * i, &v, 4);
    }
  } else {
    for (size_t i = 0; i < t.bytes; ++i) (*bytes)[i] = data[(i * 7) % size];
  }
}

// Load (verify), prepare with a bounded arena, fill every input, invoke on
// one thread, read every output. Failures are fine; crashes, leaks and
// sanitizer reports are what the fuzzer looks for.
inline void run_model(const uint8_t* data, size_t size) {
  // The loader's contract is a 16-byte aligned buffer; exactly `size` bytes
  // so ASan sees any read past the end.
  void* copy = nullptr;
  if (posix_memalign(&copy, 16, size ? size : 1) != 0) std::abort();
  if (size) std::memcpy(copy, data, size);
  qrt_model* model = nullptr;
  if (qrt_model_from_buffer(copy, size, &model) == QRT_OK) {
    qrt_options options;
    qrt_options_init(&options);
    options.max_arena_bytes = kMaxArenaBytes;
    options.threads = 1;
    qrt_interpreter* it = nullptr;
    if (qrt_interpreter_create(model, &options, &it) == QRT_OK) {
      qrt_memory_info memory;
      if (qrt_memory(it, &memory) != QRT_OK) std::abort();
      // Inputs are filled only for models that run: filling tens of MiB
      // byte by byte for a model that is then not invoked only slows the
      // fuzzer (it tripped the 30 s timeout under load).
      const bool run =
          memory.total_bytes <= kMaxInvokeArenaBytes && total_macs(it) <= kMaxInvokeMacs;
      // A prepared interpreter must accept inputs of exactly the type and
      // size it reports, and report every output it counts.
      std::vector<uint8_t> bytes;
      for (int32_t i = 0; i < qrt_input_count(it); ++i) {
        qrt_tensor t;
        if (qrt_input(it, i, &t) != QRT_OK) std::abort();
        if (!run) continue;
        fill_input(t, data, size, &bytes);
        if (qrt_set_input(it, i, t.dtype, bytes.data(), bytes.size()) != QRT_OK) std::abort();
      }
      if (run && qrt_invoke(it) == QRT_OK) {
        for (int32_t i = 0; i < qrt_output_count(it); ++i) {
          qrt_tensor t;
          if (qrt_output(it, i, &t) != QRT_OK) std::abort();
        }
      }
      qrt_interpreter_free(it);
    }
    qrt_model_free(model);
  }
  std::free(copy);
}

inline void run_npy(const uint8_t* data, size_t size) {
  tools::NpyArray a;
  std::string error;
  if (tools::parse_npy(data, size, &a, &error)) {
    // What the header promised is what was read.
    size_t n = tools::npy_itemsize(a.dtype);
    for (int64_t d : a.shape) n *= static_cast<size_t>(d);
    if (n != a.data.size()) std::abort();
  } else if (error.empty()) {
    std::abort();  // every refusal says why
  }
}

}  // namespace qrt::fuzz
