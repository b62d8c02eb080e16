// qrt-run: runs a .qrt model once on .npy inputs, optionally saves the
// outputs as .npy, and prints a one-line summary. Uses only the public C API.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "npy.h"
#include "qrt/qrt.h"
#include "tool_io.h"

namespace {

namespace fs = std::filesystem;
using namespace qrt::tools;

constexpr const char* kTool = "qrt-run";
constexpr int kMaxThreads = 1024;
// Leaves room for a "_<n>" suffix and ".npy" within NAME_MAX (255).
constexpr size_t kMaxStemChars = 200;

constexpr const char* kUsage =
    "usage: qrt-run MODEL.qrt [--input NAME=FILE.npy]... [--output-dir DIR] [--threads N] "
    "[--quiet]\n"
    "\n"
    "Runs MODEL.qrt once on the given inputs and prints a one-line summary.\n"
    "\n"
    "  --input NAME=FILE.npy  data for the model input NAME. A FILE.npy without NAME=\n"
    "                         fills the inputs not given by name, in model order.\n"
    "                         Dtype and shape must match the input exactly; quantized\n"
    "                         inputs take their u8/s8 values, not floats.\n"
    "  --output-dir DIR       write each output to DIR/<output name>.npy (DIR is created;\n"
    "                         characters other than A-Z a-z 0-9 . _ - become '_')\n"
    "  --threads N            threads for invoke, the caller's included (default 1; at most\n"
    "                         one per core is used)\n"
    "  --quiet                print nothing on success\n"
    "  -h, --help             show this help\n"
    "\n"
    "Run without --input to list the model's inputs.\n"
    "Exit status: 0 success, 1 loading, running or writing failed, 2 command-line error.\n";

struct Args {
  std::string model;
  std::vector<std::string> inputs;  // --input values in order
  std::string output_dir;           // empty: do not write outputs
  int threads = 0;                  // 0: the library's default
  bool quiet = false;
};

int report(int code, const std::string& message) {
  return qrt::tools::report(kTool, code, message);
}

// One flag of the command line, its form already checked.
bool set_flag(Args* args, const std::string& flag, const std::string& value, std::string* error) {
  if (flag == "--input") {
    args->inputs.push_back(value);
  } else if (flag == "--output-dir") {
    args->output_dir = value;
  } else if (flag == "--quiet") {
    args->quiet = true;
  } else {
    uint64_t threads = 0;
    if (!parse_count(flag, value, 1, kMaxThreads, &threads, error)) return false;
    args->threads = static_cast<int>(threads);
  }
  return true;
}

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// A file name for each output: unsafe characters become '_', no leading dot,
// and names that collide (ignoring case, for FAT-backed storage) get a suffix.
std::vector<std::string> output_file_names(const std::vector<qrt_tensor>& outputs) {
  std::vector<std::string> names;
  std::set<std::string> used;
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::string stem;
    for (char ch : tensor_name(outputs[i])) {
      const bool safe =
          std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
      stem += safe ? ch : '_';
    }
    if (stem.size() > kMaxStemChars) stem.resize(kMaxStemChars);
    if (stem.empty()) stem = "output" + std::to_string(i);
    if (stem[0] == '.') stem[0] = '_';
    std::string candidate = stem;
    for (int k = 1; used.count(lower(candidate)); ++k) candidate = stem + "_" + std::to_string(k);
    used.insert(lower(candidate));
    names.push_back(candidate + ".npy");
  }
  return names;
}

// The .npy array of one output; false with *problem set when it cannot be one.
bool output_array(const qrt_tensor& t, NpyArray* a, std::string* problem) {
  const char* dtype = npy_dtype(t.dtype);
  if (!dtype) {
    *problem = "output " + describe(t) + " has a dtype .npy cannot hold";
    return false;
  }
  if (t.rank < 0 || t.rank > QRT_MAX_RANK) {
    *problem = "output '" + tensor_name(t) + "' has rank " + std::to_string(t.rank);
    return false;
  }
  if (t.bytes > 0 && !t.data) {
    *problem = "output '" + tensor_name(t) + "' has no data";
    return false;
  }
  a->dtype = dtype;
  a->shape = tensor_shape(t);
  const auto* data = static_cast<const uint8_t*>(t.data);
  a->data.assign(data, data + t.bytes);
  return true;
}

// Writes every output to dir/<name>.npy, all or nothing: the files go to a
// staging folder inside dir first and are moved into place (renames within
// one folder) only once all of them are complete, so a full disk or a write
// error leaves no partial .npy and no mix of new and old outputs. A folder
// this call created is removed again on failure. Returns "" or the problem.
std::string write_outputs(const std::string& dir, const std::vector<qrt_tensor>& outputs) {
  std::error_code ec;
  const bool existed = fs::exists(dir, ec);
  std::error_code create_ec;
  fs::create_directories(dir, create_ec);
  if (!fs::is_directory(dir, ec))
    return "cannot create the output directory " + dir +
           (create_ec ? ": " + create_ec.message() : existed ? ": not a directory" : "");
  auto undo = [&](const std::string& staging) {
    if (!staging.empty()) fs::remove_all(staging, ec);
    if (!existed) fs::remove(dir, ec);  // only if still empty
  };
  // A leading dot: output_file_names() never makes one, so no clash.
  std::string staging = (fs::path(dir) / ".qrt-run-XXXXXX").string();
  if (!mkdtemp(staging.data())) {
    const std::string why = std::strerror(errno);
    undo("");
    return "cannot write to the output directory " + dir + ": " + why;
  }
  const std::vector<std::string> files = output_file_names(outputs);
  for (size_t i = 0; i < outputs.size(); ++i) {
    NpyArray a;
    std::string problem;
    if (!output_array(outputs[i], &a, &problem) ||
        !qrt::tools::write_npy((fs::path(staging) / files[i]).string(), a, &problem)) {
      undo(staging);
      // Name the file the user asked for, not the staging one.
      for (size_t at = problem.find(staging); at != std::string::npos; at = problem.find(staging))
        problem.replace(at, staging.size(), dir);
      return "output '" + tensor_name(outputs[i]) + "': " + problem;
    }
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const fs::path to = fs::path(dir) / files[i];
    fs::rename(fs::path(staging) / files[i], to, ec);
    if (ec) {
      const std::string why = ec.message();
      undo(staging);
      return "output '" + tensor_name(outputs[i]) + "': cannot move it into place as " +
             to.string() + ": " + why;
    }
  }
  fs::remove(staging, ec);
  return "";
}

int run(const Args& args) {
  const std::string problem = file_problem(args.model);
  if (!problem.empty()) return report(kExitUsage, args.model + ": " + problem);
  std::string error;
  ModelPtr model;
  if (!load_model(args.model, &model, &error)) return report(kExitFailure, error);

  qrt_options options;
  qrt_options_init(&options);
  if (args.threads > 0) options.threads = args.threads;
  InterpreterPtr interp;
  if (!create_interpreter(model.get(), options, args.model, &interp, &error)) {
    return report(kExitFailure, error);
  }

  std::vector<qrt_tensor> inputs;
  if (!input_tensors(interp.get(), &inputs, &error)) return report(kExitFailure, error);
  if (args.inputs.empty() && !inputs.empty()) {
    std::string message = args.model + " takes " + plural(inputs.size(), "input") +
                          "; give each with --input NAME=FILE.npy:";
    for (const qrt_tensor& t : inputs) message += "\n  " + describe(t);
    return report(kExitUsage, message);
  }
  std::vector<Binding> bindings;
  if (!bind_inputs(args.inputs, interp.get(), inputs, /*require_all=*/true, &bindings, &error)) {
    return report(kExitUsage, error);
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    NpyArray a;
    if (!read_input(bindings[i], inputs[i], &a, &error)) return report(kExitFailure, error);
    const qrt_status status = qrt_set_input(interp.get(), static_cast<int32_t>(i), inputs[i].dtype,
                                            a.data.data(), a.data.size());
    if (status != QRT_OK) {
      return report(kExitFailure, bindings[i].arg + ": " + library_error(status));
    }
  }

  const auto start = std::chrono::steady_clock::now();
  qrt_status status = qrt_invoke(interp.get());
  const auto stop = std::chrono::steady_clock::now();
  if (status != QRT_OK) return report(kExitFailure, "invoke failed: " + library_error(status));
  const double ms = std::chrono::duration<double, std::milli>(stop - start).count();

  qrt_memory_info memory{};
  status = qrt_memory(interp.get(), &memory);
  if (status != QRT_OK) return report(kExitFailure, "memory info: " + library_error(status));

  std::vector<qrt_tensor> outputs(static_cast<size_t>(std::max(0, qrt_output_count(interp.get()))));
  for (size_t i = 0; i < outputs.size(); ++i) {
    status = qrt_output(interp.get(), static_cast<int32_t>(i), &outputs[i]);
    if (status != QRT_OK) {
      return report(kExitFailure, "output " + std::to_string(i) + ": " + library_error(status));
    }
  }

  if (!args.output_dir.empty()) {
    const std::string write_problem = write_outputs(args.output_dir, outputs);
    if (!write_problem.empty()) return report(kExitFailure, write_problem);
  }

  if (!args.quiet) {
    char invoke_time[32];
    std::snprintf(invoke_time, sizeof(invoke_time), "%.3f ms", ms);
    std::string line = "qrt-run: " + args.model + "  " + plural(inputs.size(), "input") + ", " +
                       plural(outputs.size(), "output") + "  threads " +
                       std::to_string(options.threads) + "  invoke " + invoke_time + "  arena " +
                       format_bytes(memory.total_bytes);
    for (size_t i = 0; i < outputs.size(); ++i)
      line += "  out" + std::to_string(i) + " " + describe(outputs[i]);
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const CommandLine command_line{kTool,
                                 kUsage,
                                 "qrt-run MODEL.qrt [--input NAME=FILE.npy]...",
                                 {"--quiet"},
                                 {"--input", "--output-dir", "--threads"}};
  return tool_main(argc, argv, command_line, set_flag, run);
}
