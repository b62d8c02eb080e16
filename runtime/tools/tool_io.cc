#include "tool_io.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace qrt::tools {

namespace fs = std::filesystem;

int report(const char* tool, int exit_code, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", tool, message.c_str());
  return exit_code;
}

std::string library_error(qrt_status status) {
  const char* name = qrt_status_name(status);
  const char* message = qrt_last_error();
  std::string s = name ? name : "status " + std::to_string(static_cast<int>(status));
  if (message && *message) s += std::string(": ") + message;
  return s;
}

bool parse_command_line(int argc, char** argv, const CommandLine& spec, std::string* model,
                        const OptionHandler& on_option, std::string* error) {
  const auto is_one_of = [](const std::string& flag, const std::vector<std::string>& flags) {
    return std::find(flags.begin(), flags.end(), flag) != flags.end();
  };
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      if (!model->empty()) {
        *error = "unexpected argument '" + arg + "' (the model is '" + *model +
                 "'; inputs go after --input)";
        return false;
      }
      *model = arg;
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    const size_t eq = arg.find('=');
    const std::string flag = arg.substr(0, eq);
    if (is_one_of(flag, spec.switches)) {
      if (eq != std::string::npos) {
        *error = flag + " takes no value (got '" + arg + "')";
        return false;
      }
      if (!on_option(flag, "", error)) return false;
      continue;
    }
    if (!is_one_of(flag, spec.options)) {
      *error = "unknown option '" + flag + "' (see " + spec.tool + " --help)";
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
    if (!on_option(flag, value, error)) return false;
  }
  if (model->empty()) {
    *error = std::string("no model given (usage: ") + spec.synopsis + "; see --help)";
    return false;
  }
  return true;
}

bool parse_count(const std::string& flag, const std::string& value, uint64_t lo, uint64_t hi,
                 uint64_t* out, std::string* error) {
  bool ok = !value.empty() && value.size() <= 10;  // 10 digits hold any uint32
  uint64_t n = 0;
  for (size_t i = 0; ok && i < value.size(); ++i) {
    const char ch = value[i];
    ok = ch >= '0' && ch <= '9';
    n = n * 10 + static_cast<uint64_t>(ch - '0');
  }
  if (!ok || n < lo || n > hi) {
    *error = flag + " needs an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
             ", got '" + value + "'";
    return false;
  }
  *out = n;
  return true;
}

int help_exit_code(int argc, char** argv, const char* usage) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage, stdout);
      return 0;
    }
  }
  if (argc < 2) {
    std::fputs(usage, stderr);
    return kExitUsage;
  }
  return -1;
}

std::string file_problem(const std::string& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return "";
  return fs::exists(path, ec) ? "not a regular file" : "no such file";
}

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

std::string format_float(float v) {
  char buf[32];
  for (int digits = 6; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*g", digits, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return buf;
}

std::string describe(const qrt_tensor& t) {
  std::string s = "'" + tensor_name(t) + "' " + qrt_dtype_name(t.dtype) + " " +
                  npy_shape_string(tensor_shape(t));
  if (t.scale != 0.0f) {
    s += " scale " + format_float(t.scale) + " zp " + std::to_string(t.zero_point);
  }
  return s;
}

std::string format_bytes(uint64_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(bytes));
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

bool load_model(const std::string& path, ModelPtr* model, std::string* error) {
  qrt_model* raw = nullptr;
  const qrt_status status = qrt_model_from_file(path.c_str(), &raw);
  model->reset(raw);
  if (status != QRT_OK) {
    *error = "cannot load " + path + ": " + library_error(status);
    return false;
  }
  return true;
}

bool create_interpreter(const qrt_model* model, const qrt_options& options, const std::string& path,
                        InterpreterPtr* interp, std::string* error) {
  qrt_interpreter* raw = nullptr;
  const qrt_status status = qrt_interpreter_create(model, &options, &raw);
  interp->reset(raw);
  if (status != QRT_OK) {
    *error = "cannot prepare " + path + ": " + library_error(status);
    return false;
  }
  return true;
}

bool input_tensors(const qrt_interpreter* interp, std::vector<qrt_tensor>* inputs,
                   std::string* error) {
  inputs->assign(static_cast<size_t>(std::max(0, qrt_input_count(interp))), qrt_tensor{});
  for (size_t i = 0; i < inputs->size(); ++i) {
    const qrt_status status = qrt_input(interp, static_cast<int32_t>(i), &(*inputs)[i]);
    if (status != QRT_OK) {
      *error = "input " + std::to_string(i) + ": " + library_error(status);
      return false;
    }
  }
  return true;
}

bool bind_inputs(const std::vector<std::string>& values, const qrt_interpreter* interp,
                 const std::vector<qrt_tensor>& inputs, bool require_all,
                 std::vector<Binding>* bindings, std::string* error) {
  bindings->assign(inputs.size(), Binding{});
  std::string names;
  for (const qrt_tensor& t : inputs) names += (names.empty() ? "'" : ", '") + tensor_name(t) + "'";
  if (names.empty()) names = "none";
  std::vector<std::string> bare;
  for (const std::string& value : values) {
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
  for (size_t i = 0; require_all && i < inputs.size(); ++i) {
    if ((*bindings)[i].file.empty()) {
      *error = "input " + describe(inputs[i]) + " is not given; use --input " +
               tensor_name(inputs[i]) + "=FILE.npy";
      return false;
    }
  }
  for (const Binding& b : *bindings) {
    const std::string problem = b.file.empty() ? "" : file_problem(b.file);
    if (!problem.empty()) {
      *error = b.arg + ": " + problem;
      return false;
    }
  }
  return true;
}

bool check_input(const Binding& b, const NpyArray& a, const qrt_tensor& t, std::string* error) {
  const char* want = npy_dtype(t.dtype);
  const std::string name = tensor_name(t);
  if (!want || a.dtype != want) {
    *error = b.arg + ": dtype " + npy_label(a.dtype) + " does not match the model input '" + name +
             "' dtype " + qrt_dtype_name(t.dtype);
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
    *error = b.arg + ": shape " + npy_shape_string(a.shape) + " does not match the model input '" +
             name + "' shape " + npy_shape_string(shape);
    return false;
  }
  return true;
}

bool read_input(const Binding& b, const qrt_tensor& t, NpyArray* a, std::string* error) {
  if (!read_npy(b.file, a, error)) {
    *error = b.arg + ": " + *error;
    return false;
  }
  return check_input(b, *a, t, error);
}

}  // namespace qrt::tools
