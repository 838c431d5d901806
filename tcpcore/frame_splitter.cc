#include "tcpcore/frame_splitter.h"

#include <algorithm>
#include <cstring>

namespace tcpcore {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

}  // namespace

FrameSplitter::FrameSplitter(FrameLimits limits) : limits_(limits) {}

absl::Span<char> FrameSplitter::PrepareWrite(std::size_t min_bytes) {
  if (begin_ == end_) {
    begin_ = scan_ = end_ = 0;
    if (capacity_ > kRetainedCapacity && min_bytes <= kRetainedCapacity) {
      buffer_.reset();
      capacity_ = 0;
    }
  } else if (capacity_ - end_ < min_bytes && begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    scan_ -= begin_;
    end_ -= begin_;
    begin_ = 0;
  }
  if (capacity_ - end_ < min_bytes) {
    std::size_t capacity = std::max(capacity_ * 2, end_ + min_bytes);
    auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
    if (end_ > 0) std::memcpy(bigger.get(), buffer_.get(), end_);
    buffer_ = std::move(bigger);
    capacity_ = capacity;
  }
  return absl::Span<char>(buffer_.get() + end_, capacity_ - end_);
}

void FrameSplitter::CommitWrite(std::size_t n) { end_ += std::min(n, capacity_ - end_); }

void FrameSplitter::Append(absl::string_view bytes) {
  if (bytes.empty()) return;  // memcpy must not see a null pointer.
  absl::Span<char> space = PrepareWrite(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  CommitWrite(bytes.size());
}

FrameSplitter::Event FrameSplitter::Fail(Kind kind) {
  error_ = kind;
  return {kind, {}};
}

FrameSplitter::Event FrameSplitter::TakeFrame(std::size_t frame_end, std::size_t next_begin) {
  std::size_t frame_begin = begin_;
  begin_ = scan_ = next_begin;
  mode_ = Mode::kBetweenFrames;
  if (frame_end - frame_begin > limits_.max_frame_bytes) return Fail(Kind::kTooLong);
  return {Kind::kFrame, absl::string_view(buffer_.get() + frame_begin, frame_end - frame_begin)};
}

bool FrameSplitter::HoldsUnreturnedFrame() const {
  if (mode_ != Mode::kBetweenFrames) return true;
  for (std::size_t i = begin_; i < end_; ++i) {
    if (!IsSpace(buffer_[i])) return true;
  }
  return false;
}

FrameSplitter::Event FrameSplitter::Next() {
  if (error_ != Kind::kNeedMore) return {error_, {}};
  const char* data = buffer_.get();
  while (scan_ < end_) {
    switch (mode_) {
      case Mode::kBetweenFrames: {
        char c = data[scan_];
        if (IsSpace(c)) {
          begin_ = ++scan_;
          continue;
        }
        begin_ = scan_++;
        if (c == '{') {
          mode_ = Mode::kObject;
          depth_ = 1;
          in_string_ = false;
          escaped_ = false;
        } else {
          mode_ = Mode::kLine;
        }
        continue;
      }
      case Mode::kLine: {
        const void* nl = std::memchr(data + scan_, '\n', end_ - scan_);
        if (nl == nullptr) {
          scan_ = end_;
          continue;
        }
        std::size_t at = static_cast<const char*>(nl) - data;
        std::size_t frame_end = (at > begin_ && data[at - 1] == '\r') ? at - 1 : at;
        return TakeFrame(frame_end, at + 1);
      }
      case Mode::kObject: {
        char c = data[scan_];
        if (c == '\n') {
          std::size_t frame_end = (scan_ > begin_ && data[scan_ - 1] == '\r') ? scan_ - 1 : scan_;
          return TakeFrame(frame_end, scan_ + 1);
        }
        ++scan_;
        if (in_string_) {
          if (escaped_) {
            escaped_ = false;
          } else if (c == '\\') {
            escaped_ = true;
          } else if (c == '"') {
            in_string_ = false;
          }
          continue;
        }
        switch (c) {
          case '"':
            in_string_ = true;
            break;
          case '{':
          case '[':
            if (++depth_ > limits_.max_depth) return Fail(Kind::kTooDeep);
            break;
          case '}':
          case ']':
            if (--depth_ == 0) return TakeFrame(scan_, scan_);
            break;
          default:
            break;
        }
        continue;
      }
    }
  }
  // Everything buffered is scanned and no frame is complete. A partial frame
  // may carry one byte more than the limit: the '\r' of a "\r\n" ending.
  if (mode_ != Mode::kBetweenFrames && end_ - begin_ > limits_.max_frame_bytes + 1) {
    return Fail(Kind::kTooLong);
  }
  return {Kind::kNeedMore, {}};
}

}  // namespace tcpcore
