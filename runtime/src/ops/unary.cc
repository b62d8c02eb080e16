// Elementwise unary operators: SIGMOID, TANH, EXP, LOG, SQRT, NEG, SILU,
// GELU, ERF, HARD_SWISH, HARD_SIGMOID, LEAKY_RELU. float32 for all; uint8
// for the activations PyTorch quantizes (HARD_SWISH, HARD_SIGMOID, SIGMOID,
// TANH, LEAKY_RELU), each a 256-entry table built here at prepare.
#include <cmath>

#include "kernels/cpu.h"
#include "kernels/ref/unary.h"
#include "ops/ops.h"
#include "thread_pool.h"

namespace qrt {

namespace {

using MapF32 = void (*)(size_t n, const float* in, float* out);

struct UnaryData {
  kernels::UnaryParams params;
  MapF32 f32;  // a row kernel's, or null
  uint8_t lut[256];
  void (*lookup)(const uint8_t* table, size_t n, const uint8_t* in, uint8_t* out);  // u8
};

// The tier's vectorised float op, or null: F32RowKernel's exp is a
// polynomial, within a few ulp of the reference's libm.
MapF32 fast_f32(const kernels::F32RowKernel* k, kernels::UnaryOp op) {
  if (!k) return nullptr;
  switch (op) {
    case kernels::UnaryOp::sigmoid: return k->sigmoid;
    case kernels::UnaryOp::tanh: return k->tanh;
    case kernels::UnaryOp::silu: return k->silu;
    case kernels::UnaryOp::exp: return k->exp;
    default: return nullptr;
  }
}

bool unary_op_of(fb::OpCode code, kernels::UnaryOp* op) {
  using kernels::UnaryOp;
  switch (code) {
    case fb::OpCode::SIGMOID: *op = UnaryOp::sigmoid; return true;
    case fb::OpCode::TANH: *op = UnaryOp::tanh; return true;
    case fb::OpCode::EXP: *op = UnaryOp::exp; return true;
    case fb::OpCode::LOG: *op = UnaryOp::log; return true;
    case fb::OpCode::SQRT: *op = UnaryOp::sqrt; return true;
    case fb::OpCode::NEG: *op = UnaryOp::neg; return true;
    case fb::OpCode::SILU: *op = UnaryOp::silu; return true;
    case fb::OpCode::GELU: *op = UnaryOp::gelu; return true;
    case fb::OpCode::ERF: *op = UnaryOp::erf; return true;
    case fb::OpCode::HARD_SWISH: *op = UnaryOp::hard_swish; return true;
    case fb::OpCode::HARD_SIGMOID: *op = UnaryOp::hard_sigmoid; return true;
    case fb::OpCode::LEAKY_RELU: *op = UnaryOp::leaky_relu; return true;
    default: return false;
  }
}

}  // namespace

qrt_status prepare_unary(OpContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& out = *ctx.output(0);
  kernels::UnaryParams p;
  if (!unary_op_of(ctx.op->opcode(), &p.op))
    return op_fail(ctx, QRT_UNSUPPORTED, "not a unary operator");
  // The schema's defaults, for a model that omits the options table.
  if (p.op == kernels::UnaryOp::hard_sigmoid) {
    p.alpha = kernels::kHardSigmoidAlpha;
    p.beta = kernels::kHardSigmoidBeta;
  } else if (p.op == kernels::UnaryOp::leaky_relu) {
    p.alpha = 0.01f;
  }
  if (const auto* o = ctx.op->options_as_HardSigmoidOptions()) {
    p.alpha = o->alpha();
    p.beta = o->beta();
  } else if (const auto* o = ctx.op->options_as_LeakyReluOptions()) {
    p.alpha = o->alpha();
  } else if (const auto* o = ctx.op->options_as_GeluOptions()) {
    if (o->approximate_tanh()) p.op = kernels::UnaryOp::gelu_tanh;
  }
  if (!std::isfinite(p.alpha) || !std::isfinite(p.beta))
    return op_fail(ctx, QRT_INVALID_MODEL, "alpha %g and beta %g must be finite",
                   static_cast<double>(p.alpha), static_cast<double>(p.beta));
  qrt_status s = expect_same_shape(ctx, in, "input", out, "output");
  if (s == QRT_OK) s = expect_dtype(ctx, out, "output", in.dtype);
  if (s != QRT_OK) return s;
  const bool quant = in.dtype == DType::U8;
  kernels::QuantUnarySpec spec;
  if (quant) {
    s = expect_per_tensor_quant(ctx, in, "input");
    if (s == QRT_OK) s = expect_per_tensor_quant(ctx, out, "output");
    if (s != QRT_OK) return s;
    spec.profile = ctx.profile;
    spec.op = p.op;
    spec.alpha = p.alpha;
    spec.beta = p.beta;
    spec.in_scale = in.scale;
    spec.in_zp = in.zero_point;
    spec.out_scale = out.scale;
    spec.out_zp = out.zero_point;
    if (const char* why = kernels::unary_u8_unsupported(spec))
      return op_fail(ctx, QRT_UNSUPPORTED,
                     "on uint8 it %s; %s profile, input '%s' scale %g zero point %d, output "
                     "'%s' scale %g zero point %d",
                     why, ctx.profile == kernels::Profile::fbgemm ? "fbgemm" : "qnnpack",
                     in.name, static_cast<double>(in.scale), in.zero_point, out.name,
                     static_cast<double>(out.scale), out.zero_point);
  } else if (in.dtype != DType::F32) {
    return op_fail(ctx, QRT_UNSUPPORTED, "%s input is not supported", dtype_name(in.dtype));
  }
  UnaryData* d = ctx.persistent->take<UnaryData>(1);
  if (ctx.persistent->sizing()) return QRT_OK;
  d->params = p;
  const kernels::F32RowKernel* rows = quant ? nullptr : kernels::select_f32_row_kernel(ctx.isa);
  d->f32 = fast_f32(rows, p.op);
  if (d->f32) ctx.kernel = rows->name;
  if (quant) {
    kernels::make_unary_u8_lut(spec, d->lut);
    const kernels::LutKernel* fast = kernels::select_lut_kernel(ctx.isa);
    d->lookup = fast ? fast->run : kernels::lut_u8_ref;
    ctx.kernel = fast ? fast->name : "lut_u8_ref";
  }
  ctx.data = d;
  return QRT_OK;
}

qrt_status eval_unary(OpContext& ctx) {
  const UnaryData& d = *static_cast<const UnaryData*>(ctx.data);
  const Tensor& in = *ctx.input(0);
  Tensor& out = *ctx.output(0);
  if (in.dtype == DType::U8)
    parallel_for(ctx.pool, static_cast<int64_t>(in.elements), kByteChunkAlign, kByteChunkMin,
                 [&](int64_t begin, int64_t end, int32_t) {
                   d.lookup(d.lut, static_cast<size_t>(end - begin), in.as<uint8_t>() + begin,
                            out.as<uint8_t>() + begin);
                 });
  else if (d.f32)
    d.f32(in.elements, in.as<float>(), out.as<float>());
  else
    kernels::unary_f32_ref(d.params, in.elements, in.as<float>(), out.as<float>());
  return QRT_OK;
}

}  // namespace qrt
