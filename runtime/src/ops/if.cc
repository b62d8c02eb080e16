// IF: runs one of two bodies (model subgraphs) on the op's inputs. The
// verifier has checked that both bodies take and give tensors shaped like
// the op's, so values pass by copy between arena regions the planner keeps
// live for the op's whole run (interpreter.cc: the timeline).
#include <cstring>

#include "ops/ops.h"

namespace qrt {

namespace {

bool condition(const Tensor& c) {
  switch (c.dtype) {
    case DType::F32: return *c.as<const float>() != 0.f;  // NaN is true, as a cast to bool
    case DType::I32: return *c.as<const int32_t>() != 0;
    case DType::I64: return *c.as<const int64_t>() != 0;
    default: return *c.as<const uint8_t>() != 0;
  }
}

}  // namespace

qrt_status prepare_if(OpContext& ctx) {
  const Tensor& c = *ctx.input(0);
  if (c.elements != 1)
    return op_fail(ctx, QRT_INVALID_MODEL, "condition '%s' has %zu elements, expected 1", c.name,
                   c.elements);
  const bool plain_u8 = c.dtype == DType::U8 && !c.quantized();
  if (!plain_u8 && c.dtype != DType::F32 && c.dtype != DType::I32 && c.dtype != DType::I64)
    return op_fail(ctx, QRT_INVALID_MODEL,
                   "condition '%s' is %s%s, expected u8 (a bool), i32, i64 or f32", c.name,
                   dtype_name(c.dtype), c.quantized() ? " with quantization" : "");
  if (!ctx.bodies) return op_fail(ctx, QRT_INVALID_MODEL, "no subgraphs to run");
  return QRT_OK;
}

qrt_status eval_if(OpContext& ctx) {
  const fb::IfOptions* o = ctx.op->options_as_IfOptions();
  const int32_t body = condition(*ctx.input(0)) ? o->then_subgraph() : o->else_subgraph();
  for (int32_t i = 1; i < ctx.num_inputs; ++i) {
    Tensor& dst = ctx.bodies->body_input(body, i - 1);
    if (dst.data != ctx.inputs[i]->data) std::memcpy(dst.data, ctx.inputs[i]->data, dst.bytes);
  }
  qrt_status s = ctx.bodies->run_body(body, ctx.error);
  if (s != QRT_OK) return s;
  for (int32_t i = 0; i < ctx.num_outputs; ++i) {
    const Tensor& src = ctx.bodies->body_output(body, i);
    if (src.data != ctx.outputs[i]->data) std::memcpy(ctx.outputs[i]->data, src.data, src.bytes);
  }
  return QRT_OK;
}

}  // namespace qrt
