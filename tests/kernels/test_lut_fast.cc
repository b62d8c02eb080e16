// Fast byte table lookup (kernels/x86/lut_avx2.cc) against lut_u8_ref, byte
// for byte, on every tier this machine has: random tables and inputs,
// lengths 0..300 (every vector tail, and the short-run path) plus a few
// long ones, unaligned pointers, in-place output; the bytes around the
// output must stay untouched.
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ref/unary.h"

namespace {

namespace k = qrt::kernels;

constexpr uint8_t kCanary = 0xA5;

TEST_CASE("lut fast: every tier's table lookup equals lut_u8_ref") {
  int tiers = 0;
  for (k::Isa isa :
       {k::Isa::avx2, k::Isa::avxvnni, k::Isa::avx512vnni, k::Isa::neon, k::Isa::neon_dotprod}) {
    const k::LutKernel* kernel = k::select_lut_kernel(isa);
    if (kernel == nullptr) continue;
    ++tiers;
    INFO(kernel->name << " on " << k::isa_name(isa));
    std::mt19937 rng(20261127);
    for (int c = 0; c < 2000; ++c) {
      uint8_t table[256];
      for (uint8_t& v : table) v = static_cast<uint8_t>(rng());
      const size_t n = c < 1990 ? rng() % 301 : 1000 + rng() % 100000;
      const size_t off = rng() % 32;
      std::vector<uint8_t> in(n + 64), want(n + 64, kCanary), got(n + 64, kCanary);
      for (uint8_t& v : in) v = static_cast<uint8_t>(rng());
      k::lut_u8_ref(table, n, in.data() + off, want.data() + off);
      if (c % 3 == 0) {
        got = in;
        for (size_t i = 0; i < off; ++i) got[i] = want[i] = kCanary;
        for (size_t i = off + n; i < got.size(); ++i) got[i] = want[i] = kCanary;
        kernel->run(table, n, got.data() + off, got.data() + off);
      } else {
        kernel->run(table, n, in.data() + off, got.data() + off);
      }
      REQUIRE_MESSAGE(got == want, "case " << c << " n " << n << " offset " << off);
    }
  }
  if (tiers == 0) MESSAGE("no tier of this machine has a fast table lookup");
}

}  // namespace
