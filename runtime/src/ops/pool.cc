// MAX_POOL_2D, AVG_POOL_2D, ADAPTIVE_AVG_POOL_2D and GLOBAL_AVG_POOL over
// NHWC tensors. The uint8 GLOBAL_AVG_POOL and AVG_POOL_2D run the fast
// kernels of the interpreter's tier when it has them (bit-exact with
// global_avg_pool_u8_ref and avg_pool2d_u8_ref). MAX_POOL_2D and
// AVG_POOL_2D split their output rows over the thread pool.
#include <algorithm>

#include "kernels/cpu.h"
#include "kernels/ref/pool.h"
#include "kernels/ref/quant_math.h"
#include "ops/ops.h"
#include "thread_pool.h"

namespace qrt {

namespace {

struct MaxPoolData {
  kernels::Pool2DWindow window;
  bool qnnpack_kernel;  // QNNPACK's edge-clamped taps (max_pool2d_u8_qnnpack_ref)
};

struct AvgPoolData {
  kernels::Pool2DWindow window;
  kernels::AvgPoolParams params;  // also carries the f32 divisor options
  const kernels::PoolKernel* fast;  // uint8 on a tier with a fast kernel; else null
};

struct AdaptiveAvgPoolData {
  kernels::AdaptivePool2DShape shape;
  kernels::AvgPoolParams params;
};

struct GlobalAvgPoolData {
  kernels::GlobalAvgPoolParams params;
  int32_t batch, hw, channels;
  const kernels::PoolKernel* fast;  // uint8 on a tier with a fast kernel; else null
};

// Largest pixel count whose u8 sum stays exact (255 * 2^23 < 2^31).
constexpr int64_t kMaxPoolPixels = int64_t{1} << 23;

// Taps a chunk of output rows should hold at least: the pools take tens of
// taps a nanosecond, so a smaller chunk would cost about as much to hand to
// another thread (~1 us) as to compute.
constexpr int64_t kMinChunkTaps = int64_t{1} << 16;

// run(band, band_in, band_out) over the output rows of every image of w,
// split over pool by rows (kernels::pool2d_row_band); with one thread,
// each image whole.
template <class T, class Run>
void pool_rows(ThreadPool* pool, const kernels::Pool2DWindow& w, const T* in, T* out,
               const Run& run) {
  const size_t in_row = static_cast<size_t>(w.in_w) * w.channels;
  const size_t out_row = static_cast<size_t>(w.out_w) * w.channels;
  const int64_t area = std::min(int64_t{w.kernel_h} * w.kernel_w, kMinChunkTaps);
  const int64_t row_taps = std::min(static_cast<int64_t>(out_row), kMinChunkTaps) * area;
  const int64_t rows = int64_t{w.batch} * w.out_h;
  parallel_for(pool, rows, 1, min_chunk_rows(row_taps, kMinChunkTaps),
               [&](int64_t begin, int64_t end, int32_t) {
                 while (begin < end) {
                   const int n = static_cast<int>(begin / w.out_h);
                   const int oy0 = static_cast<int>(begin % w.out_h);
                   const int oy1 = static_cast<int>(std::min<int64_t>(w.out_h, oy0 + end - begin));
                   int first = 0;
                   const kernels::Pool2DWindow band = kernels::pool2d_row_band(w, oy0, oy1, &first);
                   run(band, in + (static_cast<size_t>(n) * w.in_h + first) * in_row,
                       out + (static_cast<size_t>(n) * w.out_h + oy0) * out_row);
                   begin += oy1 - oy0;
                 }
               });
}

// QNNPACK's average pooling refuses input/output scale ratios outside
// [2^-8, 2^8) (pytorch_qnnp_create_average_pooling2d_nhwc_q8).
bool qnnpack_avg_pool_ratio_ok(float in_scale, float out_scale) {
  const float ratio = in_scale / out_scale;
  return ratio >= 0x1.0p-8f && ratio < 0x1.0p+8f;
}

qrt_status expect_u8_or_f32(OpContext& ctx, const Tensor& in) {
  if (in.dtype == DType::U8 || in.dtype == DType::F32) return QRT_OK;
  return op_fail(ctx, QRT_UNSUPPORTED, "%s input is not supported", dtype_name(in.dtype));
}

// Checks shared by the windowed pools and the window they describe.
qrt_status prepare_window(OpContext& ctx, const Tensor& in, const Tensor& out,
                          kernels::Pool2DWindow* window) {
  const fb::Pool2DOptions& o = *ctx.op->options_as_Pool2DOptions();
  qrt_status s = expect_rank(ctx, in, "input", 4);
  if (s == QRT_OK) s = expect_rank(ctx, out, "output", 4);
  if (s == QRT_OK) s = expect_dtype(ctx, out, "output", in.dtype);
  if (s == QRT_OK) s = expect_u8_or_f32(ctx, in);
  if (s != QRT_OK) return s;
  // Padding smaller than the kernel keeps every window non-empty without
  // dilation (a window starts at or after -pad and, by the output-size rule,
  // before the input's end).
  if (o.kernel_h() < 1 || o.kernel_w() < 1 || o.stride_h() < 1 || o.stride_w() < 1 ||
      o.dilation_h() < 1 || o.dilation_w() < 1 || o.pad_top() < 0 || o.pad_left() < 0 ||
      o.pad_bottom() < 0 || o.pad_right() < 0 || o.pad_top() >= o.kernel_h() ||
      o.pad_bottom() >= o.kernel_h() || o.pad_left() >= o.kernel_w() ||
      o.pad_right() >= o.kernel_w())
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "options out of range: kernel %dx%d, stride %dx%d, dilation %dx%d, "
                   "padding %d,%d,%d,%d (each pad must be below the kernel)",
                   o.kernel_h(), o.kernel_w(), o.stride_h(), o.stride_w(), o.dilation_h(),
                   o.dilation_w(), o.pad_top(), o.pad_left(), o.pad_bottom(), o.pad_right());
  const int64_t padded_h = int64_t{in.dims[1]} + o.pad_top() + o.pad_bottom();
  const int64_t padded_w = int64_t{in.dims[2]} + o.pad_left() + o.pad_right();
  // The kernels index rows as oy * stride - pad_top (+ ky * dilation for taps
  // inside the input) in int; with the padded extent in int32 and at least
  // one window, every such value lies within [-pad_top, padded_h].
  if (padded_h > INT32_MAX || padded_w > INT32_MAX)
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "padding %d,%d,%d,%d around a %dx%d input exceeds 2^31 - 1 rows or columns",
                   o.pad_top(), o.pad_left(), o.pad_bottom(), o.pad_right(), in.dims[1],
                   in.dims[2]);
  const int64_t want_h = kernels::pooled_size(in.dims[1], o.kernel_h(), o.stride_h(), o.pad_top(),
                                              o.pad_bottom(), o.dilation_h(), o.ceil_mode());
  const int64_t want_w = kernels::pooled_size(in.dims[2], o.kernel_w(), o.stride_w(), o.pad_left(),
                                              o.pad_right(), o.dilation_w(), o.ceil_mode());
  if (out.dims[0] != in.dims[0] || out.dims[3] != in.dims[3] || want_h < 1 || want_w < 1 ||
      out.dims[1] != want_h || out.dims[2] != want_w) {
    char a[96], b[96];
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "input %s does not pool to output %s (expected (%d, %lld, %lld, %d)%s)",
                   format_shape(in, a, sizeof(a)), format_shape(out, b, sizeof(b)), in.dims[0],
                   static_cast<long long>(want_h), static_cast<long long>(want_w), in.dims[3],
                   o.ceil_mode() ? " with ceil_mode" : "");
  }
  *window = kernels::Pool2DWindow{};
  window->batch = in.dims[0];
  window->in_h = in.dims[1];
  window->in_w = in.dims[2];
  window->channels = in.dims[3];
  window->out_h = out.dims[1];
  window->out_w = out.dims[2];
  window->kernel_h = o.kernel_h();
  window->kernel_w = o.kernel_w();
  window->stride_h = o.stride_h();
  window->stride_w = o.stride_w();
  window->dilation_h = o.dilation_h();
  window->dilation_w = o.dilation_w();
  window->pad_top = o.pad_top();
  window->pad_left = o.pad_left();
  window->pad_bottom = o.pad_bottom();
  window->pad_right = o.pad_right();
  return QRT_OK;
}

}  // namespace

qrt_status prepare_max_pool2d(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  kernels::Pool2DWindow window;
  qrt_status s = prepare_window(ctx, in, out, &window);
  if (s == QRT_OK) s = expect_same_quant(ctx, in, "input", out, "output");
  if (s != QRT_OK) return s;
  MaxPoolData* d = ctx.persistent->take<MaxPoolData>(1);
  ctx.macs = static_cast<uint64_t>(out.elements) * static_cast<uint64_t>(window.kernel_h) *
             static_cast<uint64_t>(window.kernel_w);
  if (ctx.persistent->sizing()) return QRT_OK;
  d->window = window;
  // PyTorch's qnnpack engine runs QNNPACK's max pooling on uint8 unless
  // ceil_mode is set, which it routes to the generic kernel. (QNNPACK refuses
  // a 1x1 kernel, so PyTorch raises there; qrt computes the plain max.)
  d->qnnpack_kernel = ctx.profile == kernels::Profile::qnnpack &&
                      !ctx.op->options_as_Pool2DOptions()->ceil_mode();
  ctx.kernel = in.dtype == DType::F32 ? "max_pool2d_f32_ref"
               : d->qnnpack_kernel    ? "max_pool2d_u8_qnnpack_ref"
                                      : "max_pool2d_u8_ref";
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_max_pool2d(OpContext& ctx) {
  const MaxPoolData& d = *static_cast<const MaxPoolData*>(ctx.data);
  const Tensor& in = *ctx.input(0);
  Tensor& out = *ctx.output(0);
  if (in.dtype == DType::F32) {
    pool_rows(ctx.pool, d.window, in.as<float>(), out.as<float>(),
              [](const kernels::Pool2DWindow& w, const float* i, float* o) {
                kernels::max_pool2d_f32_ref(w, i, o);
              });
  } else {
    const bool qnnpack = d.qnnpack_kernel;
    pool_rows(ctx.pool, d.window, in.as<uint8_t>(), out.as<uint8_t>(),
              [qnnpack](const kernels::Pool2DWindow& w, const uint8_t* i, uint8_t* o) {
                if (qnnpack)
                  kernels::max_pool2d_u8_qnnpack_ref(w, i, o);
                else
                  kernels::max_pool2d_u8_ref(w, i, o);
              });
  }
  return QRT_OK;
}

qrt_status prepare_avg_pool2d(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  const fb::Pool2DOptions& o = *ctx.op->options_as_Pool2DOptions();
  kernels::Pool2DWindow window;
  qrt_status s = prepare_window(ctx, in, out, &window);
  if (s != QRT_OK) return s;
  if (o.dilation_h() != 1 || o.dilation_w() != 1)
    return op_fail(ctx, QRT_UNSUPPORTED,
                   "dilation %dx%d: PyTorch has no dilated average pooling", o.dilation_h(),
                   o.dilation_w());
  if (o.divisor_override() < 0)
    return op_fail(ctx, QRT_INVALID_MODEL, "divisor_override %d is negative",
                   o.divisor_override());
  const int64_t area = int64_t{o.kernel_h()} * o.kernel_w();
  const bool quant = in.dtype == DType::U8;
  // PyTorch's qnnpack engine runs QNNPACK's average pooling unless ceil_mode
  // is set, which it routes to the generic kernel. (QNNPACK refuses a 1x1
  // kernel, so PyTorch raises there; qrt applies the same formula.)
  const bool qnnpack_kernel = ctx.profile == kernels::Profile::qnnpack && !o.ceil_mode();
  if (quant) {
    s = expect_per_tensor_quant(ctx, in, "input");
    if (s == QRT_OK) s = expect_per_tensor_quant(ctx, out, "output");
    if (s != QRT_OK) return s;
    if (area >= kMaxPoolPixels)
      return op_fail(ctx, QRT_UNSUPPORTED, "kernel %dx%d has 2^23 or more taps", o.kernel_h(),
                     o.kernel_w());
    if (qnnpack_kernel && !qnnpack_avg_pool_ratio_ok(in.scale, out.scale))
      return op_fail(ctx, QRT_UNSUPPORTED,
                     "input scale %g / output scale %g is outside QNNPACK's [2^-8, 2^8)",
                     static_cast<double>(in.scale), static_cast<double>(out.scale));
  }
  const kernels::PoolKernel* fast = quant ? kernels::select_pool_kernel(ctx.isa) : nullptr;
  if (fast)
    ctx.kernel = fast->avg_name;
  else
    ctx.kernel = quant ? "avg_pool2d_u8_ref" : "avg_pool2d_f32_ref";
  AvgPoolData* d = ctx.persistent->take<AvgPoolData>(1);
  ctx.macs = static_cast<uint64_t>(out.elements) * static_cast<uint64_t>(area);
  if (ctx.persistent->sizing()) return QRT_OK;
  d->window = window;
  d->fast = fast;
  if (quant) {
    d->params = kernels::make_avg_pool_params(qnnpack_kernel, in.scale, in.zero_point, out.scale,
                                              out.zero_point, area, o.count_include_pad(),
                                              o.divisor_override());
  } else {
    d->params = kernels::AvgPoolParams{};
    d->params.count_include_pad = o.count_include_pad();
    d->params.divisor_override = o.divisor_override();
  }
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_avg_pool2d(OpContext& ctx) {
  const AvgPoolData& d = *static_cast<const AvgPoolData*>(ctx.data);
  const Tensor& in = *ctx.input(0);
  Tensor& out = *ctx.output(0);
  if (in.dtype == DType::U8) {
    pool_rows(ctx.pool, d.window, in.as<uint8_t>(), out.as<uint8_t>(),
              [&d](const kernels::Pool2DWindow& w, const uint8_t* i, uint8_t* o) {
                if (d.fast)
                  d.fast->avg(w, d.params, i, o);
                else
                  kernels::avg_pool2d_u8_ref(w, d.params, i, o);
              });
  } else {
    pool_rows(ctx.pool, d.window, in.as<float>(), out.as<float>(),
              [&d](const kernels::Pool2DWindow& w, const float* i, float* o) {
                kernels::avg_pool2d_f32_ref(w, d.params.count_include_pad,
                                            d.params.divisor_override, i, o);
              });
  }
  return QRT_OK;
}

qrt_status prepare_adaptive_avg_pool2d(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  qrt_status s = expect_rank(ctx, in, "input", 4);
  if (s == QRT_OK) s = expect_rank(ctx, out, "output", 4);
  if (s == QRT_OK) s = expect_dtype(ctx, out, "output", in.dtype);
  if (s == QRT_OK) s = expect_u8_or_f32(ctx, in);
  if (s != QRT_OK) return s;
  if (out.dims[0] != in.dims[0] || out.dims[3] != in.dims[3]) {
    char a[96], b[96];
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "input %s and output %s differ in batch or channels",
                   format_shape(in, a, sizeof(a)), format_shape(out, b, sizeof(b)));
  }
  const int32_t in_h = in.dims[1], in_w = in.dims[2], out_h = out.dims[1], out_w = out.dims[2];
  const int64_t in_pixels = int64_t{in_h} * in_w;
  // PyTorch's qnnpack engine runs QNNPACK's average pooling with kernel =
  // stride = in / out when the sizes divide and the pooling is not the
  // identity (enable_qnnpack_for_ada_avgpool); otherwise the generic kernel.
  const bool qnnpack_kernel = ctx.profile == kernels::Profile::qnnpack && in_h % out_h == 0 &&
                              in_w % out_w == 0 && (in_h != out_h || in_w != out_w);
  const int64_t area = qnnpack_kernel ? int64_t{in_h / out_h} * (in_w / out_w) : 1;
  const bool quant = in.dtype == DType::U8;
  if (quant) {
    s = expect_per_tensor_quant(ctx, in, "input");
    if (s == QRT_OK) s = expect_per_tensor_quant(ctx, out, "output");
    if (s != QRT_OK) return s;
    // A window never exceeds the input, and the float window bounds are
    // exact while o * in < 2^24.
    if (in_pixels >= kMaxPoolPixels || int64_t{out_h} * in_h >= (int64_t{1} << 24) ||
        int64_t{out_w} * in_w >= (int64_t{1} << 24))
      return op_fail(ctx, QRT_UNSUPPORTED,
                     "%dx%d -> %dx%d is too large (input pixels and output * input size must "
                     "stay below 2^23 and 2^24)",
                     in_h, in_w, out_h, out_w);
    if (qnnpack_kernel && !qnnpack_avg_pool_ratio_ok(in.scale, out.scale))
      return op_fail(ctx, QRT_UNSUPPORTED,
                     "input scale %g / output scale %g is outside QNNPACK's [2^-8, 2^8)",
                     static_cast<double>(in.scale), static_cast<double>(out.scale));
  }
  AdaptiveAvgPoolData* d = ctx.persistent->take<AdaptiveAvgPoolData>(1);
  ctx.macs = static_cast<uint64_t>(int64_t{in.dims[0]} * in.dims[3] *
                                   kernels::adaptive_window_taps(in_h, out_h) *
                                   kernels::adaptive_window_taps(in_w, out_w));
  if (ctx.persistent->sizing()) return QRT_OK;
  d->shape = kernels::AdaptivePool2DShape{};
  d->shape.batch = in.dims[0];
  d->shape.in_h = in_h;
  d->shape.in_w = in_w;
  d->shape.channels = in.dims[3];
  d->shape.out_h = out_h;
  d->shape.out_w = out_w;
  d->params = quant ? kernels::make_avg_pool_params(qnnpack_kernel, in.scale, in.zero_point,
                                                    out.scale, out.zero_point, area, true, 0)
                    : kernels::AvgPoolParams{};
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_adaptive_avg_pool2d(OpContext& ctx) {
  const AdaptiveAvgPoolData& d = *static_cast<const AdaptiveAvgPoolData*>(ctx.data);
  const Tensor& in = *ctx.input(0);
  Tensor& out = *ctx.output(0);
  if (in.dtype == DType::U8)
    kernels::adaptive_avg_pool2d_u8_ref(d.shape, d.params, in.as<uint8_t>(), out.as<uint8_t>());
  else
    kernels::adaptive_avg_pool2d_f32_ref(d.shape, in.as<float>(), out.as<float>());
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
  const kernels::PoolKernel* fast = quant ? kernels::select_pool_kernel(ctx.isa) : nullptr;
  if (fast)
    ctx.kernel = fast->global_avg_name;
  else
    ctx.kernel = quant ? "global_avg_pool_u8_ref" : "global_avg_pool_f32_ref";
  GlobalAvgPoolData* d = ctx.persistent->take<GlobalAvgPoolData>(1);
  ctx.macs = in.elements;
  if (ctx.persistent->sizing()) return QRT_OK;
  d->fast = fast;
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
  if (d.fast)
    d.fast->global_avg(d.params, d.batch, d.hw, d.channels, in.as<uint8_t>(),
                       out.as<uint8_t>());
  else if (in.dtype == DType::U8)
    kernels::global_avg_pool_u8_ref(d.params, d.batch, d.hw, d.channels, in.as<uint8_t>(),
                                    out.as<uint8_t>());
  else
    kernels::global_avg_pool_f32_ref(d.batch, d.hw, d.channels, in.as<float>(),
                                     out.as<float>());
  return QRT_OK;
}

}  // namespace qrt
