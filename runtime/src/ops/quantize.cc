// QUANTIZE (f32 -> u8/s8) and DEQUANTIZE (u8/s8 -> f32), per-tensor params.
#include "kernels/ref/quantize.h"
#include "ops/ops.h"

namespace qrt {

qrt_status prepare_quantize(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  qrt_status s = expect_dtype(ctx, in, "input", DType::F32);
  if (s == QRT_OK) s = expect_same_shape(ctx, in, "input", out, "output");
  if (s == QRT_OK) s = expect_per_tensor_quant(ctx, out, "output");
  if (s != QRT_OK) return s;
  if (out.dtype != DType::U8 && out.dtype != DType::S8)
    return op_fail(ctx, QRT_INVALID_MODEL, "output '%s' is %s, expected u8 or s8", out.name,
                   dtype_name(out.dtype));
  return QRT_OK;
}

qrt_status eval_quantize(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  Tensor& out = *ctx.output(0);
  if (out.dtype == DType::U8)
    kernels::quantize_f32_u8_ref(in.elements, in.as<float>(), out.scale, out.zero_point,
                                 out.as<uint8_t>());
  else
    kernels::quantize_f32_s8_ref(in.elements, in.as<float>(), out.scale, out.zero_point,
                                 out.as<int8_t>());
  return QRT_OK;
}

qrt_status prepare_dequantize(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  qrt_status s = expect_dtype(ctx, out, "output", DType::F32);
  if (s == QRT_OK) s = expect_same_shape(ctx, in, "input", out, "output");
  if (s == QRT_OK) s = expect_per_tensor_quant(ctx, in, "input");
  if (s != QRT_OK) return s;
  if (in.dtype != DType::U8 && in.dtype != DType::S8)
    return op_fail(ctx, QRT_INVALID_MODEL, "input '%s' is %s, expected u8 or s8", in.name,
                   dtype_name(in.dtype));
  return QRT_OK;
}

qrt_status eval_dequantize(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  Tensor& out = *ctx.output(0);
  if (in.dtype == DType::U8)
    kernels::dequantize_u8_f32_ref(in.elements, in.as<uint8_t>(), in.scale, in.zero_point,
                                   out.as<float>());
  else
    kernels::dequantize_s8_f32_ref(in.elements, in.as<int8_t>(), in.scale, in.zero_point,
                                   out.as<float>());
  return QRT_OK;
}

}  // namespace qrt
