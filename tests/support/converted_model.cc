#include "support/converted_model.h"

#include <doctest/doctest.h>

#include "qrt/qrt.hpp"

namespace qrt::test {

std::map<fb::OpCode, int> op_counts(const std::vector<uint8_t>& model) {
  std::map<fb::OpCode, int> counts;
  for (const fb::Operator* op : *fb::GetModel(model.data())->subgraphs()->Get(0)->operators())
    counts[op->opcode()]++;
  return counts;
}

const fb::Operator* only_op(const std::vector<uint8_t>& model, fb::OpCode code) {
  const fb::Operator* found = nullptr;
  for (const fb::Operator* op : *fb::GetModel(model.data())->subgraphs()->Get(0)->operators())
    if (op->opcode() == code) {
      CHECK(found == nullptr);
      found = op;
    }
  REQUIRE(found != nullptr);
  return found;
}

std::vector<float> run_model(const std::vector<uint8_t>& bytes, const tools::NpyArray& x) {
  Model model;
  Interpreter it;
  Status st = Model::from_buffer(bytes.data(), bytes.size(), &model);
  if (st) st = Interpreter::create(model, &it);
  REQUIRE_MESSAGE(st, st.message);
  REQUIRE((x.dtype == "f4" || x.dtype == "i8" || x.dtype == "i4"));
  const qrt_dtype type = x.dtype == "f4" ? QRT_F32 : x.dtype == "i8" ? QRT_I64 : QRT_I32;
  st = it.set_input(0, type, x.data.data(), x.data.size());
  if (st) st = it.invoke();
  REQUIRE_MESSAGE(st, st.message);
  qrt_tensor y;
  REQUIRE(it.output(0, &y));
  REQUIRE(y.dtype == QRT_F32);
  const float* f = static_cast<const float*>(y.data);
  return std::vector<float>(f, f + y.bytes / 4);
}

}  // namespace qrt::test
