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
    {OpCode::CONV_2D, "CONV_2D", 2, 3, 1, 1, OpOptions::Conv2DOptions, prepare_conv2d, eval_conv2d},
    {OpCode::FULLY_CONNECTED, "FULLY_CONNECTED", 2, 3, 1, 1, OpOptions::FullyConnectedOptions,
     prepare_fully_connected, eval_fully_connected},
    {OpCode::ADD, "ADD", 2, 2, 1, 1, OpOptions::AddOptions, prepare_add, eval_add},
    // Elementwise family (ops/binary.cc, ops/unary.cc).
    {OpCode::MUL, "MUL", 2, 2, 1, 1, OpOptions::BinaryOptions, prepare_binary, eval_binary},
    {OpCode::SUB, "SUB", 2, 2, 1, 1, OpOptions::BinaryOptions, prepare_binary, eval_binary},
    {OpCode::DIV, "DIV", 2, 2, 1, 1, OpOptions::BinaryOptions, prepare_binary, eval_binary},
    {OpCode::MAXIMUM, "MAXIMUM", 2, 2, 1, 1, OpOptions::BinaryOptions, prepare_binary, eval_binary},
    {OpCode::MINIMUM, "MINIMUM", 2, 2, 1, 1, OpOptions::BinaryOptions, prepare_binary, eval_binary},
    {OpCode::POW, "POW", 2, 2, 1, 1, OpOptions::BinaryOptions, prepare_binary, eval_binary},
    {OpCode::SIGMOID, "SIGMOID", 1, 1, 1, 1, OpOptions::NONE, prepare_unary, eval_unary},
    {OpCode::TANH, "TANH", 1, 1, 1, 1, OpOptions::NONE, prepare_unary, eval_unary},
    {OpCode::EXP, "EXP", 1, 1, 1, 1, OpOptions::NONE, prepare_unary, eval_unary},
    {OpCode::LOG, "LOG", 1, 1, 1, 1, OpOptions::NONE, prepare_unary, eval_unary},
    {OpCode::SQRT, "SQRT", 1, 1, 1, 1, OpOptions::NONE, prepare_unary, eval_unary},
    {OpCode::NEG, "NEG", 1, 1, 1, 1, OpOptions::NONE, prepare_unary, eval_unary},
    {OpCode::SILU, "SILU", 1, 1, 1, 1, OpOptions::NONE, prepare_unary, eval_unary},
    {OpCode::GELU, "GELU", 1, 1, 1, 1, OpOptions::GeluOptions, prepare_unary, eval_unary},
    {OpCode::ERF, "ERF", 1, 1, 1, 1, OpOptions::NONE, prepare_unary, eval_unary},
    {OpCode::HARD_SWISH, "HARD_SWISH", 1, 1, 1, 1, OpOptions::NONE, prepare_unary, eval_unary},
    {OpCode::HARD_SIGMOID, "HARD_SIGMOID", 1, 1, 1, 1, OpOptions::HardSigmoidOptions,
     prepare_unary, eval_unary},
    {OpCode::LEAKY_RELU, "LEAKY_RELU", 1, 1, 1, 1, OpOptions::LeakyReluOptions, prepare_unary,
     eval_unary},
    {OpCode::CLAMP, "CLAMP", 1, 1, 1, 1, OpOptions::ClampOptions, prepare_clamp, eval_clamp},
    {OpCode::MAX_POOL_2D, "MAX_POOL_2D", 1, 1, 1, 1, OpOptions::Pool2DOptions, prepare_max_pool2d,
     eval_max_pool2d},
    {OpCode::GLOBAL_AVG_POOL, "GLOBAL_AVG_POOL", 1, 1, 1, 1, OpOptions::NONE,
     prepare_global_avg_pool, eval_global_avg_pool},
    // conv_pool family (ops/pool.cc, ops/transpose_conv2d.cc).
    {OpCode::AVG_POOL_2D, "AVG_POOL_2D", 1, 1, 1, 1, OpOptions::Pool2DOptions, prepare_avg_pool2d,
     eval_avg_pool2d},
    {OpCode::ADAPTIVE_AVG_POOL_2D, "ADAPTIVE_AVG_POOL_2D", 1, 1, 1, 1, OpOptions::NONE,
     prepare_adaptive_avg_pool2d, eval_adaptive_avg_pool2d},
    {OpCode::TRANSPOSE_CONV_2D, "TRANSPOSE_CONV_2D", 2, 3, 1, 1, OpOptions::TransposeConv2DOptions,
     prepare_transpose_conv2d, eval_transpose_conv2d},
    {OpCode::RESHAPE, "RESHAPE", 1, 1, 1, 1, OpOptions::NONE, prepare_reshape, eval_reshape},
    {OpCode::QUANTIZE, "QUANTIZE", 1, 1, 1, 1, OpOptions::NONE, prepare_quantize, eval_quantize},
    {OpCode::DEQUANTIZE, "DEQUANTIZE", 1, 1, 1, 1, OpOptions::NONE, prepare_dequantize,
     eval_dequantize},
    // nn family (ops/softmax.cc, layer_norm.cc, reduce.cc, matmul.cc).
    {OpCode::SOFTMAX, "SOFTMAX", 1, 1, 1, 1, OpOptions::SoftmaxOptions, prepare_softmax,
     eval_softmax},
    {OpCode::LOG_SOFTMAX, "LOG_SOFTMAX", 1, 1, 1, 1, OpOptions::SoftmaxOptions,
     prepare_log_softmax, eval_log_softmax},
    {OpCode::LAYER_NORM, "LAYER_NORM", 1, 3, 1, 1, OpOptions::LayerNormOptions,
     prepare_layer_norm, eval_layer_norm},
    {OpCode::REDUCE_MEAN, "REDUCE_MEAN", 1, 1, 1, 1, OpOptions::ReduceOptions, prepare_reduce,
     eval_reduce},
    {OpCode::REDUCE_MAX, "REDUCE_MAX", 1, 1, 1, 1, OpOptions::ReduceOptions, prepare_reduce,
     eval_reduce},
    {OpCode::REDUCE_SUM, "REDUCE_SUM", 1, 1, 1, 1, OpOptions::ReduceOptions, prepare_reduce,
     eval_reduce},
    {OpCode::MATMUL, "MATMUL", 2, 2, 1, 1, OpOptions::NONE, prepare_matmul, eval_matmul},
    {OpCode::CONCAT, "CONCAT", 1, 256, 1, 1, OpOptions::ConcatOptions, prepare_concat,
     eval_concat},
    {OpCode::SPLIT, "SPLIT", 1, 1, 1, 64, OpOptions::SplitOptions, prepare_split, eval_split},
    {OpCode::TRANSPOSE, "TRANSPOSE", 1, 1, 1, 1, OpOptions::TransposeOptions, prepare_transpose,
     eval_transpose},
    {OpCode::SLICE, "SLICE", 1, 1, 1, 1, OpOptions::SliceOptions, prepare_slice, eval_slice},
    {OpCode::PAD, "PAD", 1, 1, 1, 1, OpOptions::PadOptions, prepare_pad, eval_pad},
    {OpCode::RESIZE, "RESIZE", 1, 1, 1, 1, OpOptions::ResizeOptions, prepare_resize, eval_resize},
    {OpCode::GATHER, "GATHER", 2, 3, 1, 1, OpOptions::GatherOptions, prepare_gather, eval_gather},
    {OpCode::CAST, "CAST", 1, 1, 1, 1, OpOptions::NONE, prepare_cast, eval_cast},
    // X W R [W-bias R-bias initial-h initial-c] -> Y [final-h final-c]; an
    // output cannot be -1, so a model wanting final c lists final h too.
    {OpCode::LSTM, "LSTM", 3, 7, 1, 3, OpOptions::RnnOptions, prepare_rnn, eval_rnn},
    {OpCode::GRU, "GRU", 3, 6, 1, 2, OpOptions::RnnOptions, prepare_rnn, eval_rnn},
    // condition, the values the bodies read -> the chosen body's outputs.
    {OpCode::IF, "IF", 1, 256, 1, 64, OpOptions::IfOptions, prepare_if, eval_if},
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
