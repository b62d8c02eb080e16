// The bad-input matrix of qrt-convert and qrt-run, run as processes: every
// broken file, mismatched calibration set or unwritable destination must end
// in one clear error line naming the culprit, a non-zero exit code, and no
// output file — not even a partial one, and an existing one left as it was.
// Each case runs twice: into an empty folder, and over an existing output.
//
// A full disk is one process's file size limit (`ulimit -f`, SIGXFSZ
// ignored): its writes past the limit fail with EFBIG partway through, as
// they would with ENOSPC, and no root or tmpfs mount is needed.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "model_builder.h"
#include "npy.h"
#include "support/test_models.h"
#include "support/tool_command.h"

#ifdef QRT_CONVERT_COMMAND
#include <onnx/onnx_pb.h>
#include <zlib.h>
#endif

namespace fs = std::filesystem;

namespace {

using qrt::test::run_tool;
using qrt::test::slurp_bytes;
using qrt::test::slurp_text;
using qrt::test::TempDir;
using qrt::test::ToolResult;
using Bytes = std::vector<uint8_t>;

#ifndef QRT_RUN_COMMAND
#error "QRT_RUN_COMMAND is not defined: tests/CMakeLists.txt defines it"
#endif

constexpr const char* kSentinel = "an output from an earlier run\n";

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void write_text(const std::string& path, const std::string& text) {
  write_bytes(path, Bytes(text.begin(), text.end()));
}

void write_array(const std::string& path, const std::string& dtype,
                 const std::vector<int64_t>& shape, const Bytes& data) {
  qrt::tools::NpyArray a;
  a.dtype = dtype;
  a.shape = shape;
  a.data = data;
  std::string error;
  REQUIRE_MESSAGE(qrt::tools::write_npy(path, a, &error), error);
}

Bytes float_bytes(const std::vector<float>& v) {
  Bytes b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// Runs `command` with a small file size limit: a disk that fills up after
// the first few hundred bytes (dash counts 512-byte blocks, bash 1024). The
// tools' one-line error still fits.
std::vector<std::string> with_full_disk(std::vector<std::string> command) {
  command.insert(command.begin(), {"sh", "-c", "trap '' XFSZ; ulimit -f 1; exec \"$@\"", "sh"});
  return command;
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

// The error contract: a non-zero exit (not a crash), one line on stderr
// starting with the tool's name and naming every part.
void check_refused(const ToolResult& r, const std::string& tool,
                   const std::vector<std::string>& parts) {
  CAPTURE(r.err);
  CAPTURE(r.out);
  CHECK(r.code > 0);
  CHECK(r.err.rfind(tool + ": ", 0) == 0);
  const size_t newline = r.err.find('\n');
  CHECK(newline == r.err.size() - 1);
  for (const std::string& part : parts) CHECK_MESSAGE(r.err.find(part) != std::string::npos, part);
}

// Nothing but `allowed` (each holding kSentinel, untouched) in `dir`.
void check_untouched(const std::string& dir, const std::vector<std::string>& allowed) {
  const std::vector<std::string> names = entries(dir);
  CAPTURE(dir);
  for (const std::string& name : names) {
    CAPTURE(name);
    CHECK(std::find(allowed.begin(), allowed.end(), name) != allowed.end());
  }
  for (const std::string& name : allowed) {
    CAPTURE(name);
    CHECK(slurp_text((fs::path(dir) / name).string()) == kSentinel);
  }
}

// A folder with no write permission for this process. Root ignores
// permission bits, so it gets /proc, where nobody can create files.
std::string read_only_dir(const TempDir& tmp) {
  if (geteuid() == 0) return "/proc";
  const std::string dir = tmp.file("read-only");
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec);
  return dir;
}

// ---------------------------------------------------------------- qrt-run

std::vector<std::string> run_command() { return {QRT_RUN_COMMAND}; }

// x f32 (1, 64, 64, 1) -> global average pool -> "small" (4 bytes), and
// -> clamp -> "big" (16 KiB). The small output comes first: a disk that
// fills up partway through would leave it behind, were the outputs not
// written all or nothing.
Bytes two_output_model() {
  using qrt::convert::ModelBuilder;
  using qrt::fb::DType;
  ModelBuilder b(qrt::fb::Profile::Qnnpack);
  const int x = b.add_tensor("x", {1, 64, 64, 1}, DType::F32);
  const int small = b.add_tensor("small", {1, 1, 1, 1}, DType::F32);
  const int big = b.add_tensor("big", {1, 64, 64, 1}, DType::F32);
  b.add_global_avg_pool(x, small, "pool");
  b.add_clamp(x, big, 0.f, 1.f, "clamp");
  b.set_inputs({x});
  b.set_outputs({small, big});
  return b.finish();
}

struct RunCase {
  std::string what;
  // Called with the scratch dir and the output dir; returns the arguments.
  std::function<std::vector<std::string>(const TempDir&, const std::string&)> args;
  std::vector<std::string> message;
  bool full_disk = false;
};

}  // namespace

TEST_CASE("bad inputs: qrt-run refuses each with one message and writes no output") {
  const std::string tool = run_command().back();
  REQUIRE_MESSAGE(fs::is_regular_file(tool), "qrt-run is not built at " << tool);
  const Bytes cnn = qrt::test::int8_cnn(qrt::fb::Profile::Qnnpack);
  const Bytes two = two_output_model();
  auto model_in = [&](const TempDir& tmp) {
    write_bytes(tmp.file("cnn.qrt"), cnn);
    write_array(tmp.file("image.npy"), "f4", {1, 8, 8, 3},
                float_bytes(std::vector<float>(192, 0.5f)));
    return tmp.file("cnn.qrt");
  };
  auto with_image = [&](const TempDir& tmp, const std::string& out, const std::string& model) {
    return std::vector<std::string>{model,          "--input", "image=" + tmp.file("image.npy"),
                                    "--output-dir", out,       "--quiet"};
  };
  const std::vector<RunCase> cases = {
      {"missing model",
       [&](const TempDir& tmp, const std::string& out) {
         return with_image(tmp, out, tmp.file("nope.qrt"));
       },
       {"nope.qrt", "no such file"}},
      {"empty model",
       [&](const TempDir& tmp, const std::string& out) {
         model_in(tmp);
         write_bytes(tmp.file("empty.qrt"), {});
         return with_image(tmp, out, tmp.file("empty.qrt"));
       },
       {"empty.qrt", "empty"}},
      {"truncated model",
       [&](const TempDir& tmp, const std::string& out) {
         model_in(tmp);
         write_bytes(tmp.file("cut.qrt"),
                     Bytes(cnn.begin(), cnn.begin() + static_cast<long>(cnn.size() / 2)));
         return with_image(tmp, out, tmp.file("cut.qrt"));
       },
       {"cut.qrt"}},
      {"a text file as model",
       [&](const TempDir& tmp, const std::string& out) {
         model_in(tmp);
         write_text(tmp.file("notes.qrt"), "these are not the weights you are looking for\n");
         return with_image(tmp, out, tmp.file("notes.qrt"));
       },
       {"notes.qrt", "not a .qrt model"}},
      {"an ONNX file as model",
       [&](const TempDir& tmp, const std::string& out) {
         model_in(tmp);
         fs::copy_file(std::string(QRT_TEST_DATA_DIR) + "/converter/small_cnn.onnx",
                       tmp.file("m.onnx"));
         return with_image(tmp, out, tmp.file("m.onnx"));
       },
       {"m.onnx", "not a .qrt model"}},
      {"input of the wrong shape",
       [&](const TempDir& tmp, const std::string& out) {
         const std::string m = model_in(tmp);
         write_array(tmp.file("image.npy"), "f4", {1, 8, 8, 4},
                     float_bytes(std::vector<float>(256, 0.5f)));
         return with_image(tmp, out, m);
       },
       {"image", "(1, 8, 8, 4)", "(1, 8, 8, 3)"}},
      {"input of the wrong dtype",
       [&](const TempDir& tmp, const std::string& out) {
         const std::string m = model_in(tmp);
         write_array(tmp.file("image.npy"), "f8", {1, 8, 8, 3}, Bytes(192 * 8, 0));
         return with_image(tmp, out, m);
       },
       {"image", "f32"}},
      {"truncated input .npy",
       [&](const TempDir& tmp, const std::string& out) {
         const std::string m = model_in(tmp);
         Bytes npy = slurp_bytes(tmp.file("image.npy"));
         npy.resize(npy.size() - 10);
         write_bytes(tmp.file("image.npy"), npy);
         return with_image(tmp, out, m);
       },
       {"image.npy"}},
      {"input name the model does not have",
       [&](const TempDir& tmp, const std::string& out) {
         const std::string m = model_in(tmp);
         return std::vector<std::string>{m, "--input", "picture=" + tmp.file("image.npy"),
                                         "--output-dir", out};
       },
       {"picture", "image"}},
      {"output folder below a file",
       [&](const TempDir& tmp, const std::string&) {
         const std::string m = model_in(tmp);
         write_text(tmp.file("a-file"), "x");
         return with_image(tmp, tmp.file("a-file") + "/out", m);
       },
       {"a-file/out"}},
      {"read-only output folder",
       [&](const TempDir& tmp, const std::string&) {
         const std::string m = model_in(tmp);
         return with_image(tmp, read_only_dir(tmp), m);
       },
       {"output"}},
      {"full disk",
       [&](const TempDir& tmp, const std::string& out) {
         write_bytes(tmp.file("two.qrt"), two);
         write_array(tmp.file("x.npy"), "f4", {1, 64, 64, 1},
                     float_bytes(std::vector<float>(4096, 0.25f)));
         return std::vector<std::string>{tmp.file("two.qrt"), "--input", tmp.file("x.npy"),
                                         "--output-dir",      out,       "--quiet"};
       },
       {"'big'", "/out/big.npy: cannot write", "File too large"},
       true},
  };
  for (const RunCase& c : cases) {
    for (const bool earlier : {false, true}) {
      CAPTURE(c.what);
      CAPTURE(earlier);
      TempDir tmp("qrt-bad-run-");
      const std::string out = tmp.file("out");
      if (earlier) {
        fs::create_directories(out);
        write_text(out + "/small.npy", kSentinel);
        write_text(out + "/logits.npy", kSentinel);
      }
      const std::vector<std::string> args = c.args(tmp, out);
      const ToolResult r =
          run_tool(c.full_disk ? with_full_disk(run_command()) : run_command(), args, tmp);
      check_refused(r, "qrt-run", c.message);
      check_untouched(out, earlier ? std::vector<std::string>{"small.npy", "logits.npy"}
                                   : std::vector<std::string>{});
      if (!earlier) CHECK_FALSE(fs::exists(out));
    }
  }
  // The same full-disk run with room to write succeeds: the limit, not the
  // model, made it fail.
  TempDir tmp("qrt-bad-run-");
  write_bytes(tmp.file("two.qrt"), two);
  write_array(tmp.file("x.npy"), "f4", {1, 64, 64, 1},
              float_bytes(std::vector<float>(4096, 0.25f)));
  const ToolResult ok = run_tool(run_command(),
                                 {tmp.file("two.qrt"), "--input", tmp.file("x.npy"), "--output-dir",
                                  tmp.file("out"), "--quiet"},
                                 tmp);
  CAPTURE(ok.err);
  CHECK(ok.code == 0);
  CHECK(fs::file_size(tmp.file("out/big.npy")) > 16384);
  CHECK(fs::exists(tmp.file("out/small.npy")));
  CHECK(entries(tmp.file("out")).size() == 2);
}

#ifdef QRT_CONVERT_COMMAND

namespace {

std::vector<std::string> convert_command() { return {QRT_CONVERT_COMMAND}; }

std::string small_cnn() { return std::string(QRT_TEST_DATA_DIR) + "/converter/small_cnn.onnx"; }

onnx::ModelProto read_onnx(const std::string& path) {
  onnx::ModelProto m;
  std::ifstream in(path, std::ios::binary);
  REQUIRE(m.ParseFromIstream(&in));
  return m;
}

void write_onnx(const std::string& path, const onnx::ModelProto& m) {
  std::ofstream out(path, std::ios::binary);
  REQUIRE(m.SerializeToOstream(&out));
}

// The weights of the first Conv of small_cnn.onnx with element 5 set to `v`;
// *name is the initializer's name.
onnx::ModelProto poisoned_weights(float v, std::string* name) {
  onnx::ModelProto m = read_onnx(small_cnn());
  for (const auto& node : m.graph().node())
    if (node.op_type() == "Conv") {
      *name = node.input(1);
      break;
    }
  REQUIRE(!name->empty());
  for (auto& t : *m.mutable_graph()->mutable_initializer()) {
    if (t.name() != *name) continue;
    REQUIRE(t.data_type() == onnx::TensorProto::FLOAT);
    if (t.has_raw_data()) {
      std::string raw = t.raw_data();
      REQUIRE(raw.size() >= 24);
      std::memcpy(&raw[20], &v, 4);
      t.set_raw_data(raw);
    } else {
      REQUIRE(t.float_data_size() > 5);
      t.set_float_data(5, v);
    }
    return m;
  }
  FAIL("no initializer " << *name);
  return m;
}

// X f32 [2, 3, 3] -> Det (node "det_node") -> Y f32 [2]: valid ONNX with
// an operator qrt does not implement.
// small_cnn with the batch dimension of its input and output named instead
// of fixed, as torch.onnx.export writes them with dynamic_axes.
onnx::ModelProto dynamic_batch_model() {
  onnx::ModelProto m = read_onnx(small_cnn());
  for (auto* v : {m.mutable_graph()->mutable_input(0), m.mutable_graph()->mutable_output(0)})
    v->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_param(
        "batch_size");
  return m;
}

// small_cnn (batch 4) with its logits reshaped to a constant [4, 10], as an
// export for one batch size bakes it into a Reshape's target.
onnx::ModelProto fixed_batch_model() {
  onnx::ModelProto m = read_onnx(small_cnn());
  onnx::GraphProto* g = m.mutable_graph();
  onnx::TensorProto* shape = g->add_initializer();
  shape->set_name("fixed_shape");
  shape->set_data_type(onnx::TensorProto::INT64);
  shape->add_dims(2);
  shape->add_int64_data(4);
  shape->add_int64_data(10);
  onnx::NodeProto* n = g->add_node();
  n->set_name("fixed_reshape");
  n->set_op_type("Reshape");
  n->add_input(g->output(0).name());
  n->add_input("fixed_shape");
  n->add_output("fixed");
  g->mutable_output(0)->set_name("fixed");
  return m;
}

onnx::ModelProto det_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("det");
  auto value = [](onnx::ValueInfoProto* v, const char* name, std::vector<int64_t> dims) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  value(g->add_input(), "X", {2, 3, 3});
  value(g->add_output(), "Y", {2});
  onnx::NodeProto* n = g->add_node();
  n->set_name("det_node");
  n->set_op_type("Det");
  n->add_input("X");
  n->add_output("Y");
  return m;
}

// A stored (uncompressed) .npz of `arrays`, as numpy.savez writes: one
// "<key>.npy" entry each. No arrays gives an empty archive.
void write_npz(const std::string& path, const std::vector<std::pair<std::string, Bytes>>& arrays) {
  Bytes zip, central;
  auto put = [](Bytes* b, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b->push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  for (const auto& [key, npy] : arrays) {
    const std::string name = key + ".npy";
    const uint32_t crc = static_cast<uint32_t>(crc32(0, npy.data(), static_cast<uInt>(npy.size())));
    const size_t offset = zip.size();
    for (Bytes* b : {&zip, &central}) {
      const bool cd = b == &central;
      put(b, cd ? 0x02014b50 : 0x04034b50, 4);
      if (cd) put(b, 20, 2);  // made by
      put(b, 20, 2);          // needed
      put(b, 0, 2);           // flags
      put(b, 0, 2);           // stored
      put(b, 0, 4);           // time, date
      put(b, crc, 4);
      put(b, npy.size(), 4);
      put(b, npy.size(), 4);
      put(b, name.size(), 2);
      put(b, 0, 2);  // extra
      if (cd) {
        put(b, 0, 2);  // comment
        put(b, 0, 2);  // disk
        put(b, 0, 2);  // internal attributes
        put(b, 0, 4);  // external attributes
        put(b, offset, 4);
      }
      b->insert(b->end(), name.begin(), name.end());
    }
    zip.insert(zip.end(), npy.begin(), npy.end());
  }
  const size_t cd_offset = zip.size();
  zip.insert(zip.end(), central.begin(), central.end());
  put(&zip, 0x06054b50, 4);
  put(&zip, 0, 4);  // disks
  put(&zip, arrays.size(), 2);
  put(&zip, arrays.size(), 2);
  put(&zip, central.size(), 4);
  put(&zip, cd_offset, 4);
  put(&zip, 0, 2);
  write_bytes(path, zip);
}

Bytes npy_bytes(const std::string& dtype, const std::vector<int64_t>& shape, const Bytes& data,
                const TempDir& tmp) {
  const std::string path = tmp.file("array.tmp.npy");
  write_array(path, dtype, shape, data);
  Bytes b = slurp_bytes(path);
  fs::remove(path);
  return b;
}

struct ConvertCase {
  std::string what;
  // Called with the scratch dir and the output path; returns the arguments.
  std::function<std::vector<std::string>(const TempDir&, const std::string&)> args;
  std::vector<std::string> message;
  bool full_disk = false;
};

std::vector<std::string> fp32(const std::string& in, const std::string& out) {
  return {in, "-o", out, "-q"};
}

std::vector<std::string> calibrated(const std::string& calib, const std::string& out) {
  return {small_cnn(), "-o", out, "--mode", "static", "--calib", calib, "-q"};
}

}  // namespace

TEST_CASE("bad inputs: qrt-convert refuses each with one message and writes no output") {
  const std::string tool = convert_command().back();
  REQUIRE_MESSAGE(fs::is_regular_file(tool), "qrt-convert is not built at " << tool);
  const Bytes onnx_bytes = slurp_bytes(small_cnn());
  REQUIRE(onnx_bytes.size() > 1000);
  const std::vector<float> sample(3 * 12 * 12, 0.5f);
  std::string weight;  // filled by poisoned_weights
  poisoned_weights(0.f, &weight);

  const std::vector<ConvertCase> cases = {
      // The model file.
      {"missing file",
       [](const TempDir& t, const std::string& out) { return fp32(t.file("nope.onnx"), out); },
       {"nope.onnx", "no such file"}},
      {"a folder as model",
       [](const TempDir& t, const std::string& out) {
         fs::create_directories(t.file("folder.onnx"));
         return fp32(t.file("folder.onnx"), out);
       },
       {"folder.onnx", "not a regular file"}},
      {"empty file",
       [](const TempDir& t, const std::string& out) {
         write_bytes(t.file("empty.onnx"), {});
         return fp32(t.file("empty.onnx"), out);
       },
       {"empty.onnx", "empty"}},
      {"truncated ONNX",
       [&](const TempDir& t, const std::string& out) {
         write_bytes(t.file("cut.onnx"), Bytes(onnx_bytes.begin(), onnx_bytes.begin() + 3000));
         return fp32(t.file("cut.onnx"), out);
       },
       {"cut.onnx"}},
      {"a text file",
       [](const TempDir& t, const std::string& out) {
         write_text(t.file("readme.onnx"),
                    "# My model\nDownload the weights from the release page.\n");
         return fp32(t.file("readme.onnx"), out);
       },
       {"readme.onnx"}},
      {"a .qrt model given as ONNX",
       [](const TempDir& t, const std::string& out) {
         write_bytes(t.file("model.onnx"), qrt::test::int8_cnn(qrt::fb::Profile::Qnnpack));
         return fp32(t.file("model.onnx"), out);
       },
       {"model.onnx"}},
      {"an operator qrt lacks",
       [](const TempDir& t, const std::string& out) {
         write_onnx(t.file("det.onnx"), det_model());
         return fp32(t.file("det.onnx"), out);
       },
       {"det.onnx", "det_node", "Det", "not supported"}},
      {"a dynamic input dimension without --input-shape",
       [](const TempDir& t, const std::string& out) {
         write_onnx(t.file("dyn.onnx"), dynamic_batch_model());
         return fp32(t.file("dyn.onnx"), out);
       },
       {"dyn.onnx", "'x'", "batch_size", "--input-shape x="}},
      // The weights.
      {"NaN in weights",
       [](const TempDir& t, const std::string& out) {
         std::string name;
         write_onnx(t.file("nan.onnx"), poisoned_weights(std::nanf(""), &name));
         return fp32(t.file("nan.onnx"), out);
       },
       {"nan.onnx", "'" + weight + "'", "NaN", "element 5"}},
      {"infinity in weights",
       [](const TempDir& t, const std::string& out) {
         std::string name;
         write_onnx(t.file("inf.onnx"), poisoned_weights(-INFINITY, &name));
         return fp32(t.file("inf.onnx"), out);
       },
       {"inf.onnx", "'" + weight + "'", "-inf"}},
      {"NaN in weights, static mode",
       [&](const TempDir& t, const std::string& out) {
         std::string name;
         write_onnx(t.file("nan.onnx"), poisoned_weights(std::nanf(""), &name));
         write_array(t.file("c.npy"), "f4", {3, 12, 12}, float_bytes(sample));
         return std::vector<std::string>{
             t.file("nan.onnx"), "-o", out, "--mode", "static", "--calib", t.file("c.npy"), "-q"};
       },
       {"'" + weight + "'", "NaN"}},
      // The calibration data.
      {"NaN in calibration data",
       [&](const TempDir& t, const std::string& out) {
         std::vector<float> v = sample;
         v[77] = std::nanf("");
         write_array(t.file("nan.npy"), "f4", {3, 12, 12}, float_bytes(v));
         return calibrated(t.file("nan.npy"), out);
       },
       {"nan.npy", "'x'", "element 77", "NaN"}},
      {"a calibration batch the model's fixed shapes refuse",
       [&](const TempDir& t, const std::string& out) {
         write_onnx(t.file("fixed.onnx"), fixed_batch_model());
         write_array(t.file("two.npy"), "f4", {2, 3, 12, 12},
                     float_bytes(std::vector<float>(2 * sample.size(), 0.5f)));
         return std::vector<std::string>{
             t.file("fixed.onnx"), "-o", out, "--mode", "static", "--calib", t.file("two.npy"), "-q"};
       },
       {"exported for a batch of 4", "calibration batch of 2", "fixed_reshape", "--calib-batch 4"}},
      {"infinity in calibration data",
       [&](const TempDir& t, const std::string& out) {
         std::vector<float> v(2 * sample.size(), 0.25f);
         v[sample.size() + 3] = INFINITY;
         write_array(t.file("inf.npy"), "f4", {2, 3, 12, 12}, float_bytes(v));
         return calibrated(t.file("inf.npy"), out);
       },
       {"inf.npy", "sample 1", "infinite"}},
      {"empty calibration folder",
       [](const TempDir& t, const std::string& out) {
         fs::create_directories(t.file("calib"));
         return calibrated(t.file("calib"), out);
       },
       {"calib", "no .npy or .npz"}},
      {"empty .npz",
       [](const TempDir& t, const std::string& out) {
         write_npz(t.file("empty.npz"), {});
         return calibrated(t.file("empty.npz"), out);
       },
       {"empty.npz", "no arrays"}},
      {"calibration array with no samples",
       [](const TempDir& t, const std::string& out) {
         write_array(t.file("none.npy"), "f4", {0, 3, 12, 12}, {});
         return calibrated(t.file("none.npy"), out);
       },
       {"none.npy", "no samples"}},
      {"calibration names that are not the graph's inputs",
       [&](const TempDir& t, const std::string& out) {
         const Bytes a = npy_bytes("f4", {3, 12, 12}, float_bytes(sample), t);
         write_npz(t.file("named.npz"), {{"image", a}, {"label", a}});
         return calibrated(t.file("named.npz"), out);
       },
       {"named.npz", "'x'", "'image'"}},
      {"calibration data of the wrong shape",
       [](const TempDir& t, const std::string& out) {
         write_array(t.file("wrong.npy"), "f4", {2, 3, 10, 12},
                     float_bytes(std::vector<float>(720, 0.f)));
         return calibrated(t.file("wrong.npy"), out);
       },
       {"wrong.npy", "(2, 3, 10, 12)"}},
      {"calibration data of the wrong dtype",
       [](const TempDir& t, const std::string& out) {
         write_array(t.file("f64.npy"), "f8", {1, 3, 12, 12}, Bytes(3 * 12 * 12 * 8, 0));
         return calibrated(t.file("f64.npy"), out);
       },
       {"f64.npy", "float32"}},
      {"calibration file that is not an array",
       [](const TempDir& t, const std::string& out) {
         write_text(t.file("c.npy"), "1,2,3\n");
         return calibrated(t.file("c.npy"), out);
       },
       {"c.npy"}},
      {"missing calibration file",
       [](const TempDir& t, const std::string& out) { return calibrated(t.file("nope.npy"), out); },
       {"nope.npy", "no such file"}},
      // Where the output goes.
      {"output in a folder that does not exist",
       [](const TempDir& t, const std::string&) {
         return fp32(small_cnn(), t.file("no/such/dir/m.qrt"));
       },
       {"no/such/dir", "No such file or directory"}},
      {"output in a read-only folder",
       [](const TempDir& t, const std::string&) {
         return fp32(small_cnn(), read_only_dir(t) + "/m.qrt");
       },
       {"m.qrt"}},
      {"output is a folder",
       [](const TempDir& t, const std::string&) {
         fs::create_directories(t.file("dir.qrt"));
         return fp32(small_cnn(), t.file("dir.qrt"));
       },
       {"dir.qrt", "not a regular file"}},
      {"output is /dev/full",
       [](const TempDir&, const std::string&) { return fp32(small_cnn(), "/dev/full"); },
       {"/dev/full", "not a regular file"}},
      {"report in a folder that does not exist",
       [](const TempDir& t, const std::string& out) {
         std::vector<std::string> a = fp32(small_cnn(), out);
         a.insert(a.end(), {"--report-json", t.file("no/r.json")});
         return a;
       },
       {"no/r.json"}},
      {"output over the input model",
       [&](const TempDir& t, const std::string&) {
         write_bytes(t.file("m.onnx"), onnx_bytes);
         return fp32(t.file("m.onnx"), t.file("m.onnx"));
       },
       {"m.onnx", "input model"}},
      {"full disk",
       [](const TempDir&, const std::string& out) { return fp32(small_cnn(), out); },
       {"m.qrt", "File too large"},
       true},
      {"full disk, static mode",
       [&](const TempDir& t, const std::string& out) {
         write_array(t.file("c.npy"), "f4", {3, 12, 12}, float_bytes(sample));
         return calibrated(t.file("c.npy"), out);
       },
       {"m.qrt", "File too large"},
       true},
  };
  for (const ConvertCase& c : cases) {
    for (const bool earlier : {false, true}) {
      CAPTURE(c.what);
      CAPTURE(earlier);
      TempDir tmp("qrt-bad-convert-");
      const std::string out_dir = tmp.file("out");
      fs::create_directories(out_dir);
      if (earlier) write_text(out_dir + "/m.qrt", kSentinel);
      const std::vector<std::string> args = c.args(tmp, out_dir + "/m.qrt");
      const ToolResult r =
          run_tool(c.full_disk ? with_full_disk(convert_command()) : convert_command(), args, tmp);
      check_refused(r, "qrt-convert", c.message);
      check_untouched(out_dir,
                      earlier ? std::vector<std::string>{"m.qrt"} : std::vector<std::string>{});
      if (c.what == "output over the input model")
        CHECK(slurp_bytes(tmp.file("m.onnx")) == onnx_bytes);
    }
  }
  // Unchanged inputs convert: the failures above are the inputs', not the tool's.
  TempDir tmp("qrt-bad-convert-");
  write_array(tmp.file("c.npy"), "f4", {3, 12, 12}, float_bytes(sample));
  const ToolResult ok =
      run_tool(convert_command(), calibrated(tmp.file("c.npy"), tmp.file("m.qrt")), tmp);
  CAPTURE(ok.err);
  CHECK(ok.code == 0);
  CHECK(fs::file_size(tmp.file("m.qrt")) > 1024);
  CHECK(entries(tmp.path.string()).size() == 4);  // c.npy, m.qrt, stdout.txt, stderr.txt
  // The fix the fixed-batch message names works.
  write_onnx(tmp.file("fixed.onnx"), fixed_batch_model());
  write_array(tmp.file("eight.npy"), "f4", {8, 3, 12, 12},
              float_bytes(std::vector<float>(8 * sample.size(), 0.5f)));
  const ToolResult batched =
      run_tool(convert_command(),
               {tmp.file("fixed.onnx"), "-o", tmp.file("fixed.qrt"), "--mode", "static", "--calib",
                tmp.file("eight.npy"), "--calib-batch", "4", "-q"},
               tmp);
  CAPTURE(batched.err);
  CHECK(batched.code == 0);
  CHECK(fs::is_regular_file(tmp.file("fixed.qrt")));
  // The fix the dynamic-dimension message names works.
  write_onnx(tmp.file("dyn.onnx"), dynamic_batch_model());
  const ToolResult fixed = run_tool(
      convert_command(),
      {tmp.file("dyn.onnx"), "-o", tmp.file("dyn.qrt"), "--input-shape", "x=1,3,12,12", "-q"}, tmp);
  CAPTURE(fixed.err);
  CHECK(fixed.code == 0);
  CHECK(fs::is_regular_file(tmp.file("dyn.qrt")));
}

#endif  // QRT_CONVERT_COMMAND
