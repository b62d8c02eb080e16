// select_dynamic_linear_kernel: the reference table, and the tiers' fast
// kernels where they exist.
#include "kernels/cpu.h"
#include "kernels/ref/fully_connected.h"

namespace qrt::kernels {

namespace {

// The reference keeps the caller's params (the weights stay where the model
// holds them) and runs fully_connected_dynamic_ref on each call's rows.
size_t ref_packed_bytes(int, int) { return sizeof(DynamicLinearParams); }

void ref_pack(const DynamicLinearParams& p, void* packed) {
  *static_cast<DynamicLinearParams*>(packed) = p;
}

size_t ref_scratch_bytes(int rows, int k) {
  return static_cast<size_t>(rows) * static_cast<size_t>(k);
}

void ref_run(const void* packed, int rows, const float* in, float* out, void* scratch) {
  DynamicLinearParams p = *static_cast<const DynamicLinearParams*>(packed);
  p.shape.batch = rows;
  fully_connected_dynamic_ref(p, in, static_cast<uint8_t*>(scratch), out);
}

constexpr DynamicLinearKernel kRef = {"dynamic_linear_ref", Isa::ref, ref_packed_bytes, ref_pack,
                                      ref_scratch_bytes, ref_run};

}  // namespace

const DynamicLinearKernel* select_dynamic_linear_kernel(Isa) { return &kRef; }

}  // namespace qrt::kernels
