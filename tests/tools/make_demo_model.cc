// qrt-demo-model OUT_DIR: writes the main job's stand-in model until the
// converter ships a trained one: a MobileNetV2-shaped int8 graph with seeded
// random weights (mobilenet_v2.qrt) and an input image (image.npy).
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "npy.h"
#include "support/mobilenet_v2_model.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: qrt-demo-model OUT_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  std::vector<uint8_t> model = qrt::test::mobilenet_v2_int8(qrt::fb::Profile::Qnnpack);
  const std::string model_path = dir + "/mobilenet_v2.qrt";
  std::ofstream out(model_path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(model.data()), static_cast<std::streamsize>(model.size()));
  if (!out.good()) {
    std::fprintf(stderr, "qrt-demo-model: cannot write %s\n", model_path.c_str());
    return 1;
  }
  qrt::tools::NpyArray image;
  image.dtype = "u1";
  image.shape = {1, 224, 224, 3};
  image.data.resize(224 * 224 * 3);
  std::mt19937 rng(42);
  for (auto& b : image.data) b = static_cast<uint8_t>(rng() & 0xFF);
  std::string error;
  if (!qrt::tools::write_npy(dir + "/image.npy", image, &error)) {
    std::fprintf(stderr, "qrt-demo-model: %s\n", error.c_str());
    return 1;
  }
  std::printf("qrt-demo-model: wrote %s (%zu bytes) and %s/image.npy\n", model_path.c_str(),
              model.size(), dir.c_str());
  return 0;
}
