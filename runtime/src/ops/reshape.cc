// RESHAPE: the same bytes under a new shape (the output shape is in the model).
#include <cstring>

#include "ops/ops.h"

namespace qrt {

qrt_status prepare_reshape(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  qrt_status s = expect_dtype(ctx, out, "output", in.dtype);
  if (s != QRT_OK) return s;
  if (in.elements != out.elements) {
    char a[96], b[96];
    return op_fail(ctx, QRT_INVALID_MODEL, "input shape %s and output shape %s differ in size",
                   format_shape(in, a, sizeof(a)), format_shape(out, b, sizeof(b)));
  }
  return expect_same_quant(ctx, in, "input", out, "output");
}

qrt_status eval_reshape(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  Tensor& out = *ctx.output(0);
  if (out.data != in.data) std::memmove(out.data, in.data, in.bytes);
  return QRT_OK;
}

}  // namespace qrt
