// EventLoopGroup: a fixed set of Asio io_contexts, each run by one thread of
// its own. Sockets are pinned to one loop for life; other threads reach a
// socket only by posting to its loop.
//
// Thread-safety: Next(), loop() and size() are safe from any thread. Drain(),
// Stop() and Join() are for the owning thread; the destructor stops and joins.
#ifndef TCPCORE_EVENT_LOOP_GROUP_H_
#define TCPCORE_EVENT_LOOP_GROUP_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "asio/executor_work_guard.hpp"
#include "asio/io_context.hpp"

namespace tcpcore {

class EventLoopGroup {
 public:
  // Starts `threads` loops (at least one). `name` prefixes the thread names.
  explicit EventLoopGroup(int threads, std::string name = "loop");
  ~EventLoopGroup();

  EventLoopGroup(const EventLoopGroup&) = delete;
  EventLoopGroup& operator=(const EventLoopGroup&) = delete;

  std::size_t size() const { return loops_.size(); }
  asio::io_context& loop(std::size_t i) { return loops_[i]->context; }
  // Round-robin choice of a loop for a new socket.
  asio::io_context& Next();

  // Lets each loop return once it has no work left (graceful end).
  void Drain();
  // Makes each loop return as soon as possible, abandoning queued work.
  void Stop();
  // Waits for every loop thread to return. Idempotent.
  void Join();

 private:
  struct Loop {
    asio::io_context context{1};  // One thread runs each context.
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> keep_alive;
    std::thread thread;
  };
  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<std::size_t> next_{0};
};

// Number of loops to use by default: the number of cores, at least one.
int DefaultLoopCount();

}  // namespace tcpcore

#endif  // TCPCORE_EVENT_LOOP_GROUP_H_
