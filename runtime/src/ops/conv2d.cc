// CONV_2D: NHWC input, OHWI weights, optional f32 bias, grouped/depthwise.
#include <cmath>
#include <cstdint>

#include "kernels/cpu.h"
#include "kernels/ref/conv2d.h"
#include "kernels/ref/quant_math.h"
#include "ops/ops.h"
#include "ops/weights.h"
#include "thread_pool.h"

namespace qrt {

namespace {

struct Conv2DData {
  kernels::Conv2DShape shape;
  kernels::Requant rq;
  float act_min, act_max;
  // u8 fast path: at most one of conv/dwconv is set; neither means the
  // reference kernel. packed and indirection live in persistent memory.
  const kernels::ConvKernel* conv;
  const kernels::DwConvKernel* dwconv;
  const void* packed;
  const uint8_t* const* indirection;
  // Splitting output pixels over the pool: chunk edges on the GEMM row
  // tile, chunks of at least min_rows pixels, and each thread's slice of
  // ctx.scratch scratch_stride bytes apart.
  int64_t align, min_rows;
  size_t scratch_stride;
};

// Below this many MACs a chunk costs about as much to hand to another
// thread (~1 us) as to compute on a fast tier.
constexpr int64_t kMinChunkMacs = int64_t{1} << 17;

// Depthwise convs (channel multiplier 1) take their own kernels; every other
// u8 conv the general one; null leaves the layer on the reference.
void select_kernels(kernels::Isa isa, const kernels::Conv2DShape& sh,
                    const kernels::ConvKernel** conv, const kernels::DwConvKernel** dwconv) {
  *conv = nullptr;
  *dwconv = kernels::is_depthwise(sh) ? kernels::select_dwconv_kernel(isa, sh) : nullptr;
  if (!*dwconv) *conv = kernels::select_conv_kernel(isa);
}

}  // namespace

qrt_status prepare_conv2d(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& w = *ctx.input(1);
  const Tensor* bias = ctx.input(2);
  const Tensor& out = *ctx.output(0);
  const fb::Conv2DOptions& o = *ctx.op->options_as_Conv2DOptions();
  qrt_status s = expect_rank(ctx, in, "input", 4);
  if (s == QRT_OK) s = expect_rank(ctx, w, "weights", 4);
  if (s == QRT_OK) s = expect_rank(ctx, out, "output", 4);
  if (s != QRT_OK) return s;
  if (o.stride_h() < 1 || o.stride_w() < 1 || o.dilation_h() < 1 || o.dilation_w() < 1 ||
      o.pad_top() < 0 || o.pad_left() < 0 || o.pad_bottom() < 0 || o.pad_right() < 0 ||
      o.groups() < 1)
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "options out of range: stride %dx%d, dilation %dx%d, padding %d,%d,%d,%d, "
                   "groups %d",
                   o.stride_h(), o.stride_w(), o.dilation_h(), o.dilation_w(), o.pad_top(),
                   o.pad_left(), o.pad_bottom(), o.pad_right(), o.groups());
  const int32_t groups = o.groups();
  const int32_t in_c = in.dims[3], out_c = out.dims[3];
  if (in_c % groups != 0 || out_c % groups != 0)
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "%d input and %d output channels do not split into %d groups", in_c, out_c,
                   groups);
  const int32_t kh = w.dims[1], kw = w.dims[2];
  if (w.dims[0] != out_c || w.dims[3] != in_c / groups) {
    char shape[96];
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "weights '%s' have shape %s, expected (%d, kh, kw, %d) in OHWI layout", w.name,
                   format_shape(w, shape, sizeof(shape)), out_c, in_c / groups);
  }
  if (out.dims[0] != in.dims[0])
    return op_fail(ctx, QRT_INVALID_MODEL, "batch %d in, %d out", in.dims[0], out.dims[0]);
  const int64_t span_h = int64_t{o.dilation_h()} * (kh - 1) + 1;
  const int64_t span_w = int64_t{o.dilation_w()} * (kw - 1) + 1;
  const int64_t padded_h = int64_t{in.dims[1]} + o.pad_top() + o.pad_bottom();
  const int64_t padded_w = int64_t{in.dims[2]} + o.pad_left() + o.pad_right();
  // The kernel indexes rows as oy * stride - pad_top + ky * dilation in int;
  // every term and partial sum stays within [-pad_top, padded_h] when the
  // padded extent fits in int32.
  if (padded_h > INT32_MAX || padded_w > INT32_MAX)
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "padding %d,%d,%d,%d around a %dx%d input exceeds 2^31 - 1 rows or columns",
                   o.pad_top(), o.pad_left(), o.pad_bottom(), o.pad_right(), in.dims[1],
                   in.dims[2]);
  if (padded_h < span_h || padded_w < span_w ||
      (padded_h - span_h) / o.stride_h() + 1 != out.dims[1] ||
      (padded_w - span_w) / o.stride_w() + 1 != out.dims[2])
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "output is %dx%d, but a %dx%d kernel over %dx%d input gives %lldx%lld",
                   out.dims[1], out.dims[2], kh, kw, in.dims[1], in.dims[2],
                   static_cast<long long>(padded_h < span_h ? 0 : (padded_h - span_h) / o.stride_h() + 1),
                   static_cast<long long>(padded_w < span_w ? 0 : (padded_w - span_w) / o.stride_w() + 1));
  if (!w.is_constant) return op_fail(ctx, QRT_UNSUPPORTED, "weights '%s' must be constant", w.name);
  if (bias) {
    s = check_bias(ctx, *bias, out_c);
    if (s != QRT_OK) return s;
  }
  if (!(o.act_min() <= o.act_max()))
    return op_fail(ctx, QRT_INVALID_MODEL, "activation range [%g, %g] is empty",
                   static_cast<double>(o.act_min()), static_cast<double>(o.act_max()));

  const bool quant = in.dtype == DType::U8;
  if (quant) {
    s = expect_dtype(ctx, w, "weights", DType::S8);
    if (s == QRT_OK) s = expect_dtype(ctx, out, "output", DType::U8);
    if (s == QRT_OK) s = expect_per_tensor_quant(ctx, in, "input");
    if (s == QRT_OK) s = expect_per_tensor_quant(ctx, out, "output");
    if (s == QRT_OK) s = check_weight_quant(ctx, w, out_c);
    if (s != QRT_OK) return s;
    const int64_t depth = int64_t{kh} * kw * (in_c / groups);
    if (depth > kernels::kMaxAccumulationDepth)
      return op_fail(ctx, QRT_UNSUPPORTED,
                     "accumulation depth %lld exceeds %d (int32 accumulator could overflow)",
                     static_cast<long long>(depth), kernels::kMaxAccumulationDepth);
  } else {
    s = expect_dtype(ctx, in, "input", DType::F32);
    if (s == QRT_OK) s = expect_dtype(ctx, w, "weights", DType::F32);
    if (s == QRT_OK) s = expect_dtype(ctx, out, "output", DType::F32);
    if (s != QRT_OK) return s;
  }

  // The shape and the constant weights are known in both passes: the fast
  // kernels size their packed weights and indirection buffer from them, and
  // the fill pass must carve exactly what the sizing pass counted (the
  // packed size it keeps in ctx.packed_bytes).
  kernels::Conv2DShape sh;
  sh.batch = in.dims[0];
  sh.in_h = in.dims[1];
  sh.in_w = in.dims[2];
  sh.in_c = in_c;
  sh.out_h = out.dims[1];
  sh.out_w = out.dims[2];
  sh.out_c = out_c;
  sh.kernel_h = kh;
  sh.kernel_w = kw;
  sh.stride_h = o.stride_h();
  sh.stride_w = o.stride_w();
  sh.dilation_h = o.dilation_h();
  sh.dilation_w = o.dilation_w();
  sh.pad_top = o.pad_top();
  sh.pad_left = o.pad_left();
  sh.groups = groups;

  const kernels::ConvKernel* conv = nullptr;
  const kernels::DwConvKernel* dwconv = nullptr;
  if (quant) select_kernels(ctx.isa, sh, &conv, &dwconv);
  size_t packed_bytes = 0, indirection_entries = 0, scratch_stride = 0;
  ctx.scratch_bytes = 0;
  if (conv) {
    if (ctx.persistent->sizing())
      ctx.packed_bytes = conv->packed_bytes(sh, w.as<int8_t>(), ctx.profile);
    packed_bytes = ctx.packed_bytes;
    indirection_entries = conv->indirection_entries(sh);
    scratch_stride = request_scratch(ctx, conv->scratch_bytes(sh));
    ctx.kernel = conv->name;
  } else if (dwconv) {
    packed_bytes = dwconv->packed_bytes(sh);
    indirection_entries = dwconv->indirection_entries(sh);
    ctx.kernel = dwconv->name;
  } else {
    ctx.kernel = quant ? "conv2d_u8s8_ref" : "conv2d_f32_ref";
  }

  Conv2DData* d = ctx.persistent->take<Conv2DData>(1);
  RequantArrays arrays = take_requant_arrays(ctx, quant, out_c, w.per_channel);
  // Carver aligns every piece to 64 bytes: the packed weights need 4 and
  // their wide loads prefer a cache line.
  void* packed = packed_bytes ? ctx.persistent->take<uint8_t>(packed_bytes) : nullptr;
  const uint8_t** indirection =
      indirection_entries ? ctx.persistent->take<const uint8_t*>(indirection_entries) : nullptr;
  ctx.macs = static_cast<uint64_t>(out.elements) * kh * kw * (in_c / groups);
  if (ctx.persistent->sizing()) return QRT_OK;

  d->shape = sh;
  d->act_min = o.act_min();
  d->act_max = o.act_max();
  d->conv = conv;
  d->dwconv = dwconv;
  d->packed = packed;
  d->indirection = indirection;
  // The conv kernels walk pixels in GEMM row tiles of the tier's mr; a chunk
  // edge off the tile would leave a short tile in every chunk. Depthwise
  // kernels go pixel by pixel.
  const kernels::GemmKernel* gemm = conv ? kernels::select_gemm_kernel(ctx.isa) : nullptr;
  d->align = gemm ? gemm->mr : 1;
  d->min_rows = min_chunk_rows(static_cast<int64_t>(kh) * kw * (in_c / groups) * out_c,
                               kMinChunkMacs);
  d->scratch_stride = scratch_stride;
  if (quant) {
    s = make_requant(ctx, in, w, bias, out, o.act_min(), o.act_max(), arrays, &d->rq);
    if (s != QRT_OK) return s;
  }
  // Packing bakes in_zp, the requantization and the weight sums; the
  // indirection buffer points at the input tensor, whose address (arena or
  // model) is fixed from this pass on.
  if (conv) {
    kernels::ConvPackParams p;
    p.shape = sh;
    p.w = w.as<int8_t>();
    p.in_zp = in.zero_point;
    p.rq = &d->rq;
    conv->pack(p, packed);
    if (indirection) conv->build_indirection(packed, in.as<uint8_t>(), indirection);
  } else if (dwconv) {
    kernels::DwConvPackParams p;
    p.shape = sh;
    p.w = w.as<int8_t>();
    p.in_zp = in.zero_point;
    p.rq = &d->rq;
    dwconv->pack(p, packed);
    dwconv->build_indirection(packed, in.as<uint8_t>(), indirection);
  }
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_conv2d(OpContext& ctx) {
  const Conv2DData& d = *static_cast<const Conv2DData*>(ctx.data);
  const Tensor& in = *ctx.input(0);
  const Tensor& w = *ctx.input(1);
  const Tensor* bias = ctx.input(2);
  Tensor& out = *ctx.output(0);
  // Output pixels are numbered m = (n * out_h + oy) * out_w + ox.
  const int pixels = d.shape.batch * d.shape.out_h * d.shape.out_w;
  if (d.conv) {
    kernels::ConvArgs args;
    args.packed = d.packed;
    args.in = in.as<uint8_t>();
    args.indirection = d.indirection;
    args.out = out.as<uint8_t>();
    parallel_for(ctx.pool, pixels, d.align, d.min_rows,
                 [&](int64_t begin, int64_t end, int32_t slot) {
                   d.conv->run(args, static_cast<int>(begin), static_cast<int>(end),
                               ctx.scratch + static_cast<size_t>(slot) * d.scratch_stride);
                 });
    return QRT_OK;
  }
  if (d.dwconv) {
    kernels::DwConvArgs args;
    args.packed = d.packed;
    args.indirection = d.indirection;
    args.out = out.as<uint8_t>();
    parallel_for(ctx.pool, pixels, d.align, d.min_rows,
                 [&](int64_t begin, int64_t end, int32_t) {
                   d.dwconv->run(args, static_cast<int>(begin), static_cast<int>(end));
                 });
    return QRT_OK;
  }
  if (in.dtype == DType::U8)
    kernels::conv2d_u8s8_ref(d.shape, in.as<uint8_t>(), in.zero_point, w.as<int8_t>(), d.rq,
                             out.as<uint8_t>());
  else
    kernels::conv2d_f32_ref(d.shape, in.as<float>(), w.as<float>(),
                            bias ? bias->as<float>() : nullptr, d.act_min, d.act_max,
                            out.as<float>());
  return QRT_OK;
}

}  // namespace qrt
