// Reference element type conversion (ONNX Cast) between plain numbers:
// f32, u8, s8, i32 and i64. Quantization params play no part (that is
// QUANTIZE / DEQUANTIZE).
#pragma once

#include <cstddef>
#include <cstdint>

namespace qrt::kernels {

// Numbered as the model format's DType.
enum class NumberType : uint8_t { f32 = 0, u8 = 1, s8 = 2, i32 = 3, i64 = 4 };

// out[i] = in[i] converted:
//   integer -> integer: the value when it fits, else the nearest end of the
//     target range (numpy would wrap around instead);
//   float -> integer: truncated toward zero, then saturated the same way
//     (in-range values as numpy and ONNX; PyTorch's .to() likewise);
//     NaN gives 0;
//   integer -> float: rounded to nearest, ties to even;
//   same type: copied.
// in and out must not overlap unless they are the same array of one type.
void cast_ref(size_t n, NumberType from, const void* in, NumberType to, void* out);

}  // namespace qrt::kernels
