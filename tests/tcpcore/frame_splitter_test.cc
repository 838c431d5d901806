// Tests for FrameSplitter: how a byte stream becomes frames, whatever the
// read boundaries, and where the limits cut a stream off.
#include "tcpcore/frame_splitter.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpcore {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Pulls frames until the splitter needs more bytes or fails.
std::vector<std::string> Drain(FrameSplitter& splitter, FrameSplitter::Kind* last = nullptr) {
  std::vector<std::string> frames;
  while (true) {
    FrameSplitter::Event event = splitter.Next();
    if (event.kind != FrameSplitter::Kind::kFrame) {
      if (last != nullptr) *last = event.kind;
      return frames;
    }
    frames.emplace_back(event.frame);
  }
}

// Feeds `input` in pieces of `chunk` bytes, draining after each piece.
std::vector<std::string> SplitInChunks(const std::string& input, std::size_t chunk, FrameLimits limits = {}) {
  FrameSplitter splitter(limits);
  std::vector<std::string> frames;
  for (std::size_t at = 0; at < input.size(); at += chunk) {
    splitter.Append(absl::string_view(input).substr(at, chunk));
    for (std::string& frame : Drain(splitter)) frames.push_back(std::move(frame));
  }
  return frames;
}

// Verify: newline-terminated lines come out one frame each, terminator removed.
TEST(FrameSplitter, SplitsNewlineTerminatedLines) {
  EXPECT_THAT(SplitInChunks("{\"Uid\":\"1\"}\n{\"Uid\":\"2\"}\n", 1024),
              ElementsAre("{\"Uid\":\"1\"}", "{\"Uid\":\"2\"}"));
}

// Verify: many frames in one read are all returned from that one read.
TEST(FrameSplitter, ReturnsEveryFrameOfOneRead) {
  std::string input;
  for (int i = 0; i < 1000; ++i) input += "{\"Uid\":\"" + std::to_string(i) + "\",\"Val\":\"x\"}\n";
  FrameSplitter splitter;
  splitter.Append(input);
  FrameSplitter::Kind last;
  std::vector<std::string> frames = Drain(splitter, &last);
  ASSERT_EQ(frames.size(), 1000u);
  EXPECT_EQ(frames[999], "{\"Uid\":\"999\",\"Val\":\"x\"}");
  EXPECT_EQ(last, FrameSplitter::Kind::kNeedMore);
  EXPECT_EQ(splitter.buffered_bytes(), 0u);
}

// Verify: HoldsUnreturnedFrame tells whether a frame, whole or begun, is
// still buffered, separators between frames not counting.
TEST(FrameSplitter, HoldsUnreturnedFrameCountsFramesNotSeparators) {
  FrameSplitter splitter;
  EXPECT_FALSE(splitter.HoldsUnreturnedFrame());
  splitter.Append("{\"Uid\":\"1\"}\n{\"Uid\":\"2\"}\r\n \t");
  EXPECT_TRUE(splitter.HoldsUnreturnedFrame());  // Two whole frames, not returned yet.
  ASSERT_EQ(splitter.Next().kind, FrameSplitter::Kind::kFrame);
  EXPECT_TRUE(splitter.HoldsUnreturnedFrame());  // The second.
  ASSERT_EQ(splitter.Next().kind, FrameSplitter::Kind::kFrame);
  EXPECT_FALSE(splitter.HoldsUnreturnedFrame());  // Separators only.
  splitter.Append("\n{\"Uid\":");
  EXPECT_TRUE(splitter.HoldsUnreturnedFrame());  // Not scanned yet.
  ASSERT_EQ(splitter.Next().kind, FrameSplitter::Kind::kNeedMore);
  EXPECT_TRUE(splitter.HoldsUnreturnedFrame());  // Begun.
  splitter.Append("\"3\"}");
  ASSERT_EQ(splitter.Next().kind, FrameSplitter::Kind::kFrame);
  EXPECT_FALSE(splitter.HoldsUnreturnedFrame());
}

// Verify: the same stream split byte by byte gives the same frames.
TEST(FrameSplitter, SplitsAcrossByteByByteReads) {
  const std::string input = "{\"Uid\":\"a\\\"}\",\"Val\":\"{[\\n\"}\r\n{\"Uid\":\"b\"}{\"Uid\":\"c\"}\ngarbage\n";
  const std::vector<std::string> whole = SplitInChunks(input, input.size());
  EXPECT_THAT(whole, ElementsAre("{\"Uid\":\"a\\\"}\",\"Val\":\"{[\\n\"}", "{\"Uid\":\"b\"}", "{\"Uid\":\"c\"}",
                                 "garbage"));
  for (std::size_t chunk = 1; chunk < input.size(); ++chunk) {
    EXPECT_EQ(SplitInChunks(input, chunk), whole) << "chunk size " << chunk;
  }
}

// Verify: "\r\n" endings are tolerated and the "\r" is not part of the frame.
TEST(FrameSplitter, StripsCarriageReturnBeforeNewline) {
  EXPECT_THAT(SplitInChunks("{\"Uid\":\"1\"}\r\nnot json\r\n", 3), ElementsAre("{\"Uid\":\"1\"}", "not json"));
}

// Verify: objects written back to back with no separator (the article's Go
// client) are split at each top-level closing brace.
TEST(FrameSplitter, SplitsConcatenatedObjectsWithoutNewlines) {
  EXPECT_THAT(SplitInChunks("{\"Uid\":\"1\",\"Val\":\"a\"}{\"Uid\":\"2\",\"Val\":{\"x\":[1,{}]}} {\"Uid\":\"3\"}", 5),
              ElementsAre("{\"Uid\":\"1\",\"Val\":\"a\"}", "{\"Uid\":\"2\",\"Val\":{\"x\":[1,{}]}}",
                          "{\"Uid\":\"3\"}"));
}

// Verify: braces, brackets and escaped quotes inside strings do not end a frame.
TEST(FrameSplitter, IgnoresBracesAndEscapedQuotesInsideStrings) {
  const std::string frame = R"({"Uid":"}{","Val":"say \"}\" and \\"}{"Uid":"]"})";
  EXPECT_THAT(SplitInChunks(frame, 2),
              ElementsAre(R"({"Uid":"}{","Val":"say \"}\" and \\"})", R"({"Uid":"]"})"));
}

// Verify: a newline always ends a frame, even inside an unterminated string,
// so one broken line cannot swallow the lines after it.
TEST(FrameSplitter, NewlineEndsAnUnterminatedObject) {
  EXPECT_THAT(SplitInChunks("{\"Uid\":\"abc\n{\"Uid\":\"ok\"}\n", 4),
              ElementsAre("{\"Uid\":\"abc", "{\"Uid\":\"ok\"}"));
}

// Verify: blank lines and whitespace between frames produce nothing.
TEST(FrameSplitter, SkipsBlankLinesAndWhitespace) {
  EXPECT_THAT(SplitInChunks("\n\r\n  \t\n{}\n\n", 1), ElementsAre("{}"));
  EXPECT_THAT(SplitInChunks("\n\n\n", 1), IsEmpty());
}

// Verify: a partial frame stays buffered until its end arrives.
TEST(FrameSplitter, KeepsPartialFrameUntilComplete) {
  FrameSplitter splitter;
  splitter.Append("{\"Uid\":\"1\",");
  EXPECT_EQ(splitter.Next().kind, FrameSplitter::Kind::kNeedMore);
  EXPECT_EQ(splitter.buffered_bytes(), 11u);
  splitter.Append("\"Val\":\"v\"}");
  FrameSplitter::Event event = splitter.Next();
  ASSERT_EQ(event.kind, FrameSplitter::Kind::kFrame);
  EXPECT_EQ(event.frame, "{\"Uid\":\"1\",\"Val\":\"v\"}");
}

// Verify: a frame longer than the limit fails the stream, whether it arrives
// whole or in pieces, and stays failed.
TEST(FrameSplitter, RejectsOverlongFrame) {
  FrameLimits limits;
  limits.max_frame_bytes = 16;
  for (std::size_t chunk : {1u, 7u, 100u}) {
    FrameSplitter splitter(limits);
    const std::string input = "{\"Val\":\"0123456789abcdef\"}\n";
    FrameSplitter::Kind last = FrameSplitter::Kind::kNeedMore;
    for (std::size_t at = 0; at < input.size() && last == FrameSplitter::Kind::kNeedMore; at += chunk) {
      splitter.Append(absl::string_view(input).substr(at, chunk));
      EXPECT_THAT(Drain(splitter, &last), IsEmpty());
    }
    EXPECT_EQ(last, FrameSplitter::Kind::kTooLong) << "chunk size " << chunk;
    EXPECT_EQ(splitter.Next().kind, FrameSplitter::Kind::kTooLong);
  }
}

// Verify: an over-long line without any newline fails as soon as the limit is
// passed, without waiting for the end of the line.
TEST(FrameSplitter, RejectsOverlongLineBeforeItEnds) {
  FrameLimits limits;
  limits.max_frame_bytes = 8;
  FrameSplitter splitter(limits);
  splitter.Append("garbage-garbage-garbage");
  EXPECT_EQ(splitter.Next().kind, FrameSplitter::Kind::kTooLong);
}

// Verify: a frame of exactly the limit, even with "\r\n", is accepted.
TEST(FrameSplitter, AcceptsFrameOfExactlyTheLimit) {
  FrameLimits limits;
  limits.max_frame_bytes = 10;
  EXPECT_THAT(SplitInChunks("{\"a\":\"12\"}\r\n", 1, limits), ElementsAre("{\"a\":\"12\"}"));
}

// Verify: nesting deeper than the limit fails the stream; at the limit passes.
TEST(FrameSplitter, RejectsTooDeepNesting) {
  FrameLimits limits;
  limits.max_depth = 3;
  EXPECT_THAT(SplitInChunks("{\"a\":{\"b\":[1]}}\n", 1, limits), ElementsAre("{\"a\":{\"b\":[1]}}"));
  FrameSplitter splitter(limits);
  splitter.Append("{\"a\":{\"b\":[{");
  EXPECT_EQ(splitter.Next().kind, FrameSplitter::Kind::kTooDeep);
  EXPECT_EQ(splitter.Next().kind, FrameSplitter::Kind::kTooDeep);
}

// Verify: brackets inside strings do not count towards the depth.
TEST(FrameSplitter, BracketsInStringsDoNotCountAsDepth) {
  FrameLimits limits;
  limits.max_depth = 1;
  EXPECT_THAT(SplitInChunks("{\"Val\":\"[[[{{{\"}\n", 1, limits), ElementsAre("{\"Val\":\"[[[{{{\"}"));
}

// Verify: PrepareWrite/CommitWrite (the socket read path) frame like Append.
TEST(FrameSplitter, FramesBytesWrittenThroughPrepareWrite) {
  FrameSplitter splitter;
  const std::string input = "{\"Uid\":\"1\"}\n{\"Uid\":";
  absl::Span<char> space = splitter.PrepareWrite(input.size());
  ASSERT_GE(space.size(), input.size());
  input.copy(space.data(), input.size());
  splitter.CommitWrite(input.size());
  EXPECT_THAT(Drain(splitter), ElementsAre("{\"Uid\":\"1\"}"));
  splitter.Append("\"2\"}");
  EXPECT_THAT(Drain(splitter), ElementsAre("{\"Uid\":\"2\"}"));
}

// A frame of `val_bytes` of payload, without its newline.
std::string LargeFrame(std::size_t val_bytes) {
  return "{\"Uid\":\"big\",\"Val\":\"" + std::string(val_bytes, 'x') + "\"}";
}

TEST(FrameSplitter, BufferGrownForALargeFrameIsFreedOnceEverythingIsConsumed) {
  FrameLimits limits;
  limits.max_frame_bytes = 8 << 20;
  FrameSplitter splitter(limits);
  const std::string big = LargeFrame(2 << 20);
  splitter.Append(big + "\n");
  EXPECT_THAT(Drain(splitter), ElementsAre(big));
  EXPECT_GE(splitter.capacity(), big.size());
  (void)splitter.PrepareWrite(16 << 10);
  EXPECT_LE(splitter.capacity(), FrameSplitter::kRetainedCapacity);
  // Still frames what comes next, large or small.
  splitter.Append("{\"Uid\":\"1\"}\n" + big + "\n");
  EXPECT_THAT(Drain(splitter), ElementsAre("{\"Uid\":\"1\"}", big));
}

TEST(FrameSplitter, BufferHoldingPartOfALargeFrameIsKept) {
  FrameLimits limits;
  limits.max_frame_bytes = 8 << 20;
  FrameSplitter splitter(limits);
  const std::string big = LargeFrame(2 << 20);
  splitter.Append(big.substr(0, big.size() - 2));
  EXPECT_THAT(Drain(splitter), IsEmpty());
  const std::size_t grown = splitter.capacity();
  ASSERT_GT(grown, FrameSplitter::kRetainedCapacity);
  (void)splitter.PrepareWrite(16 << 10);
  EXPECT_GE(splitter.capacity(), grown);
  splitter.Append(big.substr(big.size() - 2) + "\n");
  EXPECT_THAT(Drain(splitter), ElementsAre(big));
}

TEST(FrameSplitter, BufferOfSmallFramesIsKeptBetweenReads) {
  FrameSplitter splitter;
  for (int i = 0; i < 1000; ++i) splitter.Append("{\"Uid\":\"" + std::to_string(i) + "\"}\n");
  (void)Drain(splitter);
  const std::size_t grown = splitter.capacity();
  ASSERT_LE(grown, FrameSplitter::kRetainedCapacity);
  (void)splitter.PrepareWrite(16 << 10);
  EXPECT_EQ(splitter.capacity(), grown);
}

}  // namespace
}  // namespace tcpcore
