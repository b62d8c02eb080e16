// CAST (ONNX Cast) between plain numbers; the output's dtype is the target.
// Quantized tensors are refused: converting their real values is QUANTIZE
// and DEQUANTIZE, converting their bytes is not a meaningful model.
#include "kernels/ref/cast.h"
#include "ops/ops.h"

namespace qrt {

qrt_status prepare_cast(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  qrt_status s = expect_same_shape(ctx, in, "input", out, "output");
  if (s != QRT_OK) return s;
  if (in.quantized() || out.quantized())
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "input '%s' or output '%s' is quantized; CAST converts plain numbers (use "
                   "QUANTIZE or DEQUANTIZE)",
                   in.name, out.name);
  return QRT_OK;
}

qrt_status eval_cast(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  Tensor& out = *ctx.output(0);
  kernels::cast_ref(in.elements, static_cast<kernels::NumberType>(in.dtype), in.data,
                    static_cast<kernels::NumberType>(out.dtype), out.data);
  return QRT_OK;
}

}  // namespace qrt
