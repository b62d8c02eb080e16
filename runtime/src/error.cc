#include "error.h"

#include <cstdarg>
#include <cstdio>

namespace qrt {

qrt_status fail(Error* error, qrt_status code, const char* format, ...) {
  if (error) {
    error->code = code;
    va_list args;
    va_start(args, format);
    std::vsnprintf(error->message, sizeof(error->message), format, args);
    va_end(args);
  }
  return code;
}

}  // namespace qrt
