// Issue 6's parity table: PyTorch 1.13's eager-mode workflows (PTDQ, PTSQ,
// QAT, MobileNetV2) taken to a .qrt by qrt-convert and run, against PyTorch's
// own bytes (tests/parity/make_workflows.py writes the fixtures and
// tests/data/parity/workflows/cases.txt, one table row a line). Route (a) is
// PyTorch's quantized model exported as QDQ ONNX; route (b) the fp32 ONNX
// calibrated on the same batches, whose qparams must also be the observers'.
// The table goes to the test log and to parity_table.txt beside the test
// binary (build/<dir>/tests), which tests/run_all.sh prints.
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

struct Outcome {
  bool converted = false, ran = false;
  double identical = -1, max_rel = -1;  // % of bytes (or bit-identical floats); -1: not compared
  long max_steps = -1;
  int qparams_same = 0, qparams_total = 0;
  int64_t qparams_ulps = 0;  // largest scale difference
  uintmax_t qrt_bytes = 0;
};

// The model's first output against want: uint8 bytes on PyTorch's output
// grid (out=SCALE,ZP; the output is s * (q - zp), so dividing back recovers q
// exactly), or floats.
void compare(const Row& row, const qrt_tensor& t, Outcome* o) {
  const tools::NpyArray want = npy(row.key("want"));
  const size_t n = want.data.size() / (want.dtype == "u1" ? 1 : 4);
  REQUIRE(t.dtype == QRT_F32);
  REQUIRE(t.bytes == n * 4);
  const float* y = static_cast<const float*>(t.data);
  size_t same = 0;
  if (want.dtype == "u1") {
    const std::vector<std::string> out = split(row.key("out"), ',');
    REQUIRE(out.size() == 2);
    const float s = std::strtof(out[0].c_str(), nullptr);
    const long zp = std::stol(out[1]);
    o->max_steps = 0;
    for (size_t i = 0; i < n; ++i) {
      const long q = std::clamp(zp + std::lrint(y[i] / s), 0L, 255L);
      const long d = std::labs(q - want.data[i]);
      same += d == 0;
      o->max_steps = std::max(o->max_steps, d);
    }
  } else {
    REQUIRE(want.dtype == "f4");
    const float* w = reinterpret_cast<const float*>(want.data.data());
    o->max_rel = 0;
    for (size_t i = 0; i < n; ++i) {
      same += std::memcmp(&y[i], &w[i], 4) == 0;
      const double err = std::fabs(static_cast<double>(y[i]) - w[i]);
      o->max_rel = std::max(o->max_rel, w[i] == 0 ? err : err / std::fabs(static_cast<double>(w[i])));
    }
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
    for (const auto& [name, want] : pytorch_qparams(row.key("qparams"))) {
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
  const std::vector<std::string> inputs = split(row.key("input"), ',');
  for (size_t i = 0; s.ok() && i < inputs.size(); ++i) {
    const tools::NpyArray x = npy(inputs[i]);
    s = it.set_input(static_cast<int>(i), QRT_F32, x.data.data(), x.data.size());
  }
  if (s.ok()) s = it.invoke();
  qrt_tensor t;
  if (s.ok()) s = it.output(0, &t);
  CHECK_MESSAGE(s.ok(), s.message);
  if (!s.ok()) return o;
  o.ran = true;
  compare(row, t, &o);
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
      "b: fp32 ONNX + the calibration batches. identical: % of output bytes equal to the reference's (floats:\n"
      "bit-equal); max|d|: largest difference in quantization steps; qparams ulp: qparams exactly PyTorch's\n"
      "observers' / all, and the largest scale difference in float32 ulps.\n";
  char line[256];
  std::snprintf(line, sizeof(line), "%-13s %-7s %-7s %-28s %9s %6s %9s %11s %10s\n", "model", "route", "profile",
                "reference", "identical", "max|d|", "max rel", "qparams ulp", ".qrt bytes");
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
    std::snprintf(line, sizeof(line), "%-13s %-7s %-7s %-28s %9s %6s %9s %11s %10ju\n", row.model.c_str(),
                  row.route.c_str(), row.profile.c_str(), row.key("vs").c_str(),
                  o.converted && !row.key("want").empty() ? cell(o.identical, "%.2f%%").c_str() : "-",
                  o.max_steps < 0 ? "-" : std::to_string(o.max_steps).c_str(), cell(o.max_rel, "%.1e").c_str(),
                  qp.c_str(), o.qrt_bytes);
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
