// invoke() must not touch the heap. Counts every malloc-family call (which
// also catches operator new, built on malloc) while invoke runs. Under
// AddressSanitizer the allocator hooks it provides do the counting instead.
#include <doctest/doctest.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <vector>

#include "qrt/qrt.h"
#include "support/test_models.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
// Unused under ThreadSanitizer, whose runtime owns malloc: nothing counts there.
[[maybe_unused]] void note_allocation() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
}
}  // namespace

#if defined(__SANITIZE_ADDRESS__)
// From the sanitizer runtime (declared here: g++ ships no header for it).
extern "C" int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void*, size_t), void (*free_hook)(const volatile void*));
namespace {
void on_malloc(const volatile void*, size_t) { note_allocation(); }
void on_free(const volatile void*) {}
const int g_hooks = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}  // namespace
#elif !defined(__SANITIZE_THREAD__)
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);

void* malloc(size_t n) {
  note_allocation();
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  note_allocation();
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  note_allocation();
  return __libc_realloc(p, n);
}
void* aligned_alloc(size_t alignment, size_t n) {
  note_allocation();
  return __libc_memalign(alignment, n);
}
void* memalign(size_t alignment, size_t n) {
  note_allocation();
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, size_t alignment, size_t n) {
  note_allocation();
  void* p = __libc_memalign(alignment, n);
  if (!p) return 12;  // ENOMEM
  *out = p;
  return 0;
}
}
#endif

namespace {

long allocations_during(qrt_interpreter* it) {
  g_allocations = 0;
  g_counting = true;
  qrt_status s = qrt_invoke(it);
  g_counting = false;
  REQUIRE(s == QRT_OK);
  return g_allocations.load();
}

}  // namespace

namespace qrt::test {
// For other suites (test_threads.cc): malloc is replaced here, once per binary.
long allocations_during_invoke(qrt_interpreter* it) { return allocations_during(it); }
}  // namespace qrt::test

TEST_CASE("the allocation counter sees allocations") {
  // Guards the test below against counting nothing.
  g_allocations = 0;
  g_counting = true;
  std::vector<int>* v = new std::vector<int>(100);
  void* p = std::malloc(32);
  g_counting = false;
  std::free(p);
  delete v;
  CHECK(g_allocations.load() >= 2);
}

TEST_CASE("invoke performs no heap allocation on any test model") {
  std::vector<std::vector<uint8_t>> models = {
      qrt::test::int8_cnn(qrt::fb::Profile::Qnnpack), qrt::test::int8_cnn(qrt::fb::Profile::Fbgemm),
      qrt::test::fp32_cnn()};
  for (int profile_ops = 0; profile_ops < 2; ++profile_ops) {
    for (const auto& bytes : models) {
      qrt::test::AlignedBytes aligned(bytes);
      qrt_model* model = nullptr;
      REQUIRE(qrt_model_from_buffer(aligned.data(), aligned.size(), &model) == QRT_OK);
      qrt_options options;
      qrt_options_init(&options);
      options.profile_ops = profile_ops;
      qrt_interpreter* it = nullptr;
      REQUIRE(qrt_interpreter_create(model, &options, &it) == QRT_OK);
      CHECK(allocations_during(it) == 0);
      CHECK(allocations_during(it) == 0);
      qrt_interpreter_free(it);
      qrt_model_free(model);
    }
  }
}
