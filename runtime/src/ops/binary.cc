// MUL, SUB, DIV, MAXIMUM, MINIMUM, POW with numpy/ONNX broadcasting and a
// fused clamp. float32 for all; uint8 for MUL (PyTorch has no other
// quantized binary kernel besides ADD, which has its own file). A uint8 MUL
// whose broadcast is one index walk over the output (same shape, one
// operand a scalar, or one operand a row repeated over the other's outer
// dimensions, as squeeze-excitation scales are) runs the fast kernel of the
// interpreter's tier when it has one (bit-exact with mul_u8_ref).
#include <cmath>
#include <utility>

#include "kernels/cpu.h"
#include "kernels/ref/binary.h"
#include "ops/ops.h"
#include "thread_pool.h"

namespace qrt {

namespace {

struct BinaryData {
  kernels::BinaryOp op;
  kernels::BroadcastShape shape;
  kernels::MulParams mul;
  float act_min, act_max;
  // uint8 MUL on a fast kernel, else null. The kernel reads `full` whole and
  // `periodic` with period b_period; fast_params is mul with the zero points
  // swapped when a is the periodic one.
  const kernels::MulKernel* fast;
  kernels::MulParams fast_params;
  bool a_periodic;
  size_t b_period;
};

// Whether s is an index walk MulKernel takes: the full operand advances
// with the output and the other repeats with *period (the whole length when
// the shapes are equal, 1 for a scalar, the row length for a row repeated
// over outer dimensions). *a_periodic: the repeating operand is a.
bool mul_walk(const kernels::BroadcastShape& s, bool* a_periodic, int64_t* period) {
  const int64_t* as = s.a_strides;
  const int64_t* bs = s.b_strides;
  bool ok = false, a_rep = false;
  int64_t p = 0;
  if (s.rank == 1) {
    // Strides 1 and 1: equal shapes; a 0 stride: that operand is a scalar.
    ok = as[0] + bs[0] >= 1;
    a_rep = as[0] == 0;
    p = as[0] == bs[0] ? s.dims[0] : 1;
  } else if (s.rank == 2 && as[1] == 1 && bs[1] == 1) {
    // make_broadcast merges neighbours that broadcast alike, so a row
    // repeated over outer dimensions is (outer, inner) with the repeating
    // operand's outer stride 0.
    ok = (as[0] == 0 && bs[0] == s.dims[1]) || (bs[0] == 0 && as[0] == s.dims[1]);
    a_rep = as[0] == 0;
    p = s.dims[1];
  }
  if (ok) {
    *a_periodic = a_rep;
    *period = p;
  }
  return ok;
}

bool binary_op_of(fb::OpCode code, kernels::BinaryOp* op) {
  switch (code) {
    case fb::OpCode::SUB: *op = kernels::BinaryOp::sub; return true;
    case fb::OpCode::MUL: *op = kernels::BinaryOp::mul; return true;
    case fb::OpCode::DIV: *op = kernels::BinaryOp::div; return true;
    case fb::OpCode::MAXIMUM: *op = kernels::BinaryOp::maximum; return true;
    case fb::OpCode::MINIMUM: *op = kernels::BinaryOp::minimum; return true;
    case fb::OpCode::POW: *op = kernels::BinaryOp::pow; return true;
    default: return false;
  }
}

// A tensor-shaped view of a shape, for format_shape().
Tensor shape_view(const int32_t* dims, int rank) {
  Tensor t;
  t.rank = rank;
  for (int i = 0; i < rank; ++i) t.dims[i] = dims[i];
  return t;
}

}  // namespace

qrt_status expect_broadcast(OpContext& ctx, const Tensor& a, const Tensor& b, const Tensor& out,
                            kernels::BroadcastShape* shape) {
  int32_t dims[kMaxRank];
  int rank = 0;
  char sa[96], sb[96], so[96], se[96];
  if (!kernels::make_broadcast(a.dims, a.rank, b.dims, b.rank, dims, &rank, shape))
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "input a '%s' shape %s and input b '%s' shape %s do not broadcast", a.name,
                   format_shape(a, sa, sizeof(sa)), b.name, format_shape(b, sb, sizeof(sb)));
  bool same = rank == out.rank;
  for (int i = 0; same && i < rank; ++i) same = dims[i] == out.dims[i];
  if (same) return QRT_OK;
  const Tensor expected = shape_view(dims, rank);
  return op_fail(ctx, QRT_INVALID_MODEL,
                 "output '%s' shape %s differs from %s, the broadcast of input a '%s' shape %s "
                 "and input b '%s' shape %s",
                 out.name, format_shape(out, so, sizeof(so)),
                 format_shape(expected, se, sizeof(se)), a.name, format_shape(a, sa, sizeof(sa)),
                 b.name, format_shape(b, sb, sizeof(sb)));
}

qrt_status expect_act_range(OpContext& ctx, float act_min, float act_max) {
  if (act_min <= act_max) return QRT_OK;
  return op_fail(ctx, QRT_INVALID_MODEL, "activation range [%g, %g] is empty",
                 static_cast<double>(act_min), static_cast<double>(act_max));
}

qrt_status prepare_binary(OpContext& ctx) {
  const Tensor& a = *ctx.input(0);
  const Tensor& b = *ctx.input(1);
  const Tensor& out = *ctx.output(0);
  // A verified model may still omit the options table: use its defaults.
  float act_min = -INFINITY, act_max = INFINITY;
  if (const fb::BinaryOptions* o = ctx.op->options_as_BinaryOptions()) {
    act_min = o->act_min();
    act_max = o->act_max();
  }
  kernels::BinaryOp op;
  if (!binary_op_of(ctx.op->opcode(), &op))
    return op_fail(ctx, QRT_UNSUPPORTED, "not a binary operator");
  kernels::BroadcastShape shape;
  qrt_status s = expect_dtype(ctx, b, "input b", a.dtype);
  if (s == QRT_OK) s = expect_dtype(ctx, out, "output", a.dtype);
  if (s == QRT_OK) s = expect_broadcast(ctx, a, b, out, &shape);
  if (s == QRT_OK) s = expect_act_range(ctx, act_min, act_max);
  if (s != QRT_OK) return s;
  const bool quant = a.dtype == DType::U8;
  if (quant) {
    if (op != kernels::BinaryOp::mul)
      return op_fail(ctx, QRT_UNSUPPORTED,
                     "uint8 inputs are not supported (PyTorch quantizes only ADD and MUL); keep "
                     "this operator in float");
    s = expect_per_tensor_quant(ctx, a, "input a");
    if (s == QRT_OK) s = expect_per_tensor_quant(ctx, b, "input b");
    if (s == QRT_OK) s = expect_per_tensor_quant(ctx, out, "output");
    if (s != QRT_OK) return s;
    if (!kernels::mul_scales_supported(a.scale, b.scale, out.scale))
      return op_fail(ctx, QRT_UNSUPPORTED,
                     "scales %g * %g / %g give no usable requantization multiplier",
                     static_cast<double>(a.scale), static_cast<double>(b.scale),
                     static_cast<double>(out.scale));
  } else if (a.dtype != DType::F32) {
    return op_fail(ctx, QRT_UNSUPPORTED, "%s inputs are not supported", dtype_name(a.dtype));
  }
  bool a_periodic = false;
  int64_t period = 0;
  const kernels::MulKernel* fast = quant && mul_walk(shape, &a_periodic, &period)
                                       ? kernels::select_mul_kernel(ctx.isa)
                                       : nullptr;
  if (quant) ctx.kernel = fast ? fast->name : "mul_u8_ref";
  BinaryData* d = ctx.persistent->take<BinaryData>(1);
  if (ctx.persistent->sizing()) return QRT_OK;
  d->op = op;
  d->shape = shape;
  d->act_min = act_min;
  d->act_max = act_max;
  d->fast = fast;
  d->a_periodic = a_periodic;
  d->b_period = static_cast<size_t>(period);
  if (quant) {
    d->mul = kernels::make_mul_params(a.scale, a.zero_point, b.scale, b.zero_point, out.scale,
                                      out.zero_point, act_min, act_max);
    d->fast_params = d->mul;
    // (a - a_zp)(b - b_zp) is the same integer with the operands exchanged.
    if (a_periodic) std::swap(d->fast_params.a_zp, d->fast_params.b_zp);
  }
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_binary(OpContext& ctx) {
  const BinaryData& d = *static_cast<const BinaryData*>(ctx.data);
  const Tensor& a = *ctx.input(0);
  const Tensor& b = *ctx.input(1);
  Tensor& out = *ctx.output(0);
  if (a.dtype == DType::U8 && d.fast) {
    const uint8_t* full = d.a_periodic ? b.as<uint8_t>() : a.as<uint8_t>();
    const uint8_t* periodic = d.a_periodic ? a.as<uint8_t>() : b.as<uint8_t>();
    parallel_for(ctx.pool, static_cast<int64_t>(out.elements), kByteChunkAlign, kByteChunkMin,
                 [&](int64_t begin, int64_t end, int32_t) {
                   d.fast->run(d.fast_params, full, periodic, d.b_period, out.as<uint8_t>(),
                               static_cast<size_t>(begin), static_cast<size_t>(end));
                 });
  } else if (a.dtype == DType::U8) {
    kernels::mul_u8_ref(d.mul, d.shape, a.as<uint8_t>(), b.as<uint8_t>(), out.as<uint8_t>());
  } else {
    kernels::binary_f32_ref(d.op, d.shape, a.as<float>(), b.as<float>(), d.act_min, d.act_max,
                            out.as<float>());
  }
  return QRT_OK;
}

}  // namespace qrt
