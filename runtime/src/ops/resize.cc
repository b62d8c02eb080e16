// RESIZE of H and W of NHWC tensors (ONNX Resize, F.interpolate): nearest
// for any dtype, bilinear for f32 and u8. Quantized tensors keep their
// params, as PyTorch's quantized upsampling does.
#include <cmath>

#include "kernels/ref/resize.h"
#include "ops/ops.h"

namespace qrt {

namespace {

struct ResizeData {
  kernels::ResizeParams params;
  bool bilinear;
};

}  // namespace

qrt_status prepare_resize(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  const fb::ResizeOptions* o = ctx.op->options_as_ResizeOptions();
  if (!o) return op_fail(ctx, QRT_INVALID_MODEL, "ResizeOptions are missing");
  qrt_status s = expect_rank(ctx, in, "input", 4);
  if (s == QRT_OK) s = expect_rank(ctx, out, "output", 4);
  if (s == QRT_OK) s = expect_dtype(ctx, out, "output", in.dtype);
  if (s == QRT_OK) s = expect_same_quant(ctx, in, "input", out, "output");
  if (s == QRT_OK && in.quantized()) s = expect_per_tensor_quant(ctx, in, "input");
  if (s != QRT_OK) return s;
  if (out.dims[0] != in.dims[0] || out.dims[3] != in.dims[3]) {
    char a[96], b[96];
    return op_fail(ctx, QRT_INVALID_MODEL, "input %s and output %s differ outside H and W",
                   format_shape(in, a, sizeof(a)), format_shape(out, b, sizeof(b)));
  }
  const bool bilinear = o->mode() == fb::ResizeMode::BILINEAR;
  if (!bilinear && o->mode() != fb::ResizeMode::NEAREST)
    return op_fail(ctx, QRT_UNSUPPORTED, "resize mode %d is unknown", static_cast<int>(o->mode()));
  if (bilinear && in.dtype != DType::F32 && !(in.dtype == DType::U8 && in.quantized()))
    return op_fail(ctx, QRT_UNSUPPORTED, "bilinear resize of %s%s input is not supported",
                   in.quantized() ? "quantized " : "", dtype_name(in.dtype));
  if (static_cast<int>(o->coordinate_mode()) > static_cast<int>(fb::CoordinateMode::MAX) ||
      static_cast<int>(o->nearest_mode()) > static_cast<int>(fb::NearestMode::MAX))
    return op_fail(ctx, QRT_UNSUPPORTED, "coordinate mode %d or nearest mode %d is unknown",
                   static_cast<int>(o->coordinate_mode()), static_cast<int>(o->nearest_mode()));
  const float sh = o->scale_h(), sw = o->scale_w();
  if (!(std::isfinite(sh) && sh >= 0.f) || !(std::isfinite(sw) && sw >= 0.f))
    return op_fail(ctx, QRT_INVALID_MODEL, "scales %g, %g must be finite and >= 0 (0: from the sizes)",
                   static_cast<double>(sh), static_cast<double>(sw));
  ResizeData* d = ctx.persistent->take<ResizeData>(1);
  if (ctx.persistent->sizing()) return QRT_OK;
  kernels::ResizeParams& p = d->params;
  p = kernels::ResizeParams{};
  p.batch = in.dims[0];
  p.in_h = in.dims[1];
  p.in_w = in.dims[2];
  p.channels = in.dims[3];
  p.out_h = out.dims[1];
  p.out_w = out.dims[2];
  p.coord = static_cast<kernels::ResizeCoord>(o->coordinate_mode());
  p.nearest = static_cast<kernels::NearestRound>(o->nearest_mode());
  p.scale_h = sh;
  p.scale_w = sw;
  d->bilinear = bilinear;
  ctx.macs = bilinear ? out.elements * 4 : 0;
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_resize(OpContext& ctx) {
  const ResizeData& d = *static_cast<const ResizeData*>(ctx.data);
  const Tensor& in = *ctx.input(0);
  Tensor& out = *ctx.output(0);
  if (!d.bilinear)
    kernels::resize_nearest_ref(d.params, dtype_size(in.dtype), in.quantized(), in.data, out.data);
  else if (in.dtype == DType::U8)
    kernels::resize_bilinear_u8_ref(d.params, in.zero_point, in.as<uint8_t>(), out.as<uint8_t>());
  else
    kernels::resize_bilinear_f32_ref(d.params, in.as<float>(), out.as<float>());
  return QRT_OK;
}

}  // namespace qrt
