// MAX_POOL_2D and GLOBAL_AVG_POOL over NHWC tensors.
#include "kernels/ref/pool.h"
#include "kernels/ref/quant_math.h"
#include "ops/ops.h"

namespace qrt {

namespace {

struct GlobalAvgPoolData {
  kernels::GlobalAvgPoolParams params;
  int32_t batch, hw, channels;
};

// Largest pixel count whose u8 sum stays exact (kernels/ref/quant_math.h).
constexpr int64_t kMaxPoolPixels = int64_t{1} << 23;

}  // namespace

qrt_status prepare_max_pool2d(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  const fb::Pool2DOptions& o = *ctx.op->options_as_Pool2DOptions();
  qrt_status s = expect_rank(ctx, in, "input", 4);
  if (s == QRT_OK) s = expect_rank(ctx, out, "output", 4);
  if (s == QRT_OK) s = expect_dtype(ctx, out, "output", in.dtype);
  if (s == QRT_OK) s = expect_same_quant(ctx, in, "input", out, "output");
  if (s != QRT_OK) return s;
  if (in.dtype != DType::U8 && in.dtype != DType::F32)
    return op_fail(ctx, QRT_UNSUPPORTED, "%s input is not supported", dtype_name(in.dtype));
  // Padding smaller than the kernel keeps every window non-empty.
  if (o.kernel_h() < 1 || o.kernel_w() < 1 || o.stride_h() < 1 || o.stride_w() < 1 ||
      o.pad_top() < 0 || o.pad_left() < 0 || o.pad_bottom() < 0 || o.pad_right() < 0 ||
      o.pad_top() >= o.kernel_h() || o.pad_bottom() >= o.kernel_h() ||
      o.pad_left() >= o.kernel_w() || o.pad_right() >= o.kernel_w())
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "options out of range: kernel %dx%d, stride %dx%d, padding %d,%d,%d,%d",
                   o.kernel_h(), o.kernel_w(), o.stride_h(), o.stride_w(), o.pad_top(),
                   o.pad_left(), o.pad_bottom(), o.pad_right());
  const int64_t padded_h = int64_t{in.dims[1]} + o.pad_top() + o.pad_bottom();
  const int64_t padded_w = int64_t{in.dims[2]} + o.pad_left() + o.pad_right();
  if (out.dims[0] != in.dims[0] || out.dims[3] != in.dims[3] || padded_h < o.kernel_h() ||
      padded_w < o.kernel_w() || (padded_h - o.kernel_h()) / o.stride_h() + 1 != out.dims[1] ||
      (padded_w - o.kernel_w()) / o.stride_w() + 1 != out.dims[2]) {
    char a[96], b[96];
    return op_fail(ctx, QRT_INVALID_MODEL, "input %s does not pool to output %s",
                   format_shape(in, a, sizeof(a)), format_shape(out, b, sizeof(b)));
  }
  kernels::Pool2DShape* d = ctx.persistent->take<kernels::Pool2DShape>(1);
  if (ctx.persistent->sizing()) return QRT_OK;
  *d = kernels::Pool2DShape{};
  d->batch = in.dims[0];
  d->in_h = in.dims[1];
  d->in_w = in.dims[2];
  d->channels = in.dims[3];
  d->out_h = out.dims[1];
  d->out_w = out.dims[2];
  d->kernel_h = o.kernel_h();
  d->kernel_w = o.kernel_w();
  d->stride_h = o.stride_h();
  d->stride_w = o.stride_w();
  d->pad_top = o.pad_top();
  d->pad_left = o.pad_left();
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_max_pool2d(OpContext& ctx) {
  const kernels::Pool2DShape& d = *static_cast<const kernels::Pool2DShape*>(ctx.data);
  const Tensor& in = *ctx.input(0);
  Tensor& out = *ctx.output(0);
  if (in.dtype == DType::U8)
    kernels::max_pool2d_u8_ref(d, in.as<uint8_t>(), out.as<uint8_t>());
  else
    kernels::max_pool2d_f32_ref(d, in.as<float>(), out.as<float>());
  return QRT_OK;
}

qrt_status prepare_global_avg_pool(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  qrt_status s = expect_rank(ctx, in, "input", 4);
  if (s == QRT_OK) s = expect_dtype(ctx, out, "output", in.dtype);
  if (s != QRT_OK) return s;
  const int32_t n = in.dims[0], c = in.dims[3];
  const bool nc = out.rank == 2 && out.dims[0] == n && out.dims[1] == c;
  const bool n11c = out.rank == 4 && out.dims[0] == n && out.dims[1] == 1 && out.dims[2] == 1 &&
                    out.dims[3] == c;
  if (!nc && !n11c) {
    char a[96], b[96];
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "input %s pools to (%d, 1, 1, %d) or (%d, %d), not %s",
                   format_shape(in, a, sizeof(a)), n, c, n, c, format_shape(out, b, sizeof(b)));
  }
  const int64_t hw = int64_t{in.dims[1]} * in.dims[2];
  const bool quant = in.dtype == DType::U8;
  if (quant) {
    s = expect_per_tensor_quant(ctx, in, "input");
    if (s == QRT_OK) s = expect_per_tensor_quant(ctx, out, "output");
    if (s != QRT_OK) return s;
    if (hw >= kMaxPoolPixels)
      return op_fail(ctx, QRT_UNSUPPORTED, "%lld pixels per channel exceed 2^23",
                     static_cast<long long>(hw));
  } else if (in.dtype != DType::F32) {
    return op_fail(ctx, QRT_UNSUPPORTED, "%s input is not supported", dtype_name(in.dtype));
  }
  GlobalAvgPoolData* d = ctx.persistent->take<GlobalAvgPoolData>(1);
  ctx.macs = in.elements;
  if (ctx.persistent->sizing()) return QRT_OK;
  d->batch = n;
  d->hw = static_cast<int32_t>(hw);
  d->channels = c;
  if (quant)
    d->params = kernels::make_global_avg_pool_params(ctx.profile, in.scale, in.zero_point,
                                                     out.scale, out.zero_point, d->hw);
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_global_avg_pool(OpContext& ctx) {
  const GlobalAvgPoolData& d = *static_cast<const GlobalAvgPoolData*>(ctx.data);
  const Tensor& in = *ctx.input(0);
  Tensor& out = *ctx.output(0);
  if (in.dtype == DType::U8)
    kernels::global_avg_pool_u8_ref(d.params, d.batch, d.hw, d.channels, in.as<uint8_t>(),
                                    out.as<uint8_t>());
  else
    kernels::global_avg_pool_f32_ref(d.batch, d.hw, d.channels, in.as<float>(),
                                     out.as<float>());
  return QRT_OK;
}

}  // namespace qrt
