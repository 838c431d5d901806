// FrameSplitter: turns a TCP byte stream into protocol frames.
//
// A frame is one JSON object. Frames are separated by a newline ("\n", a
// "\r\n" is tolerated) or follow each other with no separator at all, as the
// Go client of the original article writes them ({"Uid":..}{"Uid":..}). The
// splitter tracks strings and escapes, so braces and newlines inside a string
// value do not end a frame. A line that does not start with '{' is returned
// whole as a frame (for the codec to reject), so garbage never desynchronises
// the stream. A newline always ends a frame.
//
// The splitter owns its input buffer: a reader asks for space with
// PrepareWrite(), reads into it, publishes the bytes with CommitWrite() and
// then pulls frames with Next() until it answers kNeedMore. Returned frames are
// views into the buffer, valid until the next PrepareWrite()/Append().
// Scanning is incremental: a frame split over many reads is scanned once.
// The buffer grows to hold the longest frame (up to max_frame_bytes); once
// every byte is consumed, a buffer grown past kRetainedCapacity is freed, so
// a connection that once carried a large frame does not keep its size.
//
// Thread-safety: none; one owner (a connection on its loop thread).
#ifndef TCPCORE_FRAME_SPLITTER_H_
#define TCPCORE_FRAME_SPLITTER_H_

#include <cstddef>
#include <memory>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tcpcore {

struct FrameLimits {
  // Longest frame accepted, in bytes, not counting the line terminator.
  std::size_t max_frame_bytes = 1 << 20;
  // Deepest nesting of objects/arrays accepted (the top-level object is 1).
  int max_depth = 32;
};

class FrameSplitter {
 public:
  enum class Kind {
    kFrame,     // `frame` holds one complete frame.
    kNeedMore,  // No complete frame buffered; read more bytes.
    kTooLong,   // A frame exceeds max_frame_bytes. The stream is unusable.
    kTooDeep,   // A frame nests deeper than max_depth. The stream is unusable.
  };
  struct Event {
    Kind kind;
    absl::string_view frame;  // Set for kFrame only.
  };

  // The most buffer kept once it is empty.
  static constexpr std::size_t kRetainedCapacity = 256 << 10;

  explicit FrameSplitter(FrameLimits limits = {});

  // Returns writable space of at least `min_bytes` at the end of the buffer.
  // Invalidates frames returned earlier.
  absl::Span<char> PrepareWrite(std::size_t min_bytes);
  // Publishes `n` bytes written into the span from PrepareWrite().
  void CommitWrite(std::size_t n);
  // Copies `bytes` in (tests, fuzzers, tools that already hold the bytes).
  void Append(absl::string_view bytes);

  // Returns the next frame, or why there is none. After kTooLong or kTooDeep
  // every later call returns the same error.
  Event Next();

  // Bytes buffered that do not yet form a complete frame.
  std::size_t buffered_bytes() const { return end_ - begin_; }
  // Whether bytes of a frame not returned yet are buffered, whole or in
  // part (separators between frames do not count). Meaningless once Next()
  // has failed.
  bool HoldsUnreturnedFrame() const;
  const FrameLimits& limits() const { return limits_; }
  // Memory held by the buffer, used or not.
  std::size_t capacity() const { return capacity_; }

 private:
  enum class Mode { kBetweenFrames, kObject, kLine };

  Event Fail(Kind kind);
  Event TakeFrame(std::size_t frame_end, std::size_t next_begin);

  FrameLimits limits_;
  std::unique_ptr<char[]> buffer_;  // Not zero-filled on growth.
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;  // Start of the unconsumed bytes.
  std::size_t scan_ = 0;   // Next byte to scan; [begin_, scan_) is scanned.
  std::size_t end_ = 0;    // End of the buffered bytes.
  Mode mode_ = Mode::kBetweenFrames;
  int depth_ = 0;
  bool in_string_ = false;
  bool escaped_ = false;
  Kind error_ = Kind::kNeedMore;  // kTooLong/kTooDeep once failed.
};

}  // namespace tcpcore

#endif  // TCPCORE_FRAME_SPLITTER_H_
