#include "model.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "op.h"
#include "schema/format_version.h"
#include "tensor.h"

namespace qrt {

namespace {

constexpr size_t kBufferAlign = 16;
// Kernels index with int: every tensor stays below 2 GiB.
constexpr uint64_t kMaxTensorBytes = INT32_MAX;

const char* tensor_name(const fb::Tensor* t) {
  return t->name() ? t->name()->c_str() : "";
}

const char* op_label(const fb::Operator* op) {
  return op->name() ? op->name()->c_str() : "";
}

bool valid_dtype(DType d) { return d >= DType::F32 && d <= DType::I64; }

qrt_status verify_quantization(const fb::Tensor* t, int32_t index, Error* error) {
  const fb::Quantization* q = t->quantization();
  const char* name = tensor_name(t);
  if (!q) return QRT_OK;
  const auto* scales = q->scale();
  const auto* zps = q->zero_point();
  size_t n = scales ? scales->size() : 0;
  size_t nz = zps ? zps->size() : 0;
  if (n == 0 && nz == 0) return QRT_OK;
  if (n != nz)
    return fail(error, QRT_INVALID_MODEL,
                "tensor %d '%s': %zu scales but %zu zero points", index, name, n, nz);
  // The flatbuffers verifier only checks the 4-byte alignment of a vector's
  // length; zero points are read as int64 (Vector::Get, Tensor::zero_points).
  if (reinterpret_cast<uintptr_t>(zps->data()) % alignof(int64_t) != 0)
    return fail(error, QRT_INVALID_MODEL,
                "tensor %d '%s': zero points are not %zu-byte aligned in the file", index, name,
                alignof(int64_t));
  if (t->dtype() == DType::F32)
    return fail(error, QRT_INVALID_MODEL,
                "tensor %d '%s': f32 tensor carries quantization parameters", index, name);
  int32_t rank = t->shape() ? static_cast<int32_t>(t->shape()->size()) : 0;
  if (n > 1 || q->per_channel()) {
    int32_t axis = q->axis();
    if (axis < 0 || axis >= rank)
      return fail(error, QRT_INVALID_MODEL,
                  "tensor %d '%s': quantization axis %d outside rank %d", index, name, axis,
                  rank);
    if (n != static_cast<size_t>(t->shape()->Get(axis)))
      return fail(error, QRT_INVALID_MODEL,
                  "tensor %d '%s': %zu scales for axis %d of size %d (expected 1 or %d)",
                  index, name, n, axis, t->shape()->Get(axis), t->shape()->Get(axis));
  }
  int64_t lo = 0, hi = 0;
  switch (t->dtype()) {
    case DType::U8: lo = 0; hi = 255; break;
    case DType::S8: lo = -128; hi = 127; break;
    case DType::I32: lo = INT32_MIN; hi = INT32_MAX; break;
    default:
      return fail(error, QRT_INVALID_MODEL, "tensor %d '%s': %s tensor cannot be quantized",
                  index, name, dtype_name(t->dtype()));
  }
  for (size_t i = 0; i < n; ++i) {
    float s = scales->Get(static_cast<flatbuffers::uoffset_t>(i));
    int64_t z = zps->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (!std::isfinite(s) || !(s > 0.f) || !std::isnormal(s))
      return fail(error, QRT_INVALID_MODEL,
                  "tensor %d '%s': scale[%zu] = %g is not a positive normal number", index,
                  name, i, static_cast<double>(s));
    if (z < lo || z > hi)
      return fail(error, QRT_INVALID_MODEL,
                  "tensor %d '%s': zero_point[%zu] = %lld outside [%lld, %lld] for %s", index,
                  name, i, static_cast<long long>(z), static_cast<long long>(lo),
                  static_cast<long long>(hi), dtype_name(t->dtype()));
  }
  return QRT_OK;
}

qrt_status verify_tensor(const fb::Model* model, const fb::Tensor* t, int32_t index,
                         Error* error) {
  const char* name = tensor_name(t);
  if (!valid_dtype(t->dtype()))
    return fail(error, QRT_UNSUPPORTED, "tensor %d '%s': unknown dtype %d", index, name,
                static_cast<int>(t->dtype()));
  uint64_t elements = 1;
  if (const auto* shape = t->shape()) {
    if (shape->size() > kMaxRank)
      return fail(error, QRT_INVALID_MODEL, "tensor %d '%s': rank %u exceeds %d", index, name,
                  shape->size(), kMaxRank);
    for (flatbuffers::uoffset_t i = 0; i < shape->size(); ++i) {
      int32_t d = shape->Get(i);
      if (d <= 0)
        return fail(error, QRT_INVALID_MODEL,
                    "tensor %d '%s': dimension %u is %d (dimensions must be >= 1)", index, name,
                    i, d);
      elements *= static_cast<uint64_t>(d);
      if (elements * dtype_size(t->dtype()) > kMaxTensorBytes)
        return fail(error, QRT_INVALID_MODEL, "tensor %d '%s': shape needs more than 2 GiB", index,
                    name);
    }
  }
  uint64_t bytes = elements * dtype_size(t->dtype());
  uint32_t b = t->buffer();
  uint32_t num_buffers = model->buffers() ? model->buffers()->size() : 0;
  if (b != 0) {
    if (b >= num_buffers)
      return fail(error, QRT_INVALID_MODEL, "tensor %d '%s': buffer %u out of range (%u buffers)",
                  index, name, b, num_buffers);
    const auto* data = model->buffers()->Get(b)->data();
    uint64_t have = data ? data->size() : 0;
    if (have != bytes)
      return fail(error, QRT_INVALID_MODEL,
                  "tensor %d '%s': buffer %u holds %llu bytes, shape and dtype need %llu", index,
                  name, b, static_cast<unsigned long long>(have),
                  static_cast<unsigned long long>(bytes));
  }
  return verify_quantization(t, index, error);
}

qrt_status verify_subgraph(const fb::Model* model, const fb::SubGraph* g, int32_t gi,
                           Error* error) {
  const auto* tensors = g->tensors();
  const int32_t n = tensors ? static_cast<int32_t>(tensors->size()) : 0;
  for (int32_t i = 0; i < n; ++i) {
    qrt_status s = verify_tensor(model, tensors->Get(i), i, error);
    if (s != QRT_OK) return s;
  }
  auto is_constant = [&](int32_t i) { return tensors->Get(i)->buffer() != 0; };

  // 0 = not yet available, 1 = graph input or constant, 2 = produced by an op.
  std::vector<uint8_t> state(static_cast<size_t>(n), 0);
  for (int32_t i = 0; i < n; ++i) state[i] = is_constant(i) ? 1 : 0;
  if (const auto* inputs = g->inputs()) {
    for (flatbuffers::uoffset_t k = 0; k < inputs->size(); ++k) {
      int32_t t = inputs->Get(k);
      if (t < 0 || t >= n)
        return fail(error, QRT_INVALID_MODEL, "subgraph %d: input %u is tensor %d, out of range",
                    gi, k, t);
      if (is_constant(t))
        return fail(error, QRT_INVALID_MODEL,
                    "subgraph %d: input %u tensor '%s' is a constant", gi, k,
                    tensor_name(tensors->Get(t)));
      state[t] = 1;
    }
  }

  const auto* ops = g->operators();
  const int32_t num_ops = ops ? static_cast<int32_t>(ops->size()) : 0;
  for (int32_t oi = 0; oi < num_ops; ++oi) {
    const fb::Operator* op = ops->Get(oi);
    const OpInfo* info = find_op(op->opcode());
    if (!info)
      return fail(error, QRT_UNSUPPORTED,
                  "operator %d '%s': opcode %d is not supported by this runtime (model from a "
                  "newer converter?)",
                  oi, op_label(op), static_cast<int>(op->opcode()));
    const int32_t ni = op->inputs() ? static_cast<int32_t>(op->inputs()->size()) : 0;
    const int32_t no = op->outputs() ? static_cast<int32_t>(op->outputs()->size()) : 0;
    if (ni < info->min_inputs || ni > info->max_inputs)
      return fail(error, QRT_INVALID_MODEL, "operator %d '%s' (%s): %d inputs, expected %d..%d",
                  oi, op_label(op), info->name, ni, info->min_inputs, info->max_inputs);
    if (no < info->min_outputs || no > info->max_outputs)
      return fail(error, QRT_INVALID_MODEL, "operator %d '%s' (%s): %d outputs, expected %d..%d",
                  oi, op_label(op), info->name, no, info->min_outputs, info->max_outputs);
    if (op->options_type() != info->options)
      return fail(error, QRT_INVALID_MODEL,
                  "operator %d '%s' (%s): options of type %d, expected type %d", oi,
                  op_label(op), info->name, static_cast<int>(op->options_type()),
                  static_cast<int>(info->options));
    // The flatbuffers verifier accepts a union whose type is set but whose
    // table is absent; prepare dereferences the table.
    if (info->options != fb::OpOptions::NONE && !op->options())
      return fail(error, QRT_INVALID_MODEL, "operator %d '%s' (%s): options table is missing",
                  oi, op_label(op), info->name);
    for (int32_t k = 0; k < ni; ++k) {
      int32_t t = op->inputs()->Get(k);
      if (t == -1 && k >= info->min_inputs) continue;
      if (t < 0 || t >= n)
        return fail(error, QRT_INVALID_MODEL,
                    "operator %d '%s' (%s): input %d is tensor %d, out of range (%d tensors)", oi,
                    op_label(op), info->name, k, t, n);
      if (state[t] == 0)
        return fail(error, QRT_INVALID_MODEL,
                    "operator %d '%s' (%s): input %d tensor '%s' is read before any operator "
                    "writes it",
                    oi, op_label(op), info->name, k, tensor_name(tensors->Get(t)));
    }
    for (int32_t k = 0; k < no; ++k) {
      int32_t t = op->outputs()->Get(k);
      if (t < 0 || t >= n)
        return fail(error, QRT_INVALID_MODEL,
                    "operator %d '%s' (%s): output %d is tensor %d, out of range (%d tensors)",
                    oi, op_label(op), info->name, k, t, n);
      if (state[t] != 0)
        return fail(error, QRT_INVALID_MODEL,
                    "operator %d '%s' (%s): output %d tensor '%s' is a constant, a graph input "
                    "or written twice",
                    oi, op_label(op), info->name, k, tensor_name(tensors->Get(t)));
      state[t] = 2;
    }
  }

  if (const auto* outputs = g->outputs()) {
    for (flatbuffers::uoffset_t k = 0; k < outputs->size(); ++k) {
      int32_t t = outputs->Get(k);
      if (t < 0 || t >= n)
        return fail(error, QRT_INVALID_MODEL,
                    "subgraph %d: output %u is tensor %d, out of range", gi, k, t);
      if (is_constant(t) || state[t] == 0)
        return fail(error, QRT_INVALID_MODEL,
                    "subgraph %d: output %u tensor '%s' is never computed", gi, k,
                    tensor_name(tensors->Get(t)));
    }
  }

  if (const fb::MemoryPlan* plan = g->memory_plan()) {
    const auto* offsets = plan->offsets();
    if (offsets && offsets->size() != static_cast<flatbuffers::uoffset_t>(n))
      return fail(error, QRT_INVALID_MODEL,
                  "subgraph %d: memory plan has %u offsets for %d tensors", gi, offsets->size(),
                  n);
    // Vector::Get reads int64 elements directly: they must be 8-byte aligned.
    if (offsets && reinterpret_cast<uintptr_t>(offsets->data()) % alignof(int64_t) != 0)
      return fail(error, QRT_INVALID_MODEL,
                  "subgraph %d: memory plan offsets are not %zu-byte aligned in the file", gi,
                  alignof(int64_t));
  }
  return QRT_OK;
}

bool same_signature(const fb::Tensor* a, const fb::Tensor* b) {
  if (a->dtype() != b->dtype()) return false;
  auto same_vec = [](const auto* x, const auto* y) {
    const size_t nx = x ? x->size() : 0, ny = y ? y->size() : 0;
    if (nx != ny) return false;
    for (flatbuffers::uoffset_t i = 0; i < nx; ++i)
      if (x->Get(i) != y->Get(i)) return false;
    return true;
  };
  if (!same_vec(a->shape(), b->shape())) return false;
  const fb::Quantization* qa = a->quantization();
  const fb::Quantization* qb = b->quantization();
  return same_vec(qa ? qa->scale() : nullptr, qb ? qb->scale() : nullptr) &&
         same_vec(qa ? qa->zero_point() : nullptr, qb ? qb->zero_point() : nullptr);
}

// The IF op's values pass into a body by copy: the body's inputs and outputs
// must match the op's in shape, dtype and quantization.
qrt_status verify_body_signature(const fb::SubGraph* g, const fb::Operator* op, int32_t gi,
                                 int32_t oi, const fb::SubGraph* body, int32_t b, Error* error) {
  const auto* tensors = g->tensors();
  const auto* body_tensors = body->tensors();
  const int32_t ni = static_cast<int32_t>(op->inputs()->size()) - 1;
  const int32_t no = static_cast<int32_t>(op->outputs()->size());
  const int32_t bi = body->inputs() ? static_cast<int32_t>(body->inputs()->size()) : 0;
  const int32_t bo = body->outputs() ? static_cast<int32_t>(body->outputs()->size()) : 0;
  if (bi != ni || bo != no)
    return fail(error, QRT_INVALID_MODEL,
                "subgraph %d operator %d '%s' (IF): body subgraph %d has %d inputs and %d "
                "outputs, the op passes %d and expects %d",
                gi, oi, op_label(op), b, bi, bo, ni, no);
  for (int32_t k = 0; k < ni + no; ++k) {
    const bool in = k < ni;
    const int32_t t = in ? op->inputs()->Get(k + 1) : op->outputs()->Get(k - ni);
    const int32_t bt = in ? body->inputs()->Get(k) : body->outputs()->Get(k - ni);
    if (t < 0)
      return fail(error, QRT_INVALID_MODEL,
                  "subgraph %d operator %d '%s' (IF): input %d is absent (-1)", gi, oi,
                  op_label(op), k + 1);
    // Indices were range-checked by verify_subgraph.
    if (!same_signature(tensors->Get(t), body_tensors->Get(bt)))
      return fail(error, QRT_INVALID_MODEL,
                  "subgraph %d operator %d '%s' (IF): %s %d '%s' differs from body subgraph %d's "
                  "'%s' in shape, dtype or quantization",
                  gi, oi, op_label(op), in ? "input" : "output", in ? k + 1 : k - ni,
                  tensor_name(tensors->Get(t)), b, tensor_name(body_tensors->Get(bt)));
  }
  return QRT_OK;
}

// Control flow: every body is called by exactly one IF branch of a subgraph
// before it. That makes the calls a forest rooted at the main graph, so no
// body runs itself, and bounds the nesting the interpreter walks.
qrt_status verify_control_flow(const fb::Model* model, Error* error) {
  const auto* graphs = model->subgraphs();
  const int32_t n = static_cast<int32_t>(graphs->size());
  std::vector<int32_t> caller(static_cast<size_t>(n), -1), depth(static_cast<size_t>(n), 0);
  for (int32_t gi = 0; gi < n; ++gi) {
    const fb::SubGraph* g = graphs->Get(gi);
    const auto* ops = g->operators();
    const int32_t num_ops = ops ? static_cast<int32_t>(ops->size()) : 0;
    for (int32_t oi = 0; oi < num_ops; ++oi) {
      const fb::Operator* op = ops->Get(oi);
      if (op->opcode() != fb::OpCode::IF) continue;
      const fb::IfOptions* o = op->options_as_IfOptions();
      for (int32_t b : {o->then_subgraph(), o->else_subgraph()}) {
        const char* which = b == o->then_subgraph() ? "then" : "else";
        if (b <= gi || b >= n)
          return fail(error, QRT_INVALID_MODEL,
                      "subgraph %d operator %d '%s' (IF): %s_subgraph %d must name a later "
                      "subgraph (%d..%d); a body before or at its caller could run itself",
                      gi, oi, op_label(op), which, b, gi + 1, n - 1);
        if (caller[b] >= 0)
          return fail(error, QRT_INVALID_MODEL,
                      "subgraph %d operator %d '%s' (IF): subgraph %d is already the body of "
                      "an IF in subgraph %d; each body belongs to one branch",
                      gi, oi, op_label(op), b, caller[b]);
        caller[b] = gi;
        depth[b] = depth[gi] + 1;
        if (depth[b] > kMaxSubgraphNesting)
          return fail(error, QRT_INVALID_MODEL,
                      "subgraph %d: IF bodies nest more than %d deep", b, kMaxSubgraphNesting);
        qrt_status s = verify_body_signature(g, op, gi, oi, graphs->Get(b), b, error);
        if (s != QRT_OK) return s;
      }
    }
  }
  return QRT_OK;
}

}  // namespace

Model::~Model() {
  if (mapping) munmap(mapping, mapping_size);
  std::free(owned);
}

qrt_status verify_model(const uint8_t* data, size_t size, Error* error) {
  if (!data || size < 8)
    return fail(error, QRT_INVALID_MODEL, "model is %zu bytes, too small to be a .qrt file",
                size);
  if (size >= FLATBUFFERS_MAX_BUFFER_SIZE)
    return fail(error, QRT_INVALID_MODEL, "model is %zu bytes, larger than the format allows",
                size);
  if (!fb::ModelBufferHasIdentifier(data)) {
    char id[5] = {};
    for (int i = 0; i < 4; ++i) {
      char c = static_cast<char>(data[4 + i]);
      id[i] = (c >= 32 && c < 127) ? c : '?';
    }
    return fail(error, QRT_INVALID_MODEL,
                "not a .qrt model: file identifier is '%s', expected '%s'", id,
                fb::ModelIdentifier());
  }
  flatbuffers::Verifier verifier(data, size, /*max_depth=*/64, /*max_tables=*/10000000);
  if (!fb::VerifyModelBuffer(verifier))
    return fail(error, QRT_INVALID_MODEL,
                "model failed flatbuffer verification: the file is corrupt or truncated");

  const fb::Model* model = fb::GetModel(data);
  const uint32_t version = model->format_version();
  if (version == 0)
    return fail(error, QRT_INVALID_MODEL, "model has no format version");
  if (version > kFormatVersion)
    return fail(error, QRT_VERSION,
                "model format version %u is newer than this runtime reads (up to %u): "
                "upgrade qrt or convert with a matching qrt-convert",
                version, kFormatVersion);
  if (model->profile() != fb::Profile::Fbgemm && model->profile() != fb::Profile::Qnnpack)
    return fail(error, QRT_UNSUPPORTED, "model has unknown numeric profile %d",
                static_cast<int>(model->profile()));

  if (const auto* buffers = model->buffers()) {
    for (flatbuffers::uoffset_t b = 0; b < buffers->size(); ++b) {
      const auto* bytes = buffers->Get(b)->data();
      if (!bytes) continue;
      if (b == 0 && bytes->size() != 0)
        return fail(error, QRT_INVALID_MODEL, "buffer 0 must be the empty sentinel");
      size_t offset = static_cast<size_t>(bytes->data() - data);
      if (offset % kBufferAlign != 0)
        return fail(error, QRT_INVALID_MODEL,
                    "buffer %u starts at file offset %zu, not %zu-byte aligned", b, offset,
                    kBufferAlign);
    }
  }

  const auto* graphs = model->subgraphs();
  if (!graphs || graphs->size() == 0)
    return fail(error, QRT_INVALID_MODEL, "model has no subgraph");
  for (flatbuffers::uoffset_t gi = 0; gi < graphs->size(); ++gi) {
    qrt_status s = verify_subgraph(model, graphs->Get(gi), static_cast<int32_t>(gi), error);
    if (s != QRT_OK) return s;
  }
  return verify_control_flow(model, error);
}

qrt_status load_model_from_buffer(const void* data, size_t size, Model* model, Error* error) {
  if (!data) return fail(error, QRT_INVALID_ARGUMENT, "model buffer is null");
  if (reinterpret_cast<uintptr_t>(data) % kBufferAlign != 0)
    return fail(error, QRT_INVALID_ARGUMENT,
                "model buffer at %p is not %zu-byte aligned; weights are used in place", data,
                kBufferAlign);
  const uint8_t* bytes = static_cast<const uint8_t*>(data);
  qrt_status s = verify_model(bytes, size, error);
  if (s != QRT_OK) return s;
  model->bytes = bytes;
  model->size = size;
  model->root = fb::GetModel(bytes);
  return QRT_OK;
}

qrt_status load_model_from_file(const char* path, Model* model, Error* error) {
  if (!path) return fail(error, QRT_INVALID_ARGUMENT, "model path is null");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(error, QRT_IO, "%s: cannot open: %s", path, std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return fail(error, QRT_IO, "%s: not a regular file", path);
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    close(fd);
    return fail(error, QRT_INVALID_MODEL, "%s: file is empty", path);
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map != MAP_FAILED) {
    close(fd);
    model->mapping = map;
    model->mapping_size = size;
  } else {
    // No mmap (some filesystems, sandboxes): read the file once.
    uint8_t* buf = static_cast<uint8_t*>(std::aligned_alloc(64, (size + 63) & ~size_t{63}));
    if (!buf) {
      close(fd);
      return fail(error, QRT_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", path, size);
    }
    size_t got = 0;
    while (got < size) {
      ssize_t r = read(fd, buf + got, size - got);
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        close(fd);
        std::free(buf);
        return fail(error, QRT_IO, "%s: read failed after %zu of %zu bytes", path, got, size);
      }
      got += static_cast<size_t>(r);
    }
    close(fd);
    model->owned = buf;
  }
  const void* bytes = model->mapping ? model->mapping : model->owned;
  qrt_status s = load_model_from_buffer(bytes, size, model, error);
  if (s != QRT_OK && error) {
    // Keep the file name in the message: "x.qrt: <reason>".
    char reason[sizeof(error->message)];
    std::memcpy(reason, error->message, sizeof(reason));
    fail(error, s, "%s: %s", path, reason);
  }
  return s;
}

}  // namespace qrt
