// Issue 6's parity table: PyTorch 1.13's eager-mode workflows (PTDQ, PTSQ,
// QAT, MobileNetV2) taken to a .qrt by qrt-convert and run, against PyTorch's
// own bytes (tests/parity/make_workflows.py writes the fixtures and
// tests/data/parity/workflows/cases.txt, one table row a line). Route (a) is
// PyTorch's quantized model exported as QDQ ONNX; route (b) the fp32 ONNX
// calibrated on the same batches, whose qparams must also be the observers'.
// Route fp32 is the float model against PyTorch fp32.
// PTDQ's sequence models (LSTM, GRU, Transformer encoder) cannot match
// PyTorch's floats bit for bit (different fp32 gate and softmax math), so
// their rule is the one of tests/converter/test_rnn_convert.cc: qrt's
// largest distance from PyTorch int8 at most 2% of PyTorch int8's own from
// PyTorch fp32. The table goes to the test log and to parity_table.txt
// beside the test binary (build/<dir>/tests), which tests/run_all.sh prints.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "converter/calibration.h"
#include "npy.h"
#include "qrt/qrt.hpp"
#include "support/tool_command.h"

namespace qrt::test {
namespace {

std::string data(const std::string& rel) { return std::string(QRT_TEST_DATA_DIR) + "/parity/workflows/" + rel; }

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

struct Row {
  std::string model, route, profile;
  std::map<std::string, std::string> keys;
  std::string key(const std::string& k) const {
    auto it = keys.find(k);
    return it == keys.end() ? std::string() : it->second;
  }
};

std::vector<Row> load_rows() {
  std::ifstream in(data("cases.txt"));
  REQUIRE(in.good());
  std::vector<Row> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream w(line);
    Row r;
    w >> r.model >> r.route >> r.profile;
    std::string kv;
    while (w >> kv) {
      const size_t eq = kv.find('=');
      REQUIRE_MESSAGE(eq != std::string::npos, "cases.txt: '" << kv << "' is not key=value");
      r.keys[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    rows.push_back(r);
  }
  REQUIRE(!rows.empty());
  return rows;
}

struct QParams {
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
};

// Distance in float32 units in the last place (scales are positive).
int64_t ulps(float a, float b) {
  int32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return std::llabs(static_cast<int64_t>(x) - y);
}

// Route (b) calibrates with the runtime's fp32 kernels, which round
// differently from PyTorch's (oneDNN) ones; the observers are bit-exact given
// PyTorch's own tensors (test_static_quant.cc), so scales land within a few
// ulps, not always on the same float.
constexpr int64_t kScaleUlps = 16;

// make_workflows.py's "act|weight NAME scale... | zero_point..." lines.
std::map<std::string, QParams> pytorch_qparams(const std::string& rel) {
  std::ifstream in(data(rel));
  REQUIRE_MESSAGE(in.good(), rel);
  std::map<std::string, QParams> m;
  std::string kind, name, rest;
  while (in >> kind >> name && std::getline(in, rest)) {
    const size_t bar = rest.find('|');
    QParams& q = m[name];
    for (const std::string& t : split(rest.substr(0, bar), ' '))
      if (!t.empty()) q.scale.push_back(std::strtof(t.c_str(), nullptr));
    for (const std::string& t : split(rest.substr(bar + 1), ' '))
      if (!t.empty()) q.zero_point.push_back(std::stoll(t));
  }
  return m;
}

// The "qparams" entries of qrt-convert --report-json, one a line:
//   {"name": "x", "scale": [0.1, ...], "zero_point": [3, ...]}
std::map<std::string, QParams> report_qparams(const std::string& path) {
  std::ifstream in(path);
  std::map<std::string, QParams> m;
  std::string line;
  auto list = [&](const std::string& key) {
    const size_t open = line.find(key + "\": [");
    const size_t from = open + key.size() + 4;
    return split(line.substr(from, line.find(']', from) - from), ',');
  };
  while (std::getline(in, line)) {
    if (line.find("\"scale\": [") == std::string::npos) continue;
    const size_t n = line.find("\"name\": \"") + 9;
    QParams& q = m[line.substr(n, line.find('"', n) - n)];
    for (const std::string& t : list("scale")) q.scale.push_back(std::strtof(t.c_str(), nullptr));
    for (const std::string& t : list("zero_point")) q.zero_point.push_back(std::stoll(t));
  }
  return m;
}

tools::NpyArray npy(const std::string& rel) {
  tools::NpyArray a;
  std::string error;
  REQUIRE_MESSAGE(tools::read_npy(data(rel), &a, &error), error);
  return a;
}

// An .npz's arrays by name, or an .npy as one unnamed array.
std::vector<std::pair<std::string, tools::NpyArray>> arrays(const std::string& rel) {
  std::vector<std::pair<std::string, tools::NpyArray>> out;
  if (rel.size() > 4 && rel.compare(rel.size() - 4, 4, ".npz") == 0) {
    std::string error;
    REQUIRE_MESSAGE(convert::read_npz(data(rel), &out, &error), error);
  } else {
    out.emplace_back("", npy(rel));
  }
  return out;
}

struct Outcome {
  bool converted = false, ran = false;
  // % of bytes (or bit-identical floats); max|qrt - want| / max|want|; -1: not compared.
  // Relative to the largest |want|, not per element: sequence outputs cross
  // zero, where an element's relative error means nothing.
  double identical = -1, max_rel = -1;
  double ratio = -1;                    // max|qrt - want| / max|want - fp32|; -1: not compared
  long max_steps = -1;
  int qparams_same = 0, qparams_total = 0;
  int64_t qparams_ulps = 0;  // largest scale difference
  uintmax_t qrt_bytes = 0;
};

// Output `name` of the model, or its first output for an unnamed (.npy) reference.
const float* output(const Interpreter& it, const std::string& name, size_t n) {
  const int k = name.empty() ? 0 : it.output_index(name);
  REQUIRE_MESSAGE(k >= 0, "the model has no output '" << name << "'");
  qrt_tensor t;
  REQUIRE(it.output(k, &t));
  REQUIRE(t.dtype == QRT_F32);
  REQUIRE(t.bytes == n * 4);
  return static_cast<const float*>(t.data);
}

const float* floats(const tools::NpyArray& a) {
  REQUIRE(a.dtype == "f4");
  return reinterpret_cast<const float*>(a.data.data());
}

// Float outputs against want (an .npz: every output, by name); with fp32=,
// also the end-to-end ratio.
void compare_floats(const Row& row, const Interpreter& it, Outcome* o) {
  const auto want = arrays(row.key("want"));
  const auto fp32 = row.key("fp32").empty() ? want : arrays(row.key("fp32"));
  REQUIRE(fp32.size() == want.size());
  size_t same = 0, total = 0;
  double qrt_int8 = 0, int8_fp32 = 0, largest = 0;
  for (size_t a = 0; a < want.size(); ++a) {
    CAPTURE(want[a].first);
    const size_t n = want[a].second.data.size() / 4;
    REQUIRE(fp32[a].first == want[a].first);
    REQUIRE(fp32[a].second.data.size() == n * 4);
    const float *y = output(it, want[a].first, n), *w = floats(want[a].second), *f = floats(fp32[a].second);
    for (size_t i = 0; i < n; ++i) {
      same += std::memcmp(&y[i], &w[i], 4) == 0;
      const double err = std::fabs(static_cast<double>(y[i]) - w[i]);
      largest = std::max(largest, std::fabs(static_cast<double>(w[i])));
      qrt_int8 = std::max(qrt_int8, err);
      int8_fp32 = std::max(int8_fp32, std::fabs(static_cast<double>(w[i]) - f[i]));
    }
    total += n;
  }
  o->identical = 100.0 * static_cast<double>(same) / static_cast<double>(total);
  o->max_rel = largest > 0 ? qrt_int8 / largest : qrt_int8;
  if (!row.key("fp32").empty()) o->ratio = qrt_int8 / int8_fp32;
}

// The model's first output against a uint8 want on PyTorch's output grid
// (out=SCALE,ZP; the output is s * (q - zp), so dividing back recovers q
// exactly); float wants go to compare_floats.
void compare(const Row& row, const Interpreter& it, Outcome* o) {
  const bool npz = row.key("want").find(".npz") != std::string::npos;
  if (npz || npy(row.key("want")).dtype != "u1") return compare_floats(row, it, o);
  const tools::NpyArray want = npy(row.key("want"));
  const size_t n = want.data.size();
  const float* y = output(it, "", n);
  const std::vector<std::string> out = split(row.key("out"), ',');
  REQUIRE(out.size() == 2);
  const float s = std::strtof(out[0].c_str(), nullptr);
  const long zp = std::stol(out[1]);
  size_t same = 0;
  o->max_steps = 0;
  for (size_t i = 0; i < n; ++i) {
    const long q = std::clamp(zp + std::lrint(y[i] / s), 0L, 255L);
    const long d = std::labs(q - want.data[i]);
    same += d == 0;
    o->max_steps = std::max(o->max_steps, d);
  }
  o->identical = 100.0 * static_cast<double>(same) / static_cast<double>(n);
}

Outcome run_row(const Row& row, const TempDir& tmp) {
  Outcome o;
  const std::string qrt = tmp.file("m.qrt"), report = tmp.file("report.json");
  std::vector<std::string> args = {data(row.key("onnx")), "-o", qrt, "--report-json", report, "-q"};
  for (const std::string& a : split(row.key("args"), ','))
    args.push_back(!a.empty() && a[0] == '@' ? data(a.substr(1)) : a);
  const ToolResult r = run_tool({QRT_CONVERT_COMMAND}, args, tmp);
  CHECK_MESSAGE(r.code == 0, "qrt-convert: " << r.err);
  if (r.code != 0) return o;
  o.converted = true;
  o.qrt_bytes = std::filesystem::file_size(qrt);
  if (!row.key("qparams").empty()) {
    const auto ours = report_qparams(report);
    for (const auto& entry : pytorch_qparams(row.key("qparams"))) {
      // Not structured bindings: C++17 lambdas (the doctest macros') cannot
      // capture them.
      const std::string& name = entry.first;
      const QParams& want = entry.second;
      CAPTURE(name);
      auto it = ours.find(name);
      REQUIRE_MESSAGE(it != ours.end(), "qrt-convert reports no qparams for '" << name << "'");
      const QParams& got = it->second;
      REQUIRE(got.scale.size() == want.scale.size());
      int64_t far = 0;
      for (size_t c = 0; c < want.scale.size(); ++c) far = std::max(far, ulps(got.scale[c], want.scale[c]));
      CHECK(got.zero_point == want.zero_point);
      CHECK_MESSAGE(far <= kScaleUlps, "scale " << far << " ulps from PyTorch's observer");
      o.qparams_same += far == 0 && got.zero_point == want.zero_point;
      o.qparams_ulps = std::max(o.qparams_ulps, far);
      ++o.qparams_total;
    }
  }
  if (row.key("want").empty()) return o;
  Model model;
  Interpreter it;
  Status s = Model::from_file(qrt, &model);
  if (s.ok()) s = Interpreter::create(model, &it);
  int position = 0;
  for (const std::string& file : split(row.key("input"), ','))
    for (const auto& input : arrays(file)) {
      const std::string& name = input.first;
      const auto& x = input.second;
      const int k = name.empty() ? position++ : it.input_index(name);
      REQUIRE_MESSAGE(k >= 0, "the model has no input '" << name << "'");
      if (s.ok()) s = it.set_input(k, QRT_F32, x.data.data(), x.data.size());
    }
  if (s.ok()) s = it.invoke();
  CHECK_MESSAGE(s.ok(), s.message);
  if (!s.ok()) return o;
  o.ran = true;
  compare(row, it, &o);
  return o;
}

std::string cell(double v, const char* fmt) {
  if (v < 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

TEST_CASE("workflow parity: PyTorch's PTDQ, PTSQ, QAT and MobileNetV2 models through qrt-convert") {
  TempDir tmp("qrt-workflows");
  std::string table =
      "Parity with PyTorch 1.13 (tests/parity/make_workflows.py). Route a: PyTorch's quantized model as QDQ ONNX;\n"
      "b: fp32 ONNX + the calibration batches; dynamic: fp32 ONNX, --mode dynamic; fp32: the float model.\n"
      "identical: % of output bytes equal to the reference's (floats: bit-equal); max|d|: largest difference in\n"
      "quantization steps; max rel (floats): max|qrt - reference| / max|reference|; int8 ratio (PTDQ sequence\n"
      "models, at most 2%): max|qrt - PyTorch int8| / max|PyTorch int8 - PyTorch fp32|; qparams ulp: qparams\n"
      "exactly PyTorch's observers' / all, and the largest scale difference in float32 ulps.\n";
  char line[256];
  std::snprintf(line, sizeof(line), "%-13s %-7s %-7s %-28s %9s %6s %9s %10s %11s %10s\n", "model", "route",
                "profile", "reference", "identical", "max|d|", "max rel", "int8 ratio", "qparams ulp", ".qrt bytes");
  table += line;
  for (const Row& row : load_rows()) {
    CAPTURE(row.model);
    CAPTURE(row.route);
    CAPTURE(row.profile);
    CAPTURE(row.key("vs"));
    const Outcome o = run_row(row, tmp);
    // "exact/total ulps": qparams identical to PyTorch's, and the largest scale difference.
    const std::string qp = o.qparams_total ? std::to_string(o.qparams_same) + "/" + std::to_string(o.qparams_total) +
                                                 " " + std::to_string(o.qparams_ulps)
                                           : std::string("-");
    std::snprintf(line, sizeof(line), "%-13s %-7s %-7s %-28s %9s %6s %9s %10s %11s %10ju\n", row.model.c_str(),
                  row.route.c_str(), row.profile.c_str(), row.key("vs").c_str(),
                  o.converted && !row.key("want").empty() ? cell(o.identical, "%.2f%%").c_str() : "-",
                  o.max_steps < 0 ? "-" : std::to_string(o.max_steps).c_str(), cell(o.max_rel, "%.1e").c_str(),
                  cell(100 * o.ratio, "%.3f%%").c_str(), qp.c_str(), o.qrt_bytes);
    table += line;
    if (!row.key("identical").empty()) {
      CHECK(o.ran);
      CHECK(o.identical >= std::stod(row.key("identical")));
      CHECK(o.max_steps <= std::stol(row.key("steps")));
    }
    if (!row.key("rel").empty()) {
      CHECK(o.ran);
      CHECK(o.max_rel <= std::stod(row.key("rel")));
    }
    if (!row.key("ratio").empty()) {
      CHECK(o.ran);
      CHECK(o.ratio <= std::stod(row.key("ratio")));
    }
    if (!row.key("max_qrt_bytes").empty()) CHECK(o.qrt_bytes <= std::stoull(row.key("max_qrt_bytes")));
  }
  // Beside the test binary (build/<dir>/tests), wherever it is run from.
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::ofstream((ec ? std::filesystem::path(".") : exe.parent_path()) / "parity_table.txt") << table;
  MESSAGE(table);
}

}  // namespace
}  // namespace qrt::test
