// Runs one operator through the whole runtime (builder -> loader -> prepare
// -> invoke), the harness every per-operator test uses.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "model_builder.h"
#include "qrt/qrt.h"
#include "support/fixtures.h"

namespace qrt::test {

struct TensorSpec {
  std::vector<int32_t> shape;
  fb::DType dtype = fb::DType::F32;
  convert::QuantParams quant;
  std::vector<uint8_t> data;  // inputs: bytes fed or stored; outputs: ignored
  bool constant = false;      // inputs: stored in the model instead of fed
  bool absent = false;        // inputs: an absent optional input (-1)
};

struct OpSpec {
  fb::OpCode code = fb::OpCode::ADD;
  convert::OpAttrs attrs;
  fb::Profile profile = fb::Profile::Qnnpack;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
};

struct OpResult {
  qrt_status status = QRT_OK;  // first failure: load, create, set input or invoke
  std::string error;
  std::vector<std::vector<uint8_t>> outputs;
};

OpResult run_op(const OpSpec& spec);

// For the first fixture of each key: the op once per dimension of each
// present tensor with that dimension set to 0 (bytes emptied), CHECKing that
// the model is refused with the verifier's message. Returns (keys, variants).
std::pair<size_t, size_t> check_zero_dims_refused(
    const std::vector<Fixture>& fixtures, const std::function<std::string(const Fixture&)>& key,
    const std::function<OpSpec(const Fixture&)>& spec_of);

// Runs every u8 fixture of profile qnnpack or fbgemm under the other profile.
// Per "<op>/<profile>": (cases, cases whose output "out" differs or that fail).
std::map<std::string, std::pair<int, int>> run_in_other_profile(
    const std::vector<Fixture>& fixtures, const std::function<OpSpec(const Fixture&)>& spec_of);

// Typed views and builders for tests.
template <class T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(v.data());
  return std::vector<uint8_t>(p, p + v.size() * sizeof(T));
}
template <class T>
std::vector<T> values_of(const std::vector<uint8_t>& b) {
  std::vector<T> v(b.size() / sizeof(T));
  if (!v.empty()) __builtin_memcpy(v.data(), b.data(), v.size() * sizeof(T));
  return v;
}

}  // namespace qrt::test
