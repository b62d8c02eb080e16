// The C API: thin wrappers that turn Error into the thread's last-error text.
#include <cstring>
#include <new>

#include "error.h"
#include "interpreter.h"
#include "model.h"
#include "qrt/qrt.h"
#include "schema/format_version.h"

struct qrt_model {
  qrt::Model model;
};

struct qrt_interpreter {
  qrt::Interpreter interpreter;
  qrt::Error error;
};

namespace {

thread_local qrt::Error g_last_error;

qrt_status record(const qrt::Error& error, qrt_status status) {
  if (status != QRT_OK && &error != &g_last_error) g_last_error = error;
  return status;
}

qrt_status invalid(const char* what) {
  return qrt::fail(&g_last_error, QRT_INVALID_ARGUMENT, "%s", what);
}

qrt::InterpreterOptions to_options(const qrt_options* o) {
  qrt::InterpreterOptions options;
  if (o) {
    options.arena = o->arena;
    options.arena_bytes = o->arena_bytes;
    options.max_arena_bytes = o->max_arena_bytes;
    options.threads = o->threads;
    options.profile_ops = o->profile_ops != 0;
  }
  return options;
}

void fill(const qrt::Tensor& t, qrt_tensor* out) {
  out->name = t.name;
  out->dtype = static_cast<qrt_dtype>(t.dtype);
  out->rank = t.rank;
  for (int i = 0; i < QRT_MAX_RANK; ++i) out->dims[i] = i < t.rank ? t.dims[i] : 0;
  out->bytes = t.bytes;
  out->data = t.data;
  out->scale = t.quantized() ? t.scale : 0.f;
  out->zero_point = t.quantized() ? t.zero_point : 0;
}

// Refuses a call on an interpreter another call is using; writes only the
// calling thread's own last error (the interpreter's belongs to that call).
qrt_status busy(const char* call) {
  return qrt::fail(&g_last_error, QRT_INVALID_ARGUMENT,
                   "%s: the interpreter is in use by another call (another thread's invoke or "
                   "set_input, or a re-entrant call); an interpreter serves one caller at a "
                   "time: use one per thread or lock around it",
                   call);
}

}  // namespace

namespace qrt {
Interpreter* interpreter_of(qrt_interpreter* interpreter) {
  return interpreter ? &interpreter->interpreter : nullptr;
}
}  // namespace qrt

static_assert(static_cast<int>(qrt::DType::F32) == QRT_F32 &&
                  static_cast<int>(qrt::DType::U8) == QRT_U8 &&
                  static_cast<int>(qrt::DType::S8) == QRT_S8 &&
                  static_cast<int>(qrt::DType::I32) == QRT_I32 &&
                  static_cast<int>(qrt::DType::I64) == QRT_I64,
              "qrt_dtype must mirror the schema's DType");

extern "C" {

const char* qrt_version(void) { return "0.1.0"; }
uint32_t qrt_format_version(void) { return qrt::kFormatVersion; }
const char* qrt_last_error(void) { return g_last_error.message; }

qrt_status qrt_model_from_buffer(const void* data, size_t size, qrt_model** out) {
  if (!out) return invalid("qrt_model_from_buffer: out is null");
  *out = nullptr;
  qrt_model* m = new (std::nothrow) qrt_model;
  if (!m) return qrt::fail(&g_last_error, QRT_OUT_OF_MEMORY, "cannot allocate a model");
  qrt::Error error;
  qrt_status s = qrt::load_model_from_buffer(data, size, &m->model, &error);
  if (s != QRT_OK) {
    delete m;
    return record(error, s);
  }
  *out = m;
  return QRT_OK;
}

qrt_status qrt_model_from_file(const char* path, qrt_model** out) {
  if (!out) return invalid("qrt_model_from_file: out is null");
  *out = nullptr;
  qrt_model* m = new (std::nothrow) qrt_model;
  if (!m) return qrt::fail(&g_last_error, QRT_OUT_OF_MEMORY, "cannot allocate a model");
  qrt::Error error;
  qrt_status s = qrt::load_model_from_file(path, &m->model, &error);
  if (s != QRT_OK) {
    delete m;
    return record(error, s);
  }
  *out = m;
  return QRT_OK;
}

void qrt_model_free(qrt_model* model) { delete model; }

void qrt_options_init(qrt_options* options) {
  if (!options) return;
  std::memset(options, 0, sizeof(*options));
  options->threads = 1;
}

qrt_status qrt_interpreter_create(const qrt_model* model, const qrt_options* options,
                                  qrt_interpreter** out) {
  if (!out) return invalid("qrt_interpreter_create: out is null");
  *out = nullptr;
  if (!model) return invalid("qrt_interpreter_create: model is null");
  qrt_interpreter* it = new (std::nothrow) qrt_interpreter;
  if (!it) return qrt::fail(&g_last_error, QRT_OUT_OF_MEMORY, "cannot allocate an interpreter");
  qrt_status s;
  try {
    s = it->interpreter.prepare(model->model, to_options(options), false, &it->error);
  } catch (const std::bad_alloc&) {
    s = qrt::fail(&it->error, QRT_OUT_OF_MEMORY, "out of memory while preparing the model");
  }
  if (s != QRT_OK) {
    record(it->error, s);
    delete it;
    return s;
  }
  *out = it;
  return QRT_OK;
}

void qrt_interpreter_free(qrt_interpreter* interpreter) { delete interpreter; }

qrt_status qrt_required_arena_bytes(const qrt_model* model, size_t* bytes) {
  if (!model || !bytes) return invalid("qrt_required_arena_bytes: null argument");
  qrt::Interpreter it;
  qrt::Error error;
  qrt_status s;
  try {
    s = it.prepare(model->model, qrt::InterpreterOptions{}, true, &error);
  } catch (const std::bad_alloc&) {
    s = qrt::fail(&error, QRT_OUT_OF_MEMORY, "out of memory while planning the model");
  }
  if (s != QRT_OK) return record(error, s);
  *bytes = it.memory().total_bytes;
  return QRT_OK;
}

int32_t qrt_input_count(const qrt_interpreter* it) { return it ? it->interpreter.input_count() : 0; }
int32_t qrt_output_count(const qrt_interpreter* it) {
  return it ? it->interpreter.output_count() : 0;
}
int32_t qrt_input_index(const qrt_interpreter* it, const char* name) {
  return it ? it->interpreter.find_input(name) : -1;
}
int32_t qrt_output_index(const qrt_interpreter* it, const char* name) {
  return it ? it->interpreter.find_output(name) : -1;
}

qrt_status qrt_input(const qrt_interpreter* it, int32_t index, qrt_tensor* out) {
  if (!it || !out) return invalid("qrt_input: null argument");
  if (index < 0 || index >= it->interpreter.input_count())
    return qrt::fail(&g_last_error, QRT_INVALID_ARGUMENT,
                     "qrt_input: index %d out of range (model has %d inputs)", index,
                     it->interpreter.input_count());
  fill(it->interpreter.input(index), out);
  return QRT_OK;
}

qrt_status qrt_output(const qrt_interpreter* it, int32_t index, qrt_tensor* out) {
  if (!it || !out) return invalid("qrt_output: null argument");
  if (index < 0 || index >= it->interpreter.output_count())
    return qrt::fail(&g_last_error, QRT_INVALID_ARGUMENT,
                     "qrt_output: index %d out of range (model has %d outputs)", index,
                     it->interpreter.output_count());
  fill(it->interpreter.output(index), out);
  return QRT_OK;
}

qrt_status qrt_set_input(qrt_interpreter* it, int32_t index, qrt_dtype dtype, const void* data,
                         size_t bytes) {
  if (!it || !data) return invalid("qrt_set_input: null argument");
  if (index < 0 || index >= it->interpreter.input_count())
    return qrt::fail(&g_last_error, QRT_INVALID_ARGUMENT,
                     "qrt_set_input: index %d out of range (model has %d inputs)", index,
                     it->interpreter.input_count());
  qrt::Tensor& t = it->interpreter.input(index);
  if (static_cast<int>(dtype) != static_cast<int>(t.dtype))
    return qrt::fail(&g_last_error, QRT_INVALID_ARGUMENT,
                     "input %d '%s' is %s, got %s data", index, t.name, qrt::dtype_name(t.dtype),
                     qrt_dtype_name(dtype));
  if (bytes != t.bytes)
    return qrt::fail(&g_last_error, QRT_INVALID_ARGUMENT,
                     "input %d '%s' takes %zu bytes, got %zu", index, t.name, t.bytes, bytes);
  if (!it->interpreter.try_acquire()) return busy("qrt_set_input");
  std::memcpy(t.data, data, bytes);
  it->interpreter.release();
  return QRT_OK;
}

qrt_status qrt_invoke(qrt_interpreter* it) {
  if (!it) return invalid("qrt_invoke: interpreter is null");
  if (!it->interpreter.try_acquire()) return busy("qrt_invoke");
  qrt_status s = it->interpreter.invoke(&it->error);
  // Copied while still holding the flag: it->error is this call's until then.
  if (s != QRT_OK) record(it->error, s);
  it->interpreter.release();
  return s;
}

qrt_status qrt_memory(const qrt_interpreter* it, qrt_memory_info* out) {
  if (!it || !out) return invalid("qrt_memory: null argument");
  const qrt::MemoryInfo& m = it->interpreter.memory();
  out->arena_bytes = m.arena_bytes;
  out->persistent_bytes = m.persistent_bytes;
  out->lower_bound_bytes = m.lower_bound_bytes;
  out->total_bytes = m.total_bytes;
  return QRT_OK;
}

int32_t qrt_op_count(const qrt_interpreter* it) { return it ? it->interpreter.op_count() : 0; }

qrt_status qrt_op_profile_at(const qrt_interpreter* it, int32_t index, qrt_op_profile* out) {
  if (!it || !out) return invalid("qrt_op_profile_at: null argument");
  if (index < 0 || index >= it->interpreter.op_count())
    return qrt::fail(&g_last_error, QRT_INVALID_ARGUMENT,
                     "qrt_op_profile_at: index %d out of range (%d operators)", index,
                     it->interpreter.op_count());
  out->name = it->interpreter.op(index).name;
  out->kind = it->interpreter.op_kind(index);
  out->nanoseconds = it->interpreter.op_nanoseconds(index);
  out->macs = it->interpreter.op(index).macs;
  return QRT_OK;
}

const char* qrt_status_name(qrt_status status) {
  switch (status) {
    case QRT_OK: return "ok";
    case QRT_INVALID_ARGUMENT: return "invalid argument";
    case QRT_INVALID_MODEL: return "invalid model";
    case QRT_UNSUPPORTED: return "unsupported";
    case QRT_VERSION: return "newer format version";
    case QRT_OUT_OF_MEMORY: return "out of memory";
    case QRT_ARENA_TOO_SMALL: return "arena too small";
    case QRT_IO: return "i/o error";
    case QRT_RUNTIME: return "runtime error";
  }
  return "unknown status";
}

const char* qrt_dtype_name(qrt_dtype dtype) {
  switch (dtype) {
    case QRT_F32: return "f32";
    case QRT_U8: return "u8";
    case QRT_S8: return "s8";
    case QRT_I32: return "i32";
    case QRT_I64: return "i64";
  }
  return "unknown";
}

}  // extern "C"
