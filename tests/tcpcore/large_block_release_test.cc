// Tests for ReleaseLargeBlocksWhenFreed: large blocks keep their own
// mappings (returned to the system when freed) even after a larger block
// was freed, which by glibc's default moves them into its arenas.
#include "tcpcore/large_block_release.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

#include "gtest/gtest.h"
#include "tests/sanitizer_malloc.h"

namespace tcpcore {
namespace {

using ::tcpgate_test::kSanitizerMalloc;

void* volatile sink = nullptr;  // Keeps the compiler from eliding malloc/free pairs.

void* Allocate(std::size_t bytes) {
  void* block = std::malloc(bytes);
  std::memset(block, 1, bytes);
  sink = block;
  return block;
}

std::size_t MappedBytes() { return mallinfo2().hblkhd; }

TEST(ReleaseLargeBlocksWhenFreed, LargeBlockIsMappedAndReturnedAfterALargerOneWasFreed) {
  if (kSanitizerMalloc) GTEST_SKIP() << "the sanitizers replace glibc's malloc";
  ASSERT_TRUE(ReleaseLargeBlocksWhenFreed());
  std::free(Allocate(8 << 20));  // By glibc's default, this raises the threshold to 8 MiB.
  const std::size_t before = MappedBytes();
  void* block = Allocate(256 << 10);
  EXPECT_GE(MappedBytes(), before + (256 << 10)) << "a 256 KiB block came from an arena";
  std::free(block);
  EXPECT_EQ(MappedBytes(), before) << "a freed 256 KiB block was kept";
}

TEST(ReleaseLargeBlocksWhenFreed, OperatorsOwnThresholdIsLeftAlone) {
  ASSERT_EQ(setenv("MALLOC_MMAP_THRESHOLD_", "1048576", 1), 0);
  EXPECT_FALSE(ReleaseLargeBlocksWhenFreed());
  unsetenv("MALLOC_MMAP_THRESHOLD_");
}

}  // namespace
}  // namespace tcpcore
