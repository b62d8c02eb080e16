#include "support/converted_model.h"

#include <doctest/doctest.h>

#include "qrt/qrt.hpp"

namespace qrt::test {

const fb::Tensor* find_tensor(const fb::SubGraph* sg, const std::string& name) {
  for (const fb::Tensor* t : *sg->tensors())
    if (t->name() && t->name()->str() == name) return t;
  return nullptr;
}

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

std::vector<std::vector<float>> run_model_outputs(const std::vector<uint8_t>& bytes,
                                                  const std::vector<NamedArray>& inputs) {
  Model model;
  Interpreter it;
  Status st = Model::from_buffer(bytes.data(), bytes.size(), &model);
  if (st) st = Interpreter::create(model, &it);
  REQUIRE_MESSAGE(st, st.message);
  for (const NamedArray& in : inputs) {
    const int k = in.name.empty() ? 0 : it.input_index(in.name.c_str());
    REQUIRE_MESSAGE(k >= 0, in.name);
    const std::string& d = in.array.dtype;
    REQUIRE((d == "f4" || d == "i8" || d == "i4" || d == "u1" || d == "b1"));
    const qrt_dtype type = d == "f4" ? QRT_F32 : d == "i8" ? QRT_I64 : d == "i4" ? QRT_I32 : QRT_U8;
    st = it.set_input(k, type, in.array.data.data(), in.array.data.size());
    REQUIRE_MESSAGE(st, st.message);
  }
  st = it.invoke();
  REQUIRE_MESSAGE(st, st.message);
  std::vector<std::vector<float>> outputs;
  for (int k = 0; k < it.output_count(); ++k) {
    qrt_tensor y;
    REQUIRE(it.output(k, &y));
    REQUIRE(y.dtype == QRT_F32);
    const float* f = static_cast<const float*>(y.data);
    outputs.emplace_back(f, f + y.bytes / 4);
  }
  return outputs;
}

std::vector<float> run_model(const std::vector<uint8_t>& bytes, const tools::NpyArray& x) {
  return run_model_outputs(bytes, {{"", x}})[0];
}

}  // namespace qrt::test
