// The planner acceptance on a real MobileNetV2-shaped int8 model: the
// interpreter's arena against TFLite Micro's greedy planner on the same
// lifetimes (derived here independently from the file) and the lower bound.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "memory_planner.h"
#include "qrt/qrt.h"
#include "support/mobilenet_v2_model.h"
#include "support/test_models.h"
#include "support/tflm_greedy_planner.h"

TEST_CASE("arena: mobilenet_v2 int8 against TFLM greedy and the lower bound") {
  std::vector<uint8_t> bytes = qrt::test::mobilenet_v2_int8(qrt::fb::Profile::Qnnpack);
  qrt::test::AlignedBytes aligned(bytes);
  qrt_model* model = nullptr;
  REQUIRE_MESSAGE(qrt_model_from_buffer(aligned.data(), aligned.size(), &model) == QRT_OK,
                  qrt_last_error());
  qrt_interpreter* it = nullptr;
  REQUIRE_MESSAGE(qrt_interpreter_create(model, nullptr, &it) == QRT_OK, qrt_last_error());
  qrt_memory_info mem;
  REQUIRE(qrt_memory(it, &mem) == QRT_OK);

  // Lifetimes straight from the file: a tensor lives from the first operator
  // that touches it to the last; graph inputs and outputs to the end.
  const qrt::fb::SubGraph* g = qrt::fb::GetModel(bytes.data())->subgraphs()->Get(0);
  const auto* tensors = g->tensors();
  const int num_ops = static_cast<int>(g->operators()->size());
  std::vector<int> first(tensors->size(), -1), last(tensors->size(), -1);
  for (int i = 0; i < num_ops; ++i) {
    const qrt::fb::Operator* op = g->operators()->Get(static_cast<flatbuffers::uoffset_t>(i));
    for (auto* list : {op->inputs(), op->outputs()})
      for (int32_t t : *list) {
        if (t < 0) continue;
        if (first[t] < 0) first[t] = i;
        last[t] = i;
      }
  }
  for (int32_t t : *g->inputs()) first[t] = 0, last[t] = num_ops - 1;
  for (int32_t t : *g->outputs()) last[t] = num_ops - 1;
  std::vector<qrt::PlanBuffer> buffers;
  for (flatbuffers::uoffset_t i = 0; i < tensors->size(); ++i) {
    const qrt::fb::Tensor* t = tensors->Get(i);
    if (t->buffer() != 0 || first[i] < 0) continue;
    size_t n = 1;
    for (int32_t d : *t->shape()) n *= static_cast<size_t>(d);
    buffers.push_back({n, first[i], last[i], -1});
  }
  // Scratch: none of the reference ops asks for any yet; if one does, the
  // runtime's arena includes it and this comparison would flag the growth.
  const size_t tflm = qrt::test::tflm_greedy_plan(buffers, 64).arena_bytes;
  const size_t bound = qrt::memory_lower_bound(buffers, 64);
  MESSAGE("mobilenet_v2 int8 arena (bytes): qrt=" << mem.arena_bytes << " tflm_greedy=" << tflm
                                                  << " lower_bound=" << mem.lower_bound_bytes
                                                  << " persistent=" << mem.persistent_bytes);
  CHECK(g->operators()->size() == 64);  // 52 convs, 10 adds, pool, fc
  CHECK(mem.lower_bound_bytes == bound);
  CHECK(mem.arena_bytes <= tflm);
  CHECK(static_cast<double>(mem.arena_bytes) <= 1.05 * static_cast<double>(mem.lower_bound_bytes));
  // The arena is what the graph needs, not the sum of its tensors.
  size_t all = 0;
  for (const auto& b : buffers) all += b.size;
  CHECK(mem.arena_bytes * 3 < all);
  qrt_interpreter_free(it);
  qrt_model_free(model);
}
