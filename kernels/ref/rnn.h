// Reference LSTM and GRU cells: the float gate math of one time step, given
// the gate pre-activations the input-to-hidden and hidden-to-hidden linears
// (float, or PyTorch's dynamically quantized ones) already computed.
//
// Gates are in ONNX order, H floats each: LSTM i, o, f, c; GRU z, r, h.
// xg row b is at xg + b * xg_stride (the input projection of step t, biases
// included); hg holds `batch` contiguous rows of gates * H floats (the hidden
// projection, its bias included). The arithmetic follows PyTorch 1.13's CPU
// cells (aten/src/ATen/native/RNN.cpp: LSTMCell, GRUCell) operation for
// operation, each in float32 without contraction:
//   sigmoid(v) = 1 / (1 + exp(-v)); pre-activation = hg + xg.
// The activations run over whole gate blocks through GateActivations, so a
// vectorised sigmoid and tanh (F32RowKernel's) can replace the reference's.
#pragma once

#include <cstddef>

#include "kernels/ref/unary.h"

namespace qrt::kernels {

// Each maps n floats, in place.
struct GateActivations {
  void (*sigmoid)(size_t n, const float* in, float* out) = sigmoid_f32_ref;
  void (*tanh)(size_t n, const float* in, float* out) = tanh_f32_ref;
};

// c' = f * c + i * g;  h' = o * tanh(c'). c is updated in place, h written;
// hg is overwritten (with the activated gates).
void lstm_cell_f32_ref(const GateActivations& act, int batch, int hidden, const float* xg,
                       size_t xg_stride, float* hg, float* c, float* h);

// For ONNX's linear_before_reset = 0, whose candidate gate reads R_h (r * h):
// rh = r * h with r = sigmoid(hg_r + xg_r). The caller then overwrites hg's
// h block with R_h rh + Rb_h.
void gru_reset_f32_ref(const GateActivations& act, int batch, int hidden, const float* xg,
                       size_t xg_stride, const float* hg, const float* h, float* rh);

// n = tanh(xg_h + r * hg_h) with linear_before_reset (PyTorch's GRU), else
// tanh(xg_h + hg_h); h' = (h - n) * z + n, PyTorch's form of ONNX's
// (1 - z) * n + z * h. h is updated in place; hg is overwritten.
void gru_cell_f32_ref(const GateActivations& act, int batch, int hidden, bool linear_before_reset,
                      const float* xg, size_t xg_stride, float* hg, float* h);

}  // namespace qrt::kernels
