#include "kernels/ref/cast.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace qrt::kernels {
namespace {

size_t number_size(NumberType t) {
  switch (t) {
    case NumberType::f32: return 4;
    case NumberType::u8:
    case NumberType::s8: return 1;
    case NumberType::i32: return 4;
    case NumberType::i64: return 8;
  }
  return 0;
}

template <class T>
T saturate_int(int64_t v) {
  if (v < std::numeric_limits<T>::min()) return std::numeric_limits<T>::min();
  if (v > std::numeric_limits<T>::max()) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

// Compares in double before converting, so no out-of-range float->int
// conversion (undefined behaviour) happens. min and max + 1 are powers of
// two (or 0), exact in double.
template <class T>
T saturate_float(float x) {
  if (std::isnan(x)) return 0;
  const double t = std::trunc(static_cast<double>(x));
  const double lo = static_cast<double>(std::numeric_limits<T>::min());
  const double hi_plus_one = static_cast<double>(std::numeric_limits<T>::max()) + 1.0;
  if (t < lo) return std::numeric_limits<T>::min();
  if (t >= hi_plus_one) return std::numeric_limits<T>::max();
  return static_cast<T>(t);
}

template <class To>
void from_float(size_t n, const float* in, To* out) {
  for (size_t i = 0; i < n; ++i) out[i] = saturate_float<To>(in[i]);
}

template <class From, class To>
void int_to_int(size_t n, const From* in, To* out) {
  for (size_t i = 0; i < n; ++i) out[i] = saturate_int<To>(static_cast<int64_t>(in[i]));
}

template <class From>
void int_to_any(size_t n, const From* in, NumberType to, void* out) {
  switch (to) {
    case NumberType::f32: {
      float* o = static_cast<float*>(out);
      for (size_t i = 0; i < n; ++i) o[i] = static_cast<float>(in[i]);
      return;
    }
    case NumberType::u8: return int_to_int(n, in, static_cast<uint8_t*>(out));
    case NumberType::s8: return int_to_int(n, in, static_cast<int8_t*>(out));
    case NumberType::i32: return int_to_int(n, in, static_cast<int32_t*>(out));
    case NumberType::i64: return int_to_int(n, in, static_cast<int64_t*>(out));
  }
}

}  // namespace

void cast_ref(size_t n, NumberType from, const void* in, NumberType to, void* out) {
  if (from == to) {
    if (in != out) std::memcpy(out, in, n * number_size(from));
    return;
  }
  switch (from) {
    case NumberType::f32: {
      const float* i = static_cast<const float*>(in);
      switch (to) {
        case NumberType::u8: return from_float(n, i, static_cast<uint8_t*>(out));
        case NumberType::s8: return from_float(n, i, static_cast<int8_t*>(out));
        case NumberType::i32: return from_float(n, i, static_cast<int32_t*>(out));
        case NumberType::i64: return from_float(n, i, static_cast<int64_t*>(out));
        case NumberType::f32: return;
      }
      return;
    }
    case NumberType::u8: return int_to_any(n, static_cast<const uint8_t*>(in), to, out);
    case NumberType::s8: return int_to_any(n, static_cast<const int8_t*>(in), to, out);
    case NumberType::i32: return int_to_any(n, static_cast<const int32_t*>(in), to, out);
    case NumberType::i64: return int_to_any(n, static_cast<const int64_t*>(in), to, out);
  }
}

}  // namespace qrt::kernels
