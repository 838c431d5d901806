#include "tcpcore/heap_trimmer.h"

#include <malloc.h>
#include <pthread.h>

namespace tcpcore {

HeapTrimmer::HeapTrimmer(absl::Duration interval) : interval_(interval) {
  thread_ = std::thread([this] { Run(); });
}

HeapTrimmer::~HeapTrimmer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_requested_.notify_all();
  thread_.join();
}

void HeapTrimmer::Run() {
  pthread_setname_np(pthread_self(), "heap-trim");  // For top -H and perf.
  std::unique_lock lock(mu_);
  while (!stop_requested_.wait_for(lock, absl::ToChronoNanoseconds(interval_), [this] { return stopping_; })) {
    lock.unlock();
    malloc_trim(0);
    trims_.fetch_add(1, std::memory_order_release);
    lock.lock();
  }
}

}  // namespace tcpcore
