// Tests for HeapTrimmer: free memory kept by malloc below a block still in
// use goes back to the system at the next trim, and the trimmer stops at
// once when destroyed.
#include "tcpcore/heap_trimmer.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/eventually.h"
#include "tests/sanitizer_malloc.h"

namespace tcpcore {
namespace {

using ::tcpgate_test::kSanitizerMalloc;

// This process's resident memory, from /proc/self/statm.
int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

constexpr int64_t kFreed = 64 << 20;

// On a thread of its own (so in an arena of its own, as a loop thread's
// allocations are): 64 MiB in 60 KiB blocks, each followed by a small block
// that stays, then the large ones freed. Each stays resident: no free
// block reaches the arena's top. Returns the small blocks, for the caller
// to free.
std::vector<void*> LeaveFreedMemoryBelowBlocksInUse() {
  std::vector<void*> kept;
  std::thread([&kept] {
    std::vector<void*> large;
    for (int64_t total = 0; total < kFreed; total += 60 << 10) {
      void* block = std::malloc(60 << 10);
      std::memset(block, 1, 60 << 10);
      large.push_back(block);
      kept.push_back(std::malloc(64));
    }
    for (void* block : large) std::free(block);
  }).join();
  return kept;
}

TEST(HeapTrimmer, FreedMemoryBelowBlocksInUseLeavesResidenceAtTheNextTrim) {
  if (kSanitizerMalloc) GTEST_SKIP() << "the sanitizers replace glibc's malloc";
  std::vector<void*> kept = LeaveFreedMemoryBelowBlocksInUse();
  const int64_t before = ResidentBytes();
  {
    HeapTrimmer trimmer(absl::Milliseconds(50));
    ASSERT_TRUE(tcpgate_test::Eventually([&] { return trimmer.trims() >= 1; }, absl::Seconds(10)));
  }
  EXPECT_LT(ResidentBytes(), before - kFreed / 2) << "resident before the trim: " << before;
  for (void* block : kept) std::free(block);
}

TEST(HeapTrimmer, FreedMemoryStaysResidentWithoutATrim) {
  // The control: the memory the trimmer hands back is not handed back by
  // malloc itself (else the test above would prove nothing).
  if (kSanitizerMalloc) GTEST_SKIP() << "the sanitizers replace glibc's malloc";
  const int64_t start = ResidentBytes();
  std::vector<void*> kept = LeaveFreedMemoryBelowBlocksInUse();
  EXPECT_GT(ResidentBytes(), start + kFreed / 2);
  for (void* block : kept) std::free(block);
}

TEST(HeapTrimmer, StopsAtOnceWhenDestroyed) {
  const absl::Time start = absl::Now();
  { HeapTrimmer trimmer(absl::Hours(1)); }
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace tcpcore
