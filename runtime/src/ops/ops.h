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
QRT_DECLARE_OP(reshape)
QRT_DECLARE_OP(quantize)
QRT_DECLARE_OP(dequantize)

#undef QRT_DECLARE_OP

}  // namespace qrt
