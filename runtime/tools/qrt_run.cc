// qrt-run: runs a .qrt model once on .npy inputs, optionally saves the
// outputs as .npy, and prints a one-line summary. Uses only the public C API.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "npy.h"
#include "qrt/qrt.h"

namespace {

namespace fs = std::filesystem;
using qrt::tools::NpyArray;

constexpr int kExitFailure = 1;  // loading, running or writing failed
constexpr int kExitUsage = 2;    // the command line is wrong
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
    "  --threads N            worker threads for invoke (default: the library's)\n"
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
  std::fprintf(stderr, "qrt-run: %s\n", message.c_str());
  return code;
}

std::string library_error(qrt_status status) {
  const char* name = qrt_status_name(status);
  const char* message = qrt_last_error();
  std::string s = name ? name : "status " + std::to_string(static_cast<int>(status));
  if (message && *message) s += std::string(": ") + message;
  return s;
}

bool parse_threads(const std::string& value, int* threads) {
  if (value.empty() || value.size() > 4) return false;
  int n = 0;
  for (char ch : value) {
    if (ch < '0' || ch > '9') return false;
    n = n * 10 + (ch - '0');
  }
  if (n < 1 || n > kMaxThreads) return false;
  *threads = n;
  return true;
}

// Returns false with *error set on a malformed command line.
bool parse_args(int argc, char** argv, Args* args, std::string* error) {
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      if (!args->model.empty()) {
        *error = "unexpected argument '" + arg + "' (the model is '" + args->model +
                 "'; inputs go after --input)";
        return false;
      }
      args->model = arg;
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    const size_t eq = arg.find('=');
    const std::string flag = arg.substr(0, eq);
    if (flag == "--quiet") {
      if (eq != std::string::npos) {
        *error = "--quiet takes no value (got '" + arg + "')";
        return false;
      }
      args->quiet = true;
      continue;
    }
    if (flag != "--input" && flag != "--output-dir" && flag != "--threads") {
      *error = "unknown option '" + flag + "' (see qrt-run --help)";
      return false;
    }
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      value = argv[++i];
    }
    if (value.empty()) {
      *error = flag + " needs a value";
      return false;
    }
    if (flag == "--input") {
      args->inputs.push_back(value);
    } else if (flag == "--output-dir") {
      args->output_dir = value;
    } else if (!parse_threads(value, &args->threads)) {
      *error = "--threads needs an integer from 1 to " + std::to_string(kMaxThreads) + ", got '" +
               value + "'";
      return false;
    }
  }
  if (args->model.empty()) {
    *error = "no model given (usage: qrt-run MODEL.qrt [--input NAME=FILE.npy]...; see --help)";
    return false;
  }
  return true;
}

// The .npy dtype that holds a tensor of `dtype`, or nullptr.
const char* npy_dtype(qrt_dtype dtype) {
  switch (dtype) {
    case QRT_F32: return "f4";
    case QRT_U8: return "u1";
    case QRT_S8: return "i1";
    case QRT_I32: return "i4";
    case QRT_I64: return "i8";
  }
  return nullptr;
}

const char* numpy_name(qrt_dtype dtype) {
  switch (dtype) {
    case QRT_F32: return "float32";
    case QRT_U8: return "uint8";
    case QRT_S8: return "int8";
    case QRT_I32: return "int32";
    case QRT_I64: return "int64";
  }
  return "?";
}

// Our own names, so messages do not depend on the library's spelling.
std::string dtype_label(qrt_dtype dtype) {
  switch (dtype) {
    case QRT_F32: return "f32";
    case QRT_U8: return "u8";
    case QRT_S8: return "s8";
    case QRT_I32: return "i32";
    case QRT_I64: return "i64";
  }
  return "dtype " + std::to_string(static_cast<int>(dtype));
}

std::string npy_label(const std::string& dtype) {
  if (dtype == "f4") return "f32";
  if (dtype == "f8") return "f64";
  if (dtype == "u1") return "u8";
  if (dtype == "i1") return "s8";
  if (dtype == "i4") return "i32";
  if (dtype == "i8") return "i64";
  if (dtype == "b1") return "bool";
  return dtype;
}

std::vector<int64_t> tensor_shape(const qrt_tensor& t) {
  std::vector<int64_t> shape;
  for (int32_t i = 0; i < t.rank && i < QRT_MAX_RANK; ++i) shape.push_back(t.dims[i]);
  return shape;
}

std::string tensor_name(const qrt_tensor& t) {
  return t.name ? t.name : "";
}

// The shortest decimal that reads back as the same float (9 digits always do).
std::string format_float(float v) {
  char buf[32];
  for (int digits = 6; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*g", digits, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return buf;
}

// "'image' u8 (1, 224, 224, 3) scale 0.0078125 zp 128"
std::string describe(const qrt_tensor& t) {
  std::string s = "'" + tensor_name(t) + "' " + dtype_label(t.dtype) + " " +
                  qrt::tools::npy_shape_string(tensor_shape(t));
  if (t.scale != 0.0f) {
    s += " scale " + format_float(t.scale) + " zp " + std::to_string(t.zero_point);
  }
  return s;
}

std::string format_bytes(size_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof(buf), "%zu B", bytes);
  } else if (bytes < 1024 * 1024) {
    std::snprintf(buf, sizeof(buf), "%.1f KiB", static_cast<double>(bytes) / 1024.0);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  }
  return buf;
}

std::string plural(size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
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

struct ModelFree {
  void operator()(qrt_model* m) const { qrt_model_free(m); }
};
struct InterpreterFree {
  void operator()(qrt_interpreter* i) const { qrt_interpreter_free(i); }
};

struct Binding {
  std::string arg;   // "--input image=x.npy", for messages
  std::string file;  // empty: not given
};

// Matches --input values to model inputs: NAME=FILE first, then bare files
// in model order into the inputs still free.
bool bind_inputs(const Args& args, qrt_interpreter* interp, const std::vector<qrt_tensor>& inputs,
                 std::vector<Binding>* bindings, std::string* error) {
  bindings->assign(inputs.size(), Binding{});
  std::string names;
  for (const qrt_tensor& t : inputs) names += (names.empty() ? "'" : ", '") + tensor_name(t) + "'";
  std::vector<std::string> bare;
  for (const std::string& value : args.inputs) {
    const std::string arg = "--input " + value;
    const size_t eq = value.find('=');
    if (eq == std::string::npos) {
      bare.push_back(value);
      continue;
    }
    const std::string name = value.substr(0, eq);
    const int32_t index = qrt_input_index(interp, name.c_str());
    if (index < 0 || static_cast<size_t>(index) >= inputs.size()) {
      std::error_code ec;
      if (fs::is_regular_file(value, ec)) {  // a file whose name contains '='
        bare.push_back(value);
        continue;
      }
      *error = arg + ": the model has no input '" + name + "' (its inputs: " + names + ")";
      return false;
    }
    Binding& b = (*bindings)[static_cast<size_t>(index)];
    if (!b.file.empty()) {
      *error = arg + ": input '" + name + "' is already given by " + b.arg;
      return false;
    }
    b.arg = arg;
    b.file = value.substr(eq + 1);
    if (b.file.empty()) {
      *error = arg + ": no file after '='";
      return false;
    }
  }
  size_t next = 0;
  for (const std::string& file : bare) {
    while (next < bindings->size() && !(*bindings)[next].file.empty()) ++next;
    if (next == bindings->size()) {
      *error = "--input " + file + ": the model has " + plural(inputs.size(), "input") +
               " and all are given already";
      return false;
    }
    (*bindings)[next].arg = "--input " + file;
    (*bindings)[next].file = file;
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if ((*bindings)[i].file.empty()) {
      *error = "input " + describe(inputs[i]) + " is not given; use --input " +
               tensor_name(inputs[i]) + "=FILE.npy";
      return false;
    }
  }
  return true;
}

// Checks an .npy against the model input it is bound to.
bool check_input(const Binding& b, const NpyArray& a, const qrt_tensor& t, std::string* error) {
  const char* want = npy_dtype(t.dtype);
  const std::string name = tensor_name(t);
  if (!want || a.dtype != want) {
    *error = b.arg + ": dtype " + npy_label(a.dtype) + " does not match the model input '" + name +
             "' dtype " + dtype_label(t.dtype);
    const bool quantized = (t.dtype == QRT_U8 || t.dtype == QRT_S8) && t.scale != 0.0f;
    if (quantized && (a.dtype == "f4" || a.dtype == "f8")) {
      const bool u8 = t.dtype == QRT_U8;
      *error += "; the input is quantized: give np.clip(np.round(x / " + format_float(t.scale) +
                ") + " + std::to_string(t.zero_point) +
                (u8 ? ", 0, 255).astype(np.uint8)" : ", -128, 127).astype(np.int8)");
    } else {
      *error += std::string("; convert it with a.astype(np.") + numpy_name(t.dtype) + ")";
    }
    return false;
  }
  const std::vector<int64_t> shape = tensor_shape(t);
  if (a.shape != shape) {
    *error = b.arg + ": shape " + qrt::tools::npy_shape_string(a.shape) +
             " does not match the model input '" + name + "' shape " +
             qrt::tools::npy_shape_string(shape);
    return false;
  }
  return true;
}

int run(const Args& args) {
  std::error_code ec;
  if (!fs::is_regular_file(args.model, ec)) {
    return report(
        kExitUsage,
        args.model + ": " + (fs::exists(args.model, ec) ? "not a regular file" : "no such file"));
  }
  qrt_model* raw_model = nullptr;
  qrt_status status = qrt_model_from_file(args.model.c_str(), &raw_model);
  std::unique_ptr<qrt_model, ModelFree> model(raw_model);
  if (status != QRT_OK) {
    return report(kExitFailure, "cannot load " + args.model + ": " + library_error(status));
  }

  qrt_options options;
  qrt_options_init(&options);
  if (args.threads > 0) options.threads = args.threads;
  qrt_interpreter* raw_interp = nullptr;
  status = qrt_interpreter_create(model.get(), &options, &raw_interp);
  std::unique_ptr<qrt_interpreter, InterpreterFree> interp(raw_interp);
  if (status != QRT_OK) {
    return report(kExitFailure, "cannot prepare " + args.model + ": " + library_error(status));
  }

  std::vector<qrt_tensor> inputs(static_cast<size_t>(std::max(0, qrt_input_count(interp.get()))));
  for (size_t i = 0; i < inputs.size(); ++i) {
    status = qrt_input(interp.get(), static_cast<int32_t>(i), &inputs[i]);
    if (status != QRT_OK) {
      return report(kExitFailure, "input " + std::to_string(i) + ": " + library_error(status));
    }
  }
  if (args.inputs.empty() && !inputs.empty()) {
    std::string message = args.model + " takes " + plural(inputs.size(), "input") +
                          "; give each with --input NAME=FILE.npy:";
    for (const qrt_tensor& t : inputs) message += "\n  " + describe(t);
    return report(kExitUsage, message);
  }
  std::vector<Binding> bindings;
  std::string error;
  if (!bind_inputs(args, interp.get(), inputs, &bindings, &error)) return report(kExitUsage, error);
  for (const Binding& b : bindings) {
    if (!fs::is_regular_file(b.file, ec)) {
      return report(
          kExitUsage,
          b.arg + ": " + (fs::exists(b.file, ec) ? "not a regular file" : "no such file"));
    }
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    NpyArray a;
    if (!qrt::tools::read_npy(bindings[i].file, &a, &error)) {
      return report(kExitFailure, bindings[i].arg + ": " + error);
    }
    if (!check_input(bindings[i], a, inputs[i], &error)) return report(kExitFailure, error);
    status = qrt_set_input(interp.get(), static_cast<int32_t>(i), inputs[i].dtype, a.data.data(),
                           a.data.size());
    if (status != QRT_OK) {
      return report(kExitFailure, bindings[i].arg + ": " + library_error(status));
    }
  }

  const auto start = std::chrono::steady_clock::now();
  status = qrt_invoke(interp.get());
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
    std::error_code create_ec;
    fs::create_directories(args.output_dir, create_ec);
    if (!fs::is_directory(args.output_dir, ec)) {
      return report(kExitFailure, "cannot create the output directory " + args.output_dir +
                                      (create_ec ? ": " + create_ec.message() : ""));
    }
    const std::vector<std::string> files = output_file_names(outputs);
    for (size_t i = 0; i < outputs.size(); ++i) {
      const qrt_tensor& t = outputs[i];
      const char* dtype = npy_dtype(t.dtype);
      if (!dtype) {
        return report(kExitFailure, "output " + describe(t) + " has a dtype .npy cannot hold");
      }
      if (t.rank < 0 || t.rank > QRT_MAX_RANK) {
        return report(kExitFailure,
                      "output '" + tensor_name(t) + "' has rank " + std::to_string(t.rank));
      }
      if (t.bytes > 0 && !t.data) {
        return report(kExitFailure, "output '" + tensor_name(t) + "' has no data");
      }
      NpyArray a;
      a.dtype = dtype;
      a.shape = tensor_shape(t);
      const auto* data = static_cast<const uint8_t*>(t.data);
      a.data.assign(data, data + t.bytes);
      const std::string path = (fs::path(args.output_dir) / files[i]).string();
      if (!qrt::tools::write_npy(path, a, &error)) {
        return report(kExitFailure, "output '" + tensor_name(t) + "': " + error);
      }
    }
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
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  Args args;
  std::string error;
  if (!parse_args(argc, argv, &args, &error)) return report(kExitUsage, error);
  return run(args);
}
