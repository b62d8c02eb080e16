#include "thread_pool.h"

#include <algorithm>
#include <chrono>
#include <system_error>

namespace qrt {

namespace {

// Chunks per thread and job, at most. One: the caller claims chunk 0 right
// after it publishes a job, so with two threads the caller keeps the first
// rows and the worker the rest from op to op, and each reads activations
// its own cache just wrote (MobileNetV2 on 2 threads: 1.09 ms median against
// 1.21 ms with 4 chunks a thread, whose claims scatter rows over threads).
// A worker that is late to claim still does not hold the op up: the caller
// takes every chunk nobody has claimed.
constexpr int64_t kChunksPerThread = 1;
static_assert(ThreadPool::kMaxThreads * kChunksPerThread < (1 << 12),
              "a job's chunk count must fit its field of the job word");

// How long a thread polls before it sleeps. Between two ops of one invoke
// the gap is a few microseconds, far below this, so workers stay awake for
// the whole invoke and no op pays a futex wake-up; after the last op they
// give the core back within this time.
constexpr std::chrono::microseconds kSpin{200};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield" ::: "memory");
#endif
}

// Polls done() until it holds or kSpin has passed; the clock is read every
// 64 polls (steady_clock is a vDSO read on Linux, not a system call).
template <class Done>
bool spin_until(const Done& done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return done();
  }
}

}  // namespace

int32_t ThreadPool::resolve(int32_t requested, bool cap_to_cores) {
  int32_t threads = requested <= 0 ? 1 : std::min(requested, kMaxThreads);
  if (cap_to_cores) {
    // 0 when the system does not say: then trust the caller.
    const unsigned cores = std::thread::hardware_concurrency();
    if (cores > 0 && static_cast<unsigned>(threads) > cores) threads = static_cast<int32_t>(cores);
  }
  return threads;
}

qrt_status ThreadPool::start(int32_t threads, Error* error) {
  stop();
  if (threads < 1 || threads > kMaxThreads)
    return fail(error, QRT_INVALID_ARGUMENT, "thread pool of %d threads: expected 1 to %d",
                threads, kMaxThreads);
  if (threads == 1) return QRT_OK;
  workers_.reserve(static_cast<size_t>(threads - 1));
  // Read here, not by the worker: a worker scheduled late must still take
  // part in the first job, which may be published before it runs.
  const uint64_t job = generation(state_.load(std::memory_order_relaxed));
  try {
    for (int32_t slot = 1; slot < threads; ++slot)
      workers_.emplace_back(&ThreadPool::worker_main, this, slot, job);
  } catch (const std::system_error& e) {
    const int32_t started = static_cast<int32_t>(workers_.size());
    stop();
    return fail(error, QRT_OUT_OF_MEMORY, "cannot start worker thread %d of %d: %s",
                started + 1, threads - 1, e.what());
  }
  // Wait until every worker runs: a thread's start-up (TLS, the
  // sanitizers' per-thread state) may allocate, and must not do so
  // asynchronously during the first invoke, which promises no allocation.
  while (running_workers_.load(std::memory_order_acquire) < threads - 1)
    std::this_thread::yield();
  threads_ = threads;
  return QRT_OK;
}

void ThreadPool::stop() {
  if (workers_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_.store(true);
  }
  work_ready_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  running_workers_.store(0);
  stopping_.store(false);
  threads_ = 1;
}

void ThreadPool::run_chunks(int64_t n, int64_t align, int64_t min_chunk, ChunkFn fn,
                            const void* context) {
  if (n <= 0) return;
  if (align < 1) align = 1;
  if (min_chunk < 1) min_chunk = 1;
  const int64_t units = n / align + (n % align != 0);
  int64_t chunks = std::min({units, int64_t{threads_} * kChunksPerThread, n / min_chunk});
  // A whole number of chunks per thread: 3 chunks on 2 threads would leave
  // one thread 2/3 of the work.
  if (chunks > threads_) chunks -= chunks % threads_;
  if (chunks <= 1) {
    fn(context, 0, n, 0);
    return;
  }
  fn_.store(fn, std::memory_order_relaxed);
  context_.store(context, std::memory_order_relaxed);
  n_.store(n, std::memory_order_relaxed);
  align_.store(align, std::memory_order_relaxed);
  units_.store(units, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  // No chunk of the previous job is unclaimed or running (run() waited for
  // all of them), so only the generation and the counts change here.
  const uint64_t state = ((generation(state_.load(std::memory_order_relaxed)) + 1)
                          << (2 * kChunkBits)) |
                         static_cast<uint64_t>(chunks) << kChunkBits;
  // seq_cst with the load of sleeping_workers_ below, against the worker's
  // increment then load of state_: one of the two sides sees the other, so a
  // worker going to sleep either sees this job or is woken for it.
  state_.store(state, std::memory_order_seq_cst);
  if (sleeping_workers_.load(std::memory_order_seq_cst) > 0) {
    { std::lock_guard<std::mutex> lock(mutex_); }
    work_ready_.notify_all();
  }

  take_chunks(state, 0);

  const auto all_done = [&] { return done_.load(std::memory_order_acquire) == chunks; };
  if (!spin_until(all_done)) {
    std::unique_lock<std::mutex> lock(mutex_);
    caller_sleeping_.store(true, std::memory_order_seq_cst);
    work_done_.wait(lock, [&] { return done_.load(std::memory_order_seq_cst) == chunks; });
    caller_sleeping_.store(false, std::memory_order_relaxed);
  }
}

void ThreadPool::take_chunks(uint64_t state, int32_t slot) {
  const uint64_t job = generation(state);
  const int64_t chunks = chunk_count(state);
  for (;;) {
    if (generation(state) != job || next_chunk(state) >= chunks) return;
    const ChunkFn fn = fn_.load(std::memory_order_relaxed);
    const void* context = context_.load(std::memory_order_relaxed);
    const int64_t n = n_.load(std::memory_order_relaxed);
    const int64_t align = align_.load(std::memory_order_relaxed);
    const int64_t units = units_.load(std::memory_order_relaxed);
    // Success means the word was still this job with this chunk free, so the
    // fields read above belong to this job (the caller rewrites them only
    // after every chunk of it is done).
    if (!state_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire))
      continue;
    const int64_t c = next_chunk(state);
    const int64_t begin = c * units / chunks * align;
    const int64_t end = std::min(n, (c + 1) * units / chunks * align);
    fn(context, begin, end, slot);
    state += 1;
    // seq_cst against the caller's store of caller_sleeping_ then load of done_.
    if (done_.fetch_add(1, std::memory_order_seq_cst) + 1 == chunks &&
        caller_sleeping_.load(std::memory_order_seq_cst)) {
      { std::lock_guard<std::mutex> lock(mutex_); }
      work_done_.notify_one();
    }
  }
}

void ThreadPool::worker_main(int32_t slot, uint64_t seen) {
  running_workers_.fetch_add(1, std::memory_order_release);
  uint64_t state = 0;
  const auto has_work = [&] {
    state = state_.load(std::memory_order_acquire);
    return generation(state) != seen || stopping_.load(std::memory_order_acquire);
  };
  for (;;) {
    if (!spin_until(has_work)) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleeping_workers_.fetch_add(1, std::memory_order_seq_cst);
      work_ready_.wait(lock, [&] {
        state = state_.load(std::memory_order_seq_cst);
        return generation(state) != seen || stopping_.load();
      });
      sleeping_workers_.fetch_sub(1, std::memory_order_relaxed);
    }
    if (stopping_.load(std::memory_order_acquire)) return;
    seen = generation(state);
    take_chunks(state, slot);
  }
}

}  // namespace qrt
