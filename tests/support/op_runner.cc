#include "support/op_runner.h"

#include <doctest/doctest.h>

#include <cstring>
#include <set>

#include "support/test_models.h"

namespace qrt::test {

OpResult run_op(const OpSpec& spec) {
  convert::ModelBuilder b(spec.profile);
  std::vector<int32_t> op_inputs, graph_inputs, op_outputs;
  std::vector<const TensorSpec*> fed;
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    const TensorSpec& t = spec.inputs[i];
    const std::string name = "in" + std::to_string(i);
    if (t.absent) {
      op_inputs.push_back(-1);
    } else if (t.constant) {
      op_inputs.push_back(b.add_constant(name, t.shape, t.dtype, t.data.data(), t.data.size(),
                                         t.quant));
    } else {
      int id = b.add_tensor(name, t.shape, t.dtype, t.quant);
      op_inputs.push_back(id);
      graph_inputs.push_back(id);
      fed.push_back(&t);
    }
  }
  for (size_t i = 0; i < spec.outputs.size(); ++i) {
    const TensorSpec& t = spec.outputs[i];
    op_outputs.push_back(b.add_tensor("out" + std::to_string(i), t.shape, t.dtype, t.quant));
  }
  b.add_operator(spec.code, op_inputs, op_outputs, spec.attrs, "op");
  b.set_inputs(graph_inputs);
  b.set_outputs(op_outputs);

  OpResult r;
  AlignedBytes bytes(b.finish());
  qrt_model* model = nullptr;
  qrt_interpreter* it = nullptr;
  r.status = qrt_model_from_buffer(bytes.data(), bytes.size(), &model);
  if (r.status == QRT_OK) r.status = qrt_interpreter_create(model, nullptr, &it);
  for (size_t i = 0; r.status == QRT_OK && i < fed.size(); ++i)
    r.status = qrt_set_input(it, static_cast<int32_t>(i), static_cast<qrt_dtype>(fed[i]->dtype),
                             fed[i]->data.data(), fed[i]->data.size());
  if (r.status == QRT_OK) r.status = qrt_invoke(it);
  if (r.status == QRT_OK) {
    for (int32_t i = 0; i < qrt_output_count(it); ++i) {
      qrt_tensor out;
      qrt_output(it, i, &out);
      const auto* p = static_cast<const uint8_t*>(out.data);
      r.outputs.emplace_back(p, p + out.bytes);
    }
  } else {
    r.error = qrt_last_error();
  }
  qrt_interpreter_free(it);
  qrt_model_free(model);
  return r;
}

namespace {

std::vector<OpSpec> zero_dim_variants(const OpSpec& spec) {
  std::vector<OpSpec> out;
  for (int role = 0; role < 2; ++role) {
    const std::vector<TensorSpec>& tensors = role == 0 ? spec.inputs : spec.outputs;
    for (size_t t = 0; t < tensors.size(); ++t) {
      if (tensors[t].absent) continue;
      for (size_t d = 0; d < tensors[t].shape.size(); ++d) {
        OpSpec v = spec;
        TensorSpec& z = role == 0 ? v.inputs[t] : v.outputs[t];
        z.shape[d] = 0;
        z.data.clear();
        out.push_back(std::move(v));
      }
    }
  }
  return out;
}

}  // namespace

std::pair<size_t, size_t> check_zero_dims_refused(
    const std::vector<Fixture>& fixtures, const std::function<std::string(const Fixture&)>& key,
    const std::function<OpSpec(const Fixture&)>& spec_of) {
  std::set<std::string> keys;
  size_t variants = 0;
  for (const Fixture& f : fixtures) {
    if (!keys.insert(key(f)).second) continue;
    for (const OpSpec& v : zero_dim_variants(spec_of(f))) {
      const OpResult r = run_op(v);
      CAPTURE(f.name);
      CAPTURE(r.error);
      CHECK(r.status == QRT_INVALID_MODEL);
      CHECK(r.error.find("dimensions must be >= 1") != std::string::npos);
      ++variants;
    }
  }
  return {keys.size(), variants};
}

std::map<std::string, std::pair<int, int>> run_in_other_profile(
    const std::vector<Fixture>& fixtures, const std::function<OpSpec(const Fixture&)>& spec_of) {
  std::map<std::string, std::pair<int, int>> counts;
  for (const Fixture& f : fixtures) {
    const std::string profile = f.str("profile");
    if (f.str("dtype") != "u8" || (profile != "qnnpack" && profile != "fbgemm")) continue;
    OpSpec spec = spec_of(f);
    spec.profile = profile == "qnnpack" ? fb::Profile::Fbgemm : fb::Profile::Qnnpack;
    const OpResult r = run_op(spec);
    std::pair<int, int>& c = counts[f.str("op") + "/" + profile];
    ++c.first;
    c.second += r.status != QRT_OK || r.outputs[0] != f.array("out").data;
  }
  return counts;
}

}  // namespace qrt::test
