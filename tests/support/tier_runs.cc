#include "support/tier_runs.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>

#include "interpreter.h"
#include "model.h"
#include "support/test_models.h"

namespace qrt::test {

IsaEnv::IsaEnv(const char* value) {
  const char* old = std::getenv("QRT_ISA");
  had_ = old != nullptr;
  if (had_) old_ = old;
  setenv("QRT_ISA", value, 1);
}

IsaEnv::~IsaEnv() {
  if (had_)
    setenv("QRT_ISA", old_.c_str(), 1);
  else
    unsetenv("QRT_ISA");
}

std::vector<kernels::Isa> fast_tiers() {
  using kernels::Isa;
  std::vector<Isa> out;
  for (Isa isa : {Isa::avx2, Isa::avxvnni, Isa::avx512vnni, Isa::neon, Isa::neon_dotprod})
    if (kernels::isa_available(isa)) out.push_back(isa);
  return out;
}

TierRun run_on_tier(const std::vector<uint8_t>& bytes,
                    const std::vector<std::vector<uint8_t>>& inputs, const char* isa) {
  IsaEnv env(isa);
  AlignedBytes aligned(bytes);
  Model model;
  Error error;
  REQUIRE_MESSAGE(load_model_from_buffer(aligned.data(), aligned.size(), &model, &error) == QRT_OK,
                  error.message);
  Interpreter it;
  REQUIRE_MESSAGE(it.prepare(model, InterpreterOptions{}, false, &error) == QRT_OK, error.message);
  REQUIRE(static_cast<size_t>(it.input_count()) == inputs.size());
  for (int32_t i = 0; i < it.input_count(); ++i) {
    REQUIRE(it.input(i).bytes == inputs[static_cast<size_t>(i)].size());
    std::memcpy(it.input(i).data, inputs[static_cast<size_t>(i)].data(), it.input(i).bytes);
  }
  TierRun r;
  for (int32_t i = 0; i < it.op_count(); ++i) {
    r.kernels.push_back(it.op(i).kernel);
    r.op_names.push_back(it.op(i).name);
  }
  for (int pass = 0; pass < 2; ++pass) {
    REQUIRE_MESSAGE(it.invoke(&error) == QRT_OK, error.message);
    for (int32_t i = 0; i < it.output_count(); ++i) {
      const Tensor& t = it.output(i);
      std::vector<uint8_t> out(t.data, t.data + t.bytes);
      if (pass == 0)
        r.outputs.push_back(out);
      else
        CHECK_MESSAGE(out == r.outputs[static_cast<size_t>(i)], "second invoke differs");
    }
  }
  return r;
}

std::vector<int> ops_running(const std::vector<uint8_t>& bytes, const std::string& kernel) {
  IsaEnv env("ref");
  AlignedBytes aligned(bytes);
  Model model;
  Error error;
  REQUIRE_MESSAGE(load_model_from_buffer(aligned.data(), aligned.size(), &model, &error) == QRT_OK,
                  error.message);
  Interpreter it;
  REQUIRE_MESSAGE(it.prepare(model, InterpreterOptions{}, false, &error) == QRT_OK, error.message);
  std::vector<int> ops;
  for (int32_t i = 0; i < it.op_count(); ++i)
    if (kernel == it.op(i).kernel) ops.push_back(i);
  return ops;
}

void check_tiers(const std::vector<uint8_t>& bytes,
                 const std::vector<std::vector<uint8_t>>& inputs, const std::vector<int>& ops,
                 const std::function<std::string(kernels::Isa)>& expected) {
  const TierRun ref = run_on_tier(bytes, inputs, "ref");
  for (int op : ops) CHECK(ref.kernels[static_cast<size_t>(op)] == expected(kernels::Isa::ref));
  for (kernels::Isa isa : fast_tiers()) {
    const std::string tier = kernels::isa_name(isa);
    CAPTURE(tier);
    const TierRun fast = run_on_tier(bytes, inputs, tier.c_str());
    for (int op : ops) {
      CAPTURE(fast.op_names[static_cast<size_t>(op)]);
      CHECK(fast.kernels[static_cast<size_t>(op)] == expected(isa));
    }
    REQUIRE(fast.outputs.size() == ref.outputs.size());
    for (size_t i = 0; i < ref.outputs.size(); ++i) {
      const long diff = first_difference(ref.outputs[i], fast.outputs[i]);
      if (diff >= 0 && ref.outputs[i].size() == fast.outputs[i].size())
        FAIL_CHECK("output " << i << " byte " << diff << ": ref "
                             << int(ref.outputs[i][static_cast<size_t>(diff)]) << ", " << tier
                             << " " << int(fast.outputs[i][static_cast<size_t>(diff)]));
      else
        CHECK(ref.outputs[i].size() == fast.outputs[i].size());
    }
  }
}

std::vector<uint8_t> random_u8(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<uint8_t> v(n);
  for (uint8_t& x : v) x = static_cast<uint8_t>(d(rng));
  return v;
}

long first_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return static_cast<long>(i);
  return -1;
}

}  // namespace qrt::test
