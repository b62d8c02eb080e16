// prepare/eval pairs of every operator, one source file each.
#pragma once

#include "op.h"

namespace qrt {

#define QRT_DECLARE_OP(name)            \
  qrt_status prepare_##name(OpContext&); \
  qrt_status eval_##name(OpContext&);

QRT_DECLARE_OP(conv2d)
QRT_DECLARE_OP(fully_connected)
QRT_DECLARE_OP(add)
QRT_DECLARE_OP(clamp)
QRT_DECLARE_OP(max_pool2d)
QRT_DECLARE_OP(global_avg_pool)
QRT_DECLARE_OP(avg_pool2d)  // conv_pool family: ops/pool.cc, ops/transpose_conv2d.cc
QRT_DECLARE_OP(adaptive_avg_pool2d)
QRT_DECLARE_OP(transpose_conv2d)
QRT_DECLARE_OP(reshape)
QRT_DECLARE_OP(quantize)
QRT_DECLARE_OP(dequantize)
QRT_DECLARE_OP(softmax)  // nn family: ops/softmax.cc, layer_norm.cc, reduce.cc, matmul.cc
QRT_DECLARE_OP(log_softmax)
QRT_DECLARE_OP(layer_norm)
QRT_DECLARE_OP(reduce)  // REDUCE_SUM REDUCE_MEAN REDUCE_MAX
QRT_DECLARE_OP(matmul)
QRT_DECLARE_OP(binary)  // MUL SUB DIV MAXIMUM MINIMUM POW
QRT_DECLARE_OP(unary)   // SIGMOID TANH HARD_SWISH ... (ops/unary.cc)
QRT_DECLARE_OP(concat)  // ops/concat.cc, with split
QRT_DECLARE_OP(split)
QRT_DECLARE_OP(transpose)
QRT_DECLARE_OP(slice)
QRT_DECLARE_OP(pad)
QRT_DECLARE_OP(resize)
QRT_DECLARE_OP(gather)
QRT_DECLARE_OP(cast)
QRT_DECLARE_OP(rnn)  // LSTM GRU (ops/rnn.cc)
QRT_DECLARE_OP(if)

#undef QRT_DECLARE_OP

// Elementwise helpers (ops/binary.cc): out must have the numpy broadcast
// shape of a and b; fills *shape. And a fused activation range must be
// non-empty (NaN bounds fail).
qrt_status expect_broadcast(OpContext& ctx, const Tensor& a, const Tensor& b, const Tensor& out,
                            kernels::BroadcastShape* shape);
qrt_status expect_act_range(OpContext& ctx, float act_min, float act_max);

}  // namespace qrt
