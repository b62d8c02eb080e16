// qrt-accuracy MODEL.qrt X.npy Y.npy: runs a classifier over a labelled set
// one sample at a time and prints top-1 accuracy and the median latency.
// X holds N samples shaped like the model's single f32 input (plus the
// leading N); Y holds N integer labels.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "npy.h"
#include "qrt/qrt.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: qrt-accuracy MODEL.qrt X.npy Y.npy\n");
    return 2;
  }
  qrt::tools::NpyArray x, y;
  std::string error;
  if (!qrt::tools::read_npy(argv[2], &x, &error) || !qrt::tools::read_npy(argv[3], &y, &error)) {
    std::fprintf(stderr, "qrt-accuracy: %s\n", error.c_str());
    return 1;
  }
  qrt_model* model = nullptr;
  qrt_interpreter* it = nullptr;
  if (qrt_model_from_file(argv[1], &model) != QRT_OK ||
      qrt_interpreter_create(model, nullptr, &it) != QRT_OK) {
    std::fprintf(stderr, "qrt-accuracy: %s\n", qrt_last_error());
    return 1;
  }
  qrt_tensor in, out;
  qrt_input(it, 0, &in);
  qrt_output(it, 0, &out);
  const size_t n = x.shape.empty() ? 0 : static_cast<size_t>(x.shape[0]);
  if (x.dtype != "f4" || in.dtype != QRT_F32 || n == 0 || x.data.size() != n * in.bytes ||
      y.shape.size() != 1 || static_cast<size_t>(y.shape[0]) != n || y.dtype != "i8" ||
      out.dtype != QRT_F32) {
    std::fprintf(stderr,
                 "qrt-accuracy: X must be f32 [N, <model input shape>] and Y i64 [N] "
                 "(X %s %s, %zu bytes per sample expected)\n",
                 x.dtype.c_str(), qrt::tools::npy_shape_string(x.shape).c_str(), in.bytes);
    return 1;
  }
  const size_t classes = out.bytes / sizeof(float);
  size_t correct = 0;
  std::vector<double> ms;
  for (size_t i = 0; i < n; ++i) {
    qrt_set_input(it, 0, QRT_F32, x.data.data() + i * in.bytes, in.bytes);
    auto t0 = std::chrono::steady_clock::now();
    if (qrt_invoke(it) != QRT_OK) {
      std::fprintf(stderr, "qrt-accuracy: %s\n", qrt_last_error());
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    const float* logits = static_cast<const float*>(out.data);
    const size_t best = static_cast<size_t>(std::max_element(logits, logits + classes) - logits);
    int64_t label;
    std::memcpy(&label, y.data.data() + i * 8, 8);
    correct += static_cast<int64_t>(best) == label;
  }
  std::nth_element(ms.begin(), ms.begin() + static_cast<long>(ms.size() / 2), ms.end());
  qrt_memory_info mem;
  qrt_memory(it, &mem);
  std::printf("%-34s accuracy %6.2f%% (%zu/%zu)  median %.3f ms  arena %zu bytes\n", argv[1],
              100.0 * static_cast<double>(correct) / static_cast<double>(n), correct, n,
              ms[ms.size() / 2], mem.total_bytes);
  qrt_interpreter_free(it);
  qrt_model_free(model);
  return 0;
}
