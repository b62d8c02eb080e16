// The table of operators this runtime implements, and the checks their
// prepare functions share.
#include <cstdarg>
#include <cstdio>

#include "op.h"
#include "ops/ops.h"

namespace qrt {

namespace {

using fb::OpCode;
using fb::OpOptions;

const OpInfo kOps[] = {
    {OpCode::CONV_2D, "CONV_2D", 2, 3, 1, OpOptions::Conv2DOptions, prepare_conv2d, eval_conv2d},
    {OpCode::FULLY_CONNECTED, "FULLY_CONNECTED", 2, 3, 1, OpOptions::FullyConnectedOptions,
     prepare_fully_connected, eval_fully_connected},
    {OpCode::ADD, "ADD", 2, 2, 1, OpOptions::AddOptions, prepare_add, eval_add},
    {OpCode::CLAMP, "CLAMP", 1, 1, 1, OpOptions::ClampOptions, prepare_clamp, eval_clamp},
    {OpCode::MAX_POOL_2D, "MAX_POOL_2D", 1, 1, 1, OpOptions::Pool2DOptions, prepare_max_pool2d,
     eval_max_pool2d},
    {OpCode::GLOBAL_AVG_POOL, "GLOBAL_AVG_POOL", 1, 1, 1, OpOptions::NONE,
     prepare_global_avg_pool, eval_global_avg_pool},
    {OpCode::RESHAPE, "RESHAPE", 1, 1, 1, OpOptions::NONE, prepare_reshape, eval_reshape},
    {OpCode::QUANTIZE, "QUANTIZE", 1, 1, 1, OpOptions::NONE, prepare_quantize, eval_quantize},
    {OpCode::DEQUANTIZE, "DEQUANTIZE", 1, 1, 1, OpOptions::NONE, prepare_dequantize,
     eval_dequantize},
};

}  // namespace

const OpInfo* find_op(fb::OpCode code) {
  for (const OpInfo& info : kOps)
    if (info.code == code) return &info;
  return nullptr;
}

qrt_status op_fail(OpContext& ctx, qrt_status code, const char* format, ...) {
  char detail[400];
  va_list args;
  va_start(args, format);
  std::vsnprintf(detail, sizeof(detail), format, args);
  va_end(args);
  const OpInfo* info = find_op(ctx.op->opcode());
  return fail(ctx.error, code, "operator %d '%s' (%s): %s", ctx.index, ctx.name,
              info ? info->name : "?", detail);
}

qrt_status expect_dtype(OpContext& ctx, const Tensor& t, const char* role, DType dtype) {
  if (t.dtype == dtype) return QRT_OK;
  return op_fail(ctx, QRT_INVALID_MODEL, "%s '%s' is %s, expected %s", role, t.name,
                 dtype_name(t.dtype), dtype_name(dtype));
}

qrt_status expect_rank(OpContext& ctx, const Tensor& t, const char* role, int rank) {
  if (t.rank == rank) return QRT_OK;
  char shape[96];
  return op_fail(ctx, QRT_INVALID_MODEL, "%s '%s' has shape %s, expected rank %d", role, t.name,
                 format_shape(t, shape, sizeof(shape)), rank);
}

qrt_status expect_per_tensor_quant(OpContext& ctx, const Tensor& t, const char* role) {
  if (t.per_tensor()) return QRT_OK;
  return op_fail(ctx, QRT_INVALID_MODEL,
                 "%s '%s' needs one scale and zero point (has %d)", role, t.name, t.num_scales);
}

qrt_status expect_same_shape(OpContext& ctx, const Tensor& a, const char* role_a,
                             const Tensor& b, const char* role_b) {
  bool same = a.rank == b.rank;
  for (int i = 0; same && i < a.rank; ++i) same = a.dims[i] == b.dims[i];
  if (same) return QRT_OK;
  char sa[96], sb[96];
  return op_fail(ctx, QRT_INVALID_MODEL, "%s '%s' shape %s differs from %s '%s' shape %s",
                 role_a, a.name, format_shape(a, sa, sizeof(sa)), role_b, b.name,
                 format_shape(b, sb, sizeof(sb)));
}

qrt_status expect_same_quant(OpContext& ctx, const Tensor& a, const char* role_a,
                             const Tensor& b, const char* role_b) {
  if (a.quantized() == b.quantized() &&
      (!a.quantized() || (a.per_tensor() && b.per_tensor() && a.scale == b.scale &&
                          a.zero_point == b.zero_point)))
    return QRT_OK;
  return op_fail(ctx, QRT_INVALID_MODEL,
                 "%s '%s' and %s '%s' must share one scale and zero point", role_a, a.name,
                 role_b, b.name);
}

}  // namespace qrt
