// Thin header-only C++ wrapper over the C API (qrt.h): RAII handles and
// std::string errors. Throws nothing; every fallible call returns a Status.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "qrt/qrt.h"

namespace qrt {

struct Status {
  qrt_status code = QRT_OK;
  std::string message;
  bool ok() const { return code == QRT_OK; }
  explicit operator bool() const { return ok(); }
};

inline Status make_status(qrt_status code) {
  return Status{code, code == QRT_OK ? std::string() : std::string(qrt_last_error())};
}

class Model {
 public:
  Model() = default;
  Model(Model&& other) noexcept : model_(std::exchange(other.model_, nullptr)) {}
  Model& operator=(Model&& other) noexcept {
    std::swap(model_, other.model_);
    return *this;
  }
  ~Model() { qrt_model_free(model_); }

  // Zero-copy: `data` must be 16-byte aligned and outlive the model.
  static Status from_buffer(const void* data, size_t size, Model* out) {
    qrt_model* m = nullptr;
    Status s = make_status(qrt_model_from_buffer(data, size, &m));
    if (s.ok()) *out = Model(m);
    return s;
  }
  static Status from_file(const std::string& path, Model* out) {
    qrt_model* m = nullptr;
    Status s = make_status(qrt_model_from_file(path.c_str(), &m));
    if (s.ok()) *out = Model(m);
    return s;
  }

  const qrt_model* get() const { return model_; }

 private:
  explicit Model(qrt_model* m) : model_(m) {}
  qrt_model* model_ = nullptr;
};

class Interpreter {
 public:
  Interpreter() = default;
  Interpreter(Interpreter&& other) noexcept : it_(std::exchange(other.it_, nullptr)) {}
  Interpreter& operator=(Interpreter&& other) noexcept {
    std::swap(it_, other.it_);
    return *this;
  }
  ~Interpreter() { qrt_interpreter_free(it_); }

  static qrt_options default_options() {
    qrt_options o;
    qrt_options_init(&o);
    return o;
  }

  // The model must outlive the interpreter.
  static Status create(const Model& model, const qrt_options& options, Interpreter* out) {
    qrt_interpreter* it = nullptr;
    Status s = make_status(qrt_interpreter_create(model.get(), &options, &it));
    if (s.ok()) *out = Interpreter(it);
    return s;
  }
  static Status create(const Model& model, Interpreter* out) {
    return create(model, default_options(), out);
  }

  int input_count() const { return qrt_input_count(it_); }
  int output_count() const { return qrt_output_count(it_); }
  int input_index(const std::string& name) const { return qrt_input_index(it_, name.c_str()); }
  int output_index(const std::string& name) const {
    return qrt_output_index(it_, name.c_str());
  }
  Status input(int index, qrt_tensor* out) const { return make_status(qrt_input(it_, index, out)); }
  Status output(int index, qrt_tensor* out) const {
    return make_status(qrt_output(it_, index, out));
  }
  Status set_input(int index, qrt_dtype dtype, const void* data, size_t bytes) {
    return make_status(qrt_set_input(it_, index, dtype, data, bytes));
  }
  Status invoke() { return make_status(qrt_invoke(it_)); }
  qrt_memory_info memory() const {
    qrt_memory_info m{};
    qrt_memory(it_, &m);
    return m;
  }

  qrt_interpreter* get() const { return it_; }

 private:
  explicit Interpreter(qrt_interpreter* it) : it_(it) {}
  qrt_interpreter* it_ = nullptr;
};

}  // namespace qrt
