// TRANSPOSE_CONV_2D: NHWC input, OHWI weights (O = out_channels,
// I = in_channels / groups), optional f32 bias; the output tensor's size fixes
// output_padding.
#include <cstdint>

#include "kernels/ref/quant_math.h"
#include "kernels/ref/transpose_conv2d.h"
#include "ops/ops.h"
#include "ops/weights.h"

namespace qrt {

namespace {

struct TransposeConv2DData {
  kernels::Conv2DShape shape;
  kernels::Requant rq;
  float act_min, act_max;
};

// The output size without output_padding along one axis:
// (in - 1) * stride + dilation * (kernel - 1) + 1 - pad_begin - pad_end.
int64_t base_size(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin,
                  int64_t pad_end) {
  return (in - 1) * stride + dilation * (kernel - 1) + 1 - pad_begin - pad_end;
}

}  // namespace

qrt_status prepare_transpose_conv2d(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& w = *ctx.input(1);
  const Tensor* bias = ctx.input(2);
  const Tensor& out = *ctx.output(0);
  const fb::TransposeConv2DOptions& o = *ctx.op->options_as_TransposeConv2DOptions();
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
                   "weights '%s' have shape %s, expected (%d, kh, kw, %d) in OHWI layout "
                   "(O = output channels, I = input channels / groups)",
                   w.name, format_shape(w, shape, sizeof(shape)), out_c, in_c / groups);
  }
  if (out.dims[0] != in.dims[0])
    return op_fail(ctx, QRT_INVALID_MODEL, "batch %d in, %d out", in.dims[0], out.dims[0]);
  // output_padding = out - base must lie in [0, max(stride, dilation)), as
  // PyTorch requires of ConvTranspose2d.
  const int64_t base_h =
      base_size(in.dims[1], kh, o.stride_h(), o.dilation_h(), o.pad_top(), o.pad_bottom());
  const int64_t base_w =
      base_size(in.dims[2], kw, o.stride_w(), o.dilation_w(), o.pad_left(), o.pad_right());
  const int64_t extra_h = out.dims[1] - base_h, extra_w = out.dims[2] - base_w;
  const int64_t limit_h = o.stride_h() > o.dilation_h() ? o.stride_h() : o.dilation_h();
  const int64_t limit_w = o.stride_w() > o.dilation_w() ? o.stride_w() : o.dilation_w();
  if (extra_h < 0 || extra_h >= limit_h || extra_w < 0 || extra_w >= limit_w)
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "output is %dx%d, but a %dx%d kernel over %dx%d input gives %lldx%lld plus "
                   "an output padding below %lldx%lld",
                   out.dims[1], out.dims[2], kh, kw, in.dims[1], in.dims[2],
                   static_cast<long long>(base_h), static_cast<long long>(base_w),
                   static_cast<long long>(limit_h), static_cast<long long>(limit_w));
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
    // At most every tap of the kernel reaches one output.
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

  TransposeConv2DData* d = ctx.persistent->take<TransposeConv2DData>(1);
  RequantArrays arrays = take_requant_arrays(ctx, quant, out_c, w.per_channel);
  ctx.macs = static_cast<uint64_t>(in.elements) * kh * kw * (out_c / groups);
  if (ctx.persistent->sizing()) return QRT_OK;

  kernels::Conv2DShape& sh = d->shape;
  sh = kernels::Conv2DShape{};
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
  d->act_min = o.act_min();
  d->act_max = o.act_max();
  if (quant) {
    s = make_requant(ctx, in, w, bias, out, o.act_min(), o.act_max(), arrays, &d->rq);
    if (s != QRT_OK) return s;
  }
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_transpose_conv2d(OpContext& ctx) {
  const TransposeConv2DData& d = *static_cast<const TransposeConv2DData*>(ctx.data);
  const Tensor& in = *ctx.input(0);
  const Tensor& w = *ctx.input(1);
  const Tensor* bias = ctx.input(2);
  Tensor& out = *ctx.output(0);
  if (in.dtype == DType::U8)
    kernels::transpose_conv2d_u8s8_ref(d.shape, in.as<uint8_t>(), in.zero_point, w.as<int8_t>(),
                                       d.rq, out.as<uint8_t>());
  else
    kernels::transpose_conv2d_f32_ref(d.shape, in.as<float>(), w.as<float>(),
                                      bias ? bias->as<float>() : nullptr, d.act_min, d.act_max,
                                      out.as<float>());
  return QRT_OK;
}

}  // namespace qrt
