// Small helpers for the seeded random sweeps of the differential tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace qrt::test {

inline int uniform(std::mt19937& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

inline bool coin(std::mt19937& rng, double p = 0.5) { return std::bernoulli_distribution(p)(rng); }

// Log-uniform over [lo, hi]: scales spanning decades get each decade alike.
inline float log_uniform(std::mt19937& rng, float lo, float hi) {
  const double e = std::uniform_real_distribution<double>(std::log(lo), std::log(hi))(rng);
  return static_cast<float>(std::exp(e));
}

// A zero point over 0..255 with the extremes a quarter of the time.
inline int32_t random_zp(std::mt19937& rng) {
  if (coin(rng, 0.25)) return coin(rng) ? 0 : 255;
  return uniform(rng, 0, 255);
}

}  // namespace qrt::test
