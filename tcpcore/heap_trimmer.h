// HeapTrimmer: every `interval`, on its own thread, hands the free memory
// glibc's malloc holds in its arenas back to the system (malloc_trim), so a
// process's resident memory follows what it uses instead of staying at the
// high-water mark of its last burst. glibc returns free memory on its own
// only from the top of each arena: one small block still in use near the
// top (a connection's, a timer's) keeps everything below it resident. After
// 8 SendStream clients sent 200 KB vals and left, the gateway held 216 MiB
// resident with 1.7 MiB in use; one trim took it to 20 MiB
// (docs/performance.md, "Memory after a burst of large messages"). A trim
// with nothing to return costs a fraction of a millisecond; one that
// returns hundreds of MiB, some milliseconds, during which an allocation in
// the arena being trimmed waits.
//
// Thread-safety: construct and destroy on one thread; trims() from any. The
// destructor stops and joins the thread.
#ifndef TCPCORE_HEAP_TRIMMER_H_
#define TCPCORE_HEAP_TRIMMER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "absl/time/time.h"

namespace tcpcore {

class HeapTrimmer {
 public:
  // How often the binaries trim: often enough that memory follows a burst
  // within seconds, rarely enough that pages are not handed back only to be
  // faulted in again at once under steady load.
  static constexpr absl::Duration kInterval = absl::Seconds(10);

  explicit HeapTrimmer(absl::Duration interval = kInterval);
  ~HeapTrimmer();
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;

  // Trims done so far.
  uint64_t trims() const { return trims_.load(std::memory_order_acquire); }

 private:
  void Run();

  const absl::Duration interval_;
  std::mutex mu_;
  std::condition_variable stop_requested_;
  bool stopping_ = false;  // Guarded by mu_.
  std::atomic<uint64_t> trims_{0};
  std::thread thread_;
};

}  // namespace tcpcore

#endif  // TCPCORE_HEAP_TRIMMER_H_
