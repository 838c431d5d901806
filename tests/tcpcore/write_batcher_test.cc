// Tests for WriteBatcher: what one write carries, and what memory a
// connection keeps between bursts.
#include "tcpcore/write_batcher.h"

#include <string>

#include "gtest/gtest.h"

namespace tcpcore {
namespace {

TEST(WriteBatcher, LinesQueuedDuringAWriteGoTogetherInTheNext) {
  WriteBatcher output;
  output.queue() += "a\n";
  ASSERT_TRUE(output.StartBatch());
  EXPECT_EQ(output.batch(), "a\n");
  output.queue() += "b\n";
  output.queue() += "c\n";
  EXPECT_FALSE(output.StartBatch());  // One write at a time.
  EXPECT_EQ(output.size(), 6u);
  output.FinishBatch();
  ASSERT_TRUE(output.StartBatch());
  EXPECT_EQ(output.batch(), "b\nc\n");
  output.FinishBatch();
  EXPECT_TRUE(output.idle());
  EXPECT_FALSE(output.StartBatch());
}

TEST(WriteBatcher, BufferOfALargeBurstIsFreedOnceWritten) {
  WriteBatcher output;
  output.queue() += std::string(4 << 20, 'x');
  ASSERT_TRUE(output.StartBatch());
  output.queue() += std::string(3 << 20, 'y');  // Gathers during the write.
  output.FinishBatch();
  ASSERT_TRUE(output.StartBatch());
  EXPECT_EQ(output.batch().size(), 3u << 20);
  output.FinishBatch();
  EXPECT_TRUE(output.idle());
  EXPECT_LE(output.capacity(), 2 * WriteBatcher::kRetainedCapacity);
}

TEST(WriteBatcher, BuffersOfSmallBatchesAreKept) {
  WriteBatcher output;
  for (int round = 0; round < 3; ++round) {
    output.queue() += std::string(100 << 10, 'x');
    ASSERT_TRUE(output.StartBatch());
    output.FinishBatch();
  }
  const std::size_t kept = output.capacity();
  EXPECT_GE(kept, 100u << 10);
  output.queue() += std::string(100 << 10, 'x');
  ASSERT_TRUE(output.StartBatch());
  output.FinishBatch();
  EXPECT_EQ(output.capacity(), kept);
}

}  // namespace
}  // namespace tcpcore
