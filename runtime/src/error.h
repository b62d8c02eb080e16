// Error reporting without allocation: a status code plus a fixed-size
// message, usable on the invoke path.
#pragma once

#include "qrt/qrt.h"

namespace qrt {

struct Error {
  qrt_status code = QRT_OK;
  char message[512] = {};
};

// Records the failure in `error` (if not null) and returns `code`.
qrt_status fail(Error* error, qrt_status code, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace qrt
