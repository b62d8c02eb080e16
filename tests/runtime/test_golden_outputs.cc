// The same model and input must give the same output bytes on every
// architecture and tier: a test on the build host then says the truth about
// the board. An int8 MobileNetV2 (seeded weights) runs in both profiles on
// this build's best tier and on the reference, and both must equal bytes
// committed under tests/data/golden, written once on x86-64. The aarch64
// and armv7 builds run this under qemu in CI.
//
// The device tool gets the same check: qrt-run (under qemu in cross builds,
// see QRT_RUN_COMMAND in tests/CMakeLists.txt) reads the model and image from
// files and must write the same bytes.
//
// To rewrite the golden files after a deliberate numeric change, run
//   QRT_WRITE_GOLDEN=1 ./qrt-tests -tc='golden*'
// on x86-64 and commit them with the change that explains them.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "npy.h"
#include "qrt/qrt.h"
#include "support/mobilenet_v2_model.h"
#include "support/test_models.h"
#include "support/tool_command.h"

namespace {

using qrt::fb::Profile;

// FNV-1a: tells a failure in the model generator (different weights on this
// platform) apart from one in inference.
uint64_t fnv1a(const std::vector<uint8_t>& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : bytes) h = (h ^ b) * 1099511628211ull;
  return h;
}

// Raw mt19937 words are fixed by the standard on every platform; the
// distributions are not.
std::vector<uint8_t> image_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& x : v) x = static_cast<uint8_t>(rng() >> 24);
  return v;
}

std::vector<uint8_t> run(const std::vector<uint8_t>& model_bytes,
                         const std::vector<uint8_t>& image, const char* isa) {
  if (isa)
    setenv("QRT_ISA", isa, 1);
  else
    unsetenv("QRT_ISA");
  qrt::test::AlignedBytes aligned(model_bytes);
  qrt_model* model = nullptr;
  qrt_interpreter* it = nullptr;
  std::vector<uint8_t> out;
  const bool ok = qrt_model_from_buffer(aligned.data(), aligned.size(), &model) == QRT_OK &&
                  qrt_interpreter_create(model, nullptr, &it) == QRT_OK &&
                  qrt_set_input(it, 0, QRT_U8, image.data(), image.size()) == QRT_OK &&
                  qrt_invoke(it) == QRT_OK;
  const std::string error = ok ? "" : qrt_last_error();
  unsetenv("QRT_ISA");
  REQUIRE_MESSAGE(ok, error);
  qrt_tensor t;
  REQUIRE(qrt_output(it, 0, &t) == QRT_OK);
  const auto* p = static_cast<const uint8_t*>(t.data);
  out.assign(p, p + t.bytes);
  qrt_interpreter_free(it);
  qrt_model_free(model);
  return out;
}

}  // namespace

TEST_CASE("golden: int8 MobileNetV2 gives the committed bytes on every architecture") {
  const std::vector<uint8_t> image = image_bytes(224 * 224 * 3, 2024);
  const bool write = std::getenv("QRT_WRITE_GOLDEN") != nullptr;
  for (Profile profile : {Profile::Qnnpack, Profile::Fbgemm}) {
    const std::string name = profile == Profile::Qnnpack ? "qnnpack" : "fbgemm";
    CAPTURE(name);
    const std::vector<uint8_t> model = qrt::test::mobilenet_v2_int8(profile, 7);
    const std::string path = std::string(QRT_TEST_DATA_DIR) + "/golden/mobilenet_v2_" + name;

    qrt::tools::NpyArray model_hash;
    model_hash.dtype = "u1";
    const uint64_t h = fnv1a(model);
    for (int i = 0; i < 8; ++i) model_hash.data.push_back(static_cast<uint8_t>(h >> (8 * i)));
    model_hash.shape = {8};

    const std::vector<uint8_t> fast = run(model, image, nullptr);
    if (write) {
      qrt::tools::NpyArray out;
      out.dtype = "u1";
      out.shape = {static_cast<int64_t>(fast.size())};
      out.data = fast;
      std::string error;
      REQUIRE_MESSAGE(qrt::tools::write_npy(path + "_logits.npy", out, &error), error);
      REQUIRE_MESSAGE(qrt::tools::write_npy(path + "_model_fnv.npy", model_hash, &error), error);
      MESSAGE("wrote " << path << "_{logits,model_fnv}.npy");
    }
    qrt::tools::NpyArray expected_hash, expected;
    std::string error;
    REQUIRE_MESSAGE(qrt::tools::read_npy(path + "_model_fnv.npy", &expected_hash, &error), error);
    REQUIRE_MESSAGE(qrt::tools::read_npy(path + "_logits.npy", &expected, &error), error);
    // Same weights as on the machine that wrote the golden files...
    REQUIRE(expected_hash.data == model_hash.data);
    // ...same output bytes, on the best tier and on the reference.
    CHECK(fast == expected.data);
    CHECK(run(model, image, "ref") == expected.data);
    // Not a degenerate model: the logits are not all one value.
    CHECK(std::count(fast.begin(), fast.end(), fast[0]) < static_cast<long>(fast.size()));
  }
}

#ifndef QRT_RUN_COMMAND
#error "QRT_RUN_COMMAND is not defined: tests/CMakeLists.txt defines it"
#endif

TEST_CASE("golden: qrt-run writes the committed MobileNetV2 bytes on every architecture") {
  const std::vector<std::string> command = {QRT_RUN_COMMAND};
  qrt::test::TempDir dir("qrt-test-golden-run-");
  qrt::tools::NpyArray image;
  image.dtype = "u1";
  image.shape = {1, 224, 224, 3};
  image.data = image_bytes(224 * 224 * 3, 2024);
  std::string error;
  REQUIRE_MESSAGE(qrt::tools::write_npy(dir.file("image.npy"), image, &error), error);
  for (Profile profile : {Profile::Qnnpack, Profile::Fbgemm}) {
    const std::string name = profile == Profile::Qnnpack ? "qnnpack" : "fbgemm";
    CAPTURE(name);
    const std::vector<uint8_t> model = qrt::test::mobilenet_v2_int8(profile, 7);
    const std::string model_path = dir.file(name + ".qrt");
    std::ofstream(model_path, std::ios::binary)
        .write(reinterpret_cast<const char*>(model.data()), static_cast<std::streamsize>(model.size()));
    const std::string out_dir = dir.file(name + "-out");
    const qrt::test::ToolResult r =
        qrt::test::run_tool(command, {model_path, "--input", dir.file("image.npy"), "--output-dir",
                                      out_dir, "--quiet"},
                            dir);
    CAPTURE(r.err);
    REQUIRE(r.code == 0);
    std::vector<std::filesystem::path> outputs;
    for (const auto& e : std::filesystem::directory_iterator(out_dir)) outputs.push_back(e.path());
    REQUIRE(outputs.size() == 1);
    qrt::tools::NpyArray got, expected;
    REQUIRE_MESSAGE(qrt::tools::read_npy(outputs[0].string(), &got, &error), error);
    REQUIRE_MESSAGE(qrt::tools::read_npy(std::string(QRT_TEST_DATA_DIR) + "/golden/mobilenet_v2_" +
                                             name + "_logits.npy",
                                         &expected, &error),
                    error);
    CHECK(got.dtype == "u1");
    CHECK(got.data == expected.data);
  }
}
