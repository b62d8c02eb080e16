// FULLY_CONNECTED: input [..., K] times weights [N, K]^T (+ bias) -> [..., N].
#include "kernels/cpu.h"
#include "kernels/ref/fully_connected.h"
#include "kernels/ref/quant_math.h"
#include "ops/ops.h"
#include "ops/weights.h"
#include "thread_pool.h"

namespace qrt {

namespace {

struct FullyConnectedData {
  kernels::FullyConnectedShape shape;
  kernels::Requant rq;
  float act_min, act_max;
  const kernels::GemmKernel* gemm;  // u8 fast path, null for the reference
  const kernels::F32GemmKernel* f32;  // f32 fast path, null for the reference
  const void* packed;               // gemm's or f32's packed weights, in persistent memory
  // Splitting batch rows over the pool (a single row stays on the caller):
  // chunk edges on the row tile, at least min_rows rows a chunk, each
  // thread's scratch slice scratch_stride bytes apart.
  int64_t min_rows;
  size_t scratch_stride;
};

// As for CONV_2D: below this many MACs a hand-off costs about what the chunk does.
constexpr int64_t kMinChunkMacs = int64_t{1} << 17;

struct DynamicData {
  const kernels::DynamicLinearKernel* kernel;
  const void* packed;
  int rows;
};

// Everything is checked by the caller; the input is quantized per call into
// scratch, on the caller's thread.
qrt_status prepare_dynamic(OpContext& ctx, const fb::FullyConnectedOptions& o, int32_t n,
                           int32_t k) {
  const Tensor& in = *ctx.input(0);
  const Tensor& w = *ctx.input(1);
  const Tensor* bias = ctx.input(2);
  const kernels::DynamicLinearKernel* kernel = kernels::select_dynamic_linear_kernel(ctx.isa);
  const int rows = static_cast<int>(in.elements / static_cast<size_t>(k));
  ctx.kernel = kernel->name;
  // One slice, not request_scratch's one per thread: the kernel runs once.
  ctx.scratch_bytes = kernel->scratch_bytes(rows, k);
  DynamicData* d = ctx.persistent->take<DynamicData>(1);
  void* packed = ctx.persistent->take<uint8_t>(kernel->packed_bytes(n, k));
  if (ctx.persistent->sizing()) return QRT_OK;
  kernels::DynamicLinearParams p;
  p.profile = ctx.profile;
  p.shape.in_features = k;
  p.shape.out_features = n;
  p.w = w.as<int8_t>();
  p.w_scales = w.scales;
  p.per_channel = w.per_channel;
  p.bias = bias ? bias->as<float>() : nullptr;
  p.act_min = o.act_min();
  p.act_max = o.act_max();
  kernel->pack(p, packed);
  *d = DynamicData{kernel, packed, rows};
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_dynamic(OpContext& ctx) {
  const auto& d = *static_cast<const DynamicData*>(ctx.data);
  d.kernel->run(d.packed, d.rows, ctx.input(0)->as<float>(), ctx.output(0)->as<float>(),
                ctx.scratch);
  return QRT_OK;
}

// Many rows split over the pool by row tiles; a few (a GEMV) by column
// tiles, each thread streaming its own share of the weights.
void eval_f32(ThreadPool* pool, const FullyConnectedData& d, const float* in, const float* bias,
              float* out) {
  kernels::F32GemmArgs args;
  args.n = d.shape.out_features;
  args.k = d.shape.in_features;
  args.a = in;
  args.a_stride = static_cast<size_t>(args.k);
  args.packed = d.packed;
  args.bias = bias;
  args.act_min = d.act_min;
  args.act_max = d.act_max;
  args.out = out;
  args.out_stride = static_cast<size_t>(args.n);
  const kernels::F32GemmKernel& f = *d.f32;
  const int rows = d.shape.batch;
  if (rows >= 2 * f.mr) {
    parallel_for(pool, rows, f.mr, d.min_rows, [&](int64_t begin, int64_t end, int32_t) {
      f.run(args, static_cast<int>(begin), static_cast<int>(end), 0, args.n);
    });
  } else {
    const int64_t min_cols = min_chunk_rows(int64_t{rows} * args.k, kMinChunkMacs);
    parallel_for(pool, args.n, f.nr, min_cols, [&](int64_t begin, int64_t end, int32_t) {
      f.run(args, 0, rows, static_cast<int>(begin), static_cast<int>(end));
    });
  }
}

}  // namespace

qrt_status prepare_fully_connected(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& w = *ctx.input(1);
  const Tensor* bias = ctx.input(2);
  const Tensor& out = *ctx.output(0);
  const fb::FullyConnectedOptions& o = *ctx.op->options_as_FullyConnectedOptions();
  qrt_status s = expect_rank(ctx, w, "weights", 2);
  if (s != QRT_OK) return s;
  const int32_t n = w.dims[0], k = w.dims[1];
  bool shapes_ok = in.rank >= 1 && out.rank == in.rank && in.dims[in.rank - 1] == k &&
                   out.dims[out.rank - 1] == n;
  for (int i = 0; shapes_ok && i + 1 < in.rank; ++i) shapes_ok = in.dims[i] == out.dims[i];
  if (!shapes_ok) {
    char a[96], b[96], c[96];
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "input %s times weights %s cannot give output %s (expected [..., K] x [N, K] "
                   "-> [..., N])",
                   format_shape(in, a, sizeof(a)), format_shape(w, b, sizeof(b)),
                   format_shape(out, c, sizeof(c)));
  }
  if (!w.is_constant) return op_fail(ctx, QRT_UNSUPPORTED, "weights '%s' must be constant", w.name);
  if (bias) {
    s = check_bias(ctx, *bias, n);
    if (s != QRT_OK) return s;
  }
  if (!(o.act_min() <= o.act_max()))
    return op_fail(ctx, QRT_INVALID_MODEL, "activation range [%g, %g] is empty",
                   static_cast<double>(o.act_min()), static_cast<double>(o.act_max()));
  const bool quant = in.dtype == DType::U8;
  // F32 input with S8 weights marks PyTorch's dynamically quantized Linear:
  // the u8 path's weight checks, a float output.
  const bool dynamic = in.dtype == DType::F32 && w.dtype == DType::S8;
  if (quant || dynamic) {
    s = expect_dtype(ctx, w, "weights", DType::S8);
    if (s == QRT_OK) s = expect_dtype(ctx, out, "output", dynamic ? DType::F32 : DType::U8);
    if (s == QRT_OK && quant) s = expect_per_tensor_quant(ctx, in, "input");
    if (s == QRT_OK && quant) s = expect_per_tensor_quant(ctx, out, "output");
    if (s == QRT_OK) s = check_weight_quant(ctx, w, n);
    if (s != QRT_OK) return s;
    if (k > kernels::kMaxAccumulationDepth)
      return op_fail(ctx, QRT_UNSUPPORTED,
                     "accumulation depth %d exceeds %d (int32 accumulator could overflow)", k,
                     kernels::kMaxAccumulationDepth);
  } else {
    s = expect_dtype(ctx, in, "input", DType::F32);
    if (s == QRT_OK) s = expect_dtype(ctx, w, "weights", DType::F32);
    if (s == QRT_OK) s = expect_dtype(ctx, out, "output", DType::F32);
    if (s != QRT_OK) return s;
  }
  ctx.macs = static_cast<uint64_t>(out.elements) * static_cast<uint64_t>(k);
  if (dynamic) return prepare_dynamic(ctx, o, n, k);

  // Both passes carve the same packed size: the sizing pass's, which
  // depends only on n, k, the constant weights, the profile and the tier.
  const kernels::GemmKernel* gemm = quant ? kernels::select_gemm_kernel(ctx.isa) : nullptr;
  const kernels::F32GemmKernel* f32 = quant ? nullptr : kernels::select_f32_gemm_kernel(ctx.isa);
  ctx.kernel = gemm  ? gemm->name
               : f32 ? f32->name
               : quant ? "fully_connected_u8s8_ref"
                       : "fully_connected_f32_ref";
  ctx.scratch_bytes = 0;
  const size_t scratch_stride = gemm ? request_scratch(ctx, gemm->scratch_bytes(k)) : 0;
  FullyConnectedData* d = ctx.persistent->take<FullyConnectedData>(1);
  RequantArrays arrays = take_requant_arrays(ctx, quant, n, w.per_channel);
  // 64-byte aligned by Carver; pack() needs 4.
  if (gemm && ctx.persistent->sizing())
    ctx.packed_bytes = gemm->packed_bytes(n, k, w.as<int8_t>(), ctx.profile);
  void* packed = gemm  ? ctx.persistent->take<uint8_t>(ctx.packed_bytes)
                 : f32 ? ctx.persistent->take<uint8_t>(f32->packed_bytes(n, k))
                       : nullptr;
  if (ctx.persistent->sizing()) return QRT_OK;

  d->shape = kernels::FullyConnectedShape{};
  d->shape.batch = static_cast<int>(in.elements / static_cast<size_t>(k));
  d->shape.in_features = k;
  d->shape.out_features = n;
  d->act_min = o.act_min();
  d->act_max = o.act_max();
  d->gemm = gemm;
  d->f32 = f32;
  d->packed = packed;
  d->min_rows = min_chunk_rows(int64_t{n} * k, kMinChunkMacs);
  d->scratch_stride = scratch_stride;
  if (quant) {
    s = make_requant(ctx, in, w, bias, out, o.act_min(), o.act_max(), arrays, &d->rq);
    if (s != QRT_OK) return s;
  }
  if (gemm) {
    // The accumulator start bakes in the input zero point and the weight
    // row sums, so run() only multiplies raw u8 rows.
    kernels::GemmPackParams p;
    p.n = n;
    p.k = k;
    p.w = w.as<int8_t>();
    p.a_zp = in.zero_point;
    p.rq = &d->rq;
    gemm->pack(p, packed);
  }
  if (f32) f32->pack(n, k, w.as<float>(), packed);
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_fully_connected(OpContext& ctx) {
  if (ctx.input(0)->dtype == DType::F32 && ctx.input(1)->dtype == DType::S8)
    return eval_dynamic(ctx);
  const FullyConnectedData& d = *static_cast<const FullyConnectedData*>(ctx.data);
  const Tensor& in = *ctx.input(0);
  const Tensor& w = *ctx.input(1);
  const Tensor* bias = ctx.input(2);
  Tensor& out = *ctx.output(0);
  if (d.gemm) {
    // Row m of the input is the m-th of `batch` vectors of in_features bytes.
    kernels::GemmArgs args;
    args.packed = d.packed;
    args.a = in.as<uint8_t>();
    args.a_stride = static_cast<size_t>(d.shape.in_features);
    args.out = out.as<uint8_t>();
    args.out_stride = static_cast<size_t>(d.shape.out_features);
    parallel_for(ctx.pool, d.shape.batch, d.gemm->mr, d.min_rows,
                 [&](int64_t begin, int64_t end, int32_t slot) {
                   d.gemm->run(args, static_cast<int>(begin), static_cast<int>(end),
                               ctx.scratch + static_cast<size_t>(slot) * d.scratch_stride);
                 });
    return QRT_OK;
  }
  if (d.f32) {
    eval_f32(ctx.pool, d, in.as<float>(), bias ? bias->as<float>() : nullptr, out.as<float>());
    return QRT_OK;
  }
  if (in.dtype == DType::U8)
    kernels::fully_connected_u8s8_ref(d.shape, in.as<uint8_t>(), in.zero_point, w.as<int8_t>(),
                                      d.rq, out.as<uint8_t>());
  else
    kernels::fully_connected_f32_ref(d.shape, in.as<float>(), w.as<float>(),
                                     bias ? bias->as<float>() : nullptr, d.act_min, d.act_max,
                                     out.as<float>());
  return QRT_OK;
}

}  // namespace qrt
