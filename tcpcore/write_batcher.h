// WriteBatcher: the output side of a connection. Lines appended while a write
// is in flight gather for the next one, so each write carries everything
// queued by then (many messages per syscall). The two buffers swap roles and
// keep their capacity, so a busy connection does not allocate per write; a
// buffer grown past kRetainedCapacity (a burst of large messages) is freed
// once its write completes, so an idle connection does not hold a burst's
// megabytes for the rest of its life.
//
// Thread-safety: none; one owner (a connection, on its loop thread).
#ifndef TCPCORE_WRITE_BATCHER_H_
#define TCPCORE_WRITE_BATCHER_H_

#include <cstddef>
#include <string>
#include <utility>

namespace tcpcore {

class WriteBatcher {
 public:
  // The most capacity a buffer keeps after its write (many batches of small
  // messages fit; one of large ones is allocated for the write).
  static constexpr std::size_t kRetainedCapacity = 256 << 10;

  // Where to append outgoing bytes.
  std::string& queue() { return queued_; }

  // If no write is in flight and bytes are queued, makes them the batch to
  // write and returns true; batch() is then valid until FinishBatch().
  bool StartBatch() {
    if (writing_ || queued_.empty()) return false;
    std::swap(queued_, in_flight_);
    queued_.clear();
    writing_ = true;
    return true;
  }
  const std::string& batch() const { return in_flight_; }
  // The batch's write completed (or failed).
  void FinishBatch() {
    if (in_flight_.capacity() > kRetainedCapacity) {
      std::string().swap(in_flight_);
    } else {
      in_flight_.clear();
    }
    writing_ = false;
  }

  bool writing() const { return writing_; }
  // Nothing queued and nothing in flight.
  bool idle() const { return !writing_ && queued_.empty(); }
  // Bytes queued plus bytes in flight.
  std::size_t size() const { return queued_.size() + in_flight_.size(); }
  // Memory held by both buffers, used or not.
  std::size_t capacity() const { return queued_.capacity() + in_flight_.capacity(); }

 private:
  std::string queued_;
  std::string in_flight_;
  bool writing_ = false;
};

}  // namespace tcpcore

#endif  // TCPCORE_WRITE_BATCHER_H_
