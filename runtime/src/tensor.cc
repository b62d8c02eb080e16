#include "tensor.h"

#include <cstdio>

namespace qrt {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32: return 4;
    case DType::U8: return 1;
    case DType::S8: return 1;
    case DType::I32: return 4;
    case DType::I64: return 8;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "f32";
    case DType::U8: return "u8";
    case DType::S8: return "s8";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
  }
  return "unknown";
}

const char* format_shape(const Tensor& t, char* buf, size_t size) {
  if (size == 0) return buf;
  size_t n = 0;
  auto put = [&](const char* text) {
    while (*text && n + 1 < size) buf[n++] = *text++;
  };
  put("(");
  for (int i = 0; i < t.rank; ++i) {
    char num[16];
    std::snprintf(num, sizeof(num), "%d", t.dims[i]);
    if (i > 0) put(", ");
    put(num);
  }
  put(t.rank == 1 ? ",)" : ")");
  buf[n] = '\0';
  return buf;
}

}  // namespace qrt
