/* qrt — int8 inference runtime. Stable C API (for JNI, FFI and C callers).
 *
 * Lifetime: a qrt_model is an immutable, verified view of a .qrt file; any
 * number of interpreters (on any threads) may share one model. A
 * qrt_interpreter owns the arena and runs the graph; it is not thread-safe:
 * use one per thread or lock around it. qrt_invoke and qrt_set_input detect
 * a call that overlaps another one on the same interpreter (in every build,
 * at the cost of one atomic exchange) and refuse it with
 * QRT_INVALID_ARGUMENT, leaving the running call undisturbed; this is a
 * safety net, not a lock: do not rely on it to serialise callers. Nothing in
 * this API throws.
 *
 * Errors: every call that can fail returns a qrt_status. qrt_last_error()
 * returns a message naming the tensor/operator and what was expected, for the
 * last failed call on the calling thread.
 */
#ifndef QRT_QRT_H
#define QRT_QRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum qrt_status {
  QRT_OK = 0,
  QRT_INVALID_ARGUMENT = 1, /* a bad argument from the caller */
  QRT_INVALID_MODEL = 2,    /* the model file is malformed */
  QRT_UNSUPPORTED = 3,      /* valid, but needs something this build lacks */
  QRT_VERSION = 4,          /* written by a newer format version */
  QRT_OUT_OF_MEMORY = 5,    /* an allocation failed or exceeded a limit */
  QRT_ARENA_TOO_SMALL = 6,  /* the caller's arena is smaller than needed */
  QRT_IO = 7,               /* a file could not be read */
  QRT_RUNTIME = 8           /* invoke failed on the data it was given */
} qrt_status;

typedef enum qrt_dtype {
  QRT_F32 = 0,
  QRT_U8 = 1,
  QRT_S8 = 2,
  QRT_I32 = 3,
  QRT_I64 = 4
} qrt_dtype;

#define QRT_MAX_RANK 8

typedef struct qrt_model qrt_model;
typedef struct qrt_interpreter qrt_interpreter;

/* A view of one graph input or output. `data` points into the arena and
 * stays valid until the interpreter is freed. */
typedef struct qrt_tensor {
  const char* name;
  qrt_dtype dtype;
  int32_t rank;
  int32_t dims[QRT_MAX_RANK];
  size_t bytes;
  void* data;
  /* Per-tensor quantization (scale 0 when not quantized). */
  float scale;
  int32_t zero_point;
} qrt_tensor;

typedef struct qrt_options {
  /* Caller-owned arena (16-byte aligned), or NULL to let qrt allocate once. */
  void* arena;
  size_t arena_bytes;
  /* Refuse models whose arena would exceed this many bytes (0 = no limit). */
  size_t max_arena_bytes;
  /* Threads for invoke, the caller's included: 1 (and 0, the default) runs
   * every op on the caller's thread, with no worker and no synchronisation;
   * N > 1 starts N - 1 workers at create time (joined at free), capped at the
   * CPU's cores and at 64, and splits the heavy ops over them. Outputs are
   * the same bytes for any count. Each thread gets its own kernel scratch,
   * so the arena grows a little with the count. Negative is an error. */
  int32_t threads;
  /* Record per-operator times during invoke (qrt_op_profile). */
  int32_t profile_ops;
} qrt_options;

typedef struct qrt_memory_info {
  size_t arena_bytes;       /* planned activations + scratch */
  size_t persistent_bytes;  /* data derived at prepare (packed weights, ...) */
  size_t lower_bound_bytes; /* max over operators of the bytes live there */
  size_t total_bytes;       /* what the arena must hold: the two regions, aligned */
} qrt_memory_info;

typedef struct qrt_op_profile {
  const char* name;   /* operator name from the model, may be "" */
  const char* kind;   /* opcode name, e.g. "CONV_2D" */
  uint64_t nanoseconds;
  uint64_t macs;      /* multiply-accumulates per invoke, 0 where not meaningful */
} qrt_op_profile;

/* Version of this library, e.g. "0.1.0", and the highest model format
 * version it reads. */
const char* qrt_version(void);
uint32_t qrt_format_version(void);

/* Message for the last failed call on this thread ("" if none). */
const char* qrt_last_error(void);

/* Load a model. From a buffer, the bytes are used in place (zero-copy): they
 * must be 16-byte aligned and outlive the model. From a file, the file is
 * mapped (or read once where mapping is unavailable). The model is verified
 * before this returns. */
qrt_status qrt_model_from_buffer(const void* data, size_t size, qrt_model** out);
qrt_status qrt_model_from_file(const char* path, qrt_model** out);
void qrt_model_free(qrt_model* model);

void qrt_options_init(qrt_options* options);

/* Prepare a model for running: check every operator, plan and set up the
 * arena. With a caller arena that is too small this fails with
 * QRT_ARENA_TOO_SMALL and qrt_last_error() says how many bytes are needed;
 * qrt_required_arena_bytes() tells it up front. */
qrt_status qrt_interpreter_create(const qrt_model* model, const qrt_options* options,
                                  qrt_interpreter** out);
void qrt_interpreter_free(qrt_interpreter* interpreter);
/* The arena size for one thread (more threads need a little more scratch;
 * qrt_interpreter_create's error says how much). */
qrt_status qrt_required_arena_bytes(const qrt_model* model, size_t* bytes);

int32_t qrt_input_count(const qrt_interpreter* interpreter);
int32_t qrt_output_count(const qrt_interpreter* interpreter);
/* Index of the input/output with this name, or -1. */
int32_t qrt_input_index(const qrt_interpreter* interpreter, const char* name);
int32_t qrt_output_index(const qrt_interpreter* interpreter, const char* name);
qrt_status qrt_input(const qrt_interpreter* interpreter, int32_t index, qrt_tensor* out);
qrt_status qrt_output(const qrt_interpreter* interpreter, int32_t index, qrt_tensor* out);

/* Copy `bytes` of `dtype` into input `index`; dtype and size must match the
 * input exactly, otherwise nothing is written (QRT_INVALID_ARGUMENT, with a
 * message naming the input). */
qrt_status qrt_set_input(qrt_interpreter* interpreter, int32_t index, qrt_dtype dtype,
                         const void* data, size_t bytes);

/* Run the graph. Performs no allocation and, with one thread, no system call
 * (with more, waking workers that went to sleep between invokes may take a
 * futex call). Refused (QRT_INVALID_ARGUMENT) while another call uses the
 * interpreter. */
qrt_status qrt_invoke(qrt_interpreter* interpreter);

qrt_status qrt_memory(const qrt_interpreter* interpreter, qrt_memory_info* out);

/* Per-operator times of the last invoke (profile_ops must be set). */
int32_t qrt_op_count(const qrt_interpreter* interpreter);
qrt_status qrt_op_profile_at(const qrt_interpreter* interpreter, int32_t index,
                             qrt_op_profile* out);

const char* qrt_status_name(qrt_status status);
const char* qrt_dtype_name(qrt_dtype dtype);

#ifdef __cplusplus
}
#endif

#endif /* QRT_QRT_H */
