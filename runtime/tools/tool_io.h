// What the command-line tools (qrt-run, qrt-bench) share: their command-line
// conventions, how they present qrt tensors and library errors, and how they
// bind --input NAME=FILE.npy values to a model's inputs and check each .npy
// against the input it feeds. Uses only the public C API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "npy.h"
#include "qrt/qrt.h"

namespace qrt::tools {

// Exit status of every tool.
constexpr int kExitFailure = 1;  // loading, running or writing failed
constexpr int kExitUsage = 2;    // the command line is wrong

// Prints "<tool>: <message>" as one line on stderr; returns `exit_code`.
int report(const char* tool, int exit_code, const std::string& message);

// The last library error: "<status name>: <qrt_last_error()>".
std::string library_error(qrt_status status);

// ---- Command line ----

// A tool's command line: `MODEL [flags]`.
struct CommandLine {
  const char* tool;                   // "qrt-run": the prefix of every message
  const char* usage;                  // the --help text
  const char* synopsis;               // for "no model given (usage: <synopsis>; see --help)"
  std::vector<std::string> switches;  // flags that take no value, e.g. "--quiet"
  std::vector<std::string> options;   // flags that take one, e.g. "--input"
};

// Called for each flag in command-line order with its value ("" for a
// switch); returns false with *error set when the value is bad.
using OptionHandler =
    std::function<bool(const std::string& flag, const std::string& value, std::string* error)>;

// Parses the tools' common command line: one MODEL (any argument not starting
// with '-', and everything after "--"), switches, and options whose value
// follows '=' or is the next argument unless that starts with "--". Stops at
// the first error with *error set.
bool parse_command_line(int argc, char** argv, const CommandLine& spec, std::string* model,
                        const OptionHandler& on_option, std::string* error);

// An option's whole-number value: digits only (no sign, no spaces), within
// [lo, hi]. Otherwise false with *error "<flag> needs an integer from <lo> to
// <hi>, got '<value>'".
bool parse_count(const std::string& flag, const std::string& value, uint64_t lo, uint64_t hi,
                 uint64_t* out, std::string* error);

// -h or --help before any "--": prints `usage` on stdout and returns 0. No
// arguments at all: prints it on stderr and returns kExitUsage. Otherwise
// returns -1: go on.
int help_exit_code(int argc, char** argv, const char* usage);

// A tool's main(). -h/--help or no arguments print the usage; otherwise
// parses the command line into an `Args` (which has a std::string `model`),
// handing each flag to `set_flag`, reports a bad command line as a usage
// error, and returns what `run` returns.
template <typename Args>
int tool_main(int argc, char** argv, const CommandLine& spec,
              bool (*set_flag)(Args* args, const std::string& flag, const std::string& value,
                               std::string* error),
              int (*run)(const Args& args)) {
  const int help_code = help_exit_code(argc, argv, spec.usage);
  if (help_code >= 0) return help_code;
  Args args;
  const auto on_option = [&args, set_flag](const std::string& flag, const std::string& value,
                                           std::string* error) {
    return set_flag(&args, flag, value, error);
  };
  std::string error;
  if (!parse_command_line(argc, argv, spec, &args.model, on_option, &error)) {
    return report(spec.tool, kExitUsage, error);
  }
  return run(args);
}

// ---- Files ----

// Why `path` cannot be read as a file ("no such file", "not a regular
// file"), or "" when it is a regular file.
std::string file_problem(const std::string& path);

// ---- Presenting tensors ----

// The .npy dtype that holds a tensor of `dtype` ("u1"), or nullptr.
const char* npy_dtype(qrt_dtype dtype);
// NumPy's name of `dtype` ("uint8"), or "?".
const char* numpy_name(qrt_dtype dtype);
// An .npy dtype in the library's spelling ("u1" -> "u8", "i1" -> "s8").
std::string npy_label(const std::string& dtype);

std::vector<int64_t> tensor_shape(const qrt_tensor& t);
std::string tensor_name(const qrt_tensor& t);

// The shortest decimal that reads back as the same float (9 digits always do).
std::string format_float(float v);
// "'image' u8 (1, 224, 224, 3) scale 0.0078125 zp 128"; dtypes are named by
// qrt_dtype_name(), here and in every message.
std::string describe(const qrt_tensor& t);
// "512 B", "1.5 KiB", "3.4 MiB".
std::string format_bytes(uint64_t bytes);
// "1 input", "2 inputs".
std::string plural(size_t n, const char* word);

// ---- The model ----

struct ModelFree {
  void operator()(qrt_model* m) const { qrt_model_free(m); }
};
struct InterpreterFree {
  void operator()(qrt_interpreter* i) const { qrt_interpreter_free(i); }
};
using ModelPtr = std::unique_ptr<qrt_model, ModelFree>;
using InterpreterPtr = std::unique_ptr<qrt_interpreter, InterpreterFree>;

// qrt_model_from_file; the error says "cannot load <path>: ...".
bool load_model(const std::string& path, ModelPtr* model, std::string* error);
// qrt_interpreter_create; the error says "cannot prepare <path>: ...".
bool create_interpreter(const qrt_model* model, const qrt_options& options, const std::string& path,
                        InterpreterPtr* interp, std::string* error);
// Every input of `interp`, in model order.
bool input_tensors(const qrt_interpreter* interp, std::vector<qrt_tensor>* inputs,
                   std::string* error);

// ---- Inputs from .npy files ----

struct Binding {
  std::string arg;   // "--input image=x.npy", for messages
  std::string file;  // empty: not given
};

// Matches --input values to model inputs: NAME=FILE first, then bare files
// in model order into the inputs still free. With `require_all`, an input
// left free is an error. Then checks that every file given exists. Errors
// here are the command line's (kExitUsage).
bool bind_inputs(const std::vector<std::string>& values, const qrt_interpreter* interp,
                 const std::vector<qrt_tensor>& inputs, bool require_all,
                 std::vector<Binding>* bindings, std::string* error);

// Checks an .npy against the model input it is bound to: dtype, then shape.
bool check_input(const Binding& b, const NpyArray& a, const qrt_tensor& t, std::string* error);

// Reads the file of `b` and checks it against `t`; errors start with b.arg.
bool read_input(const Binding& b, const qrt_tensor& t, NpyArray* a, std::string* error);

}  // namespace qrt::tools
