#include "tcpcore/event_loop_group.h"

#include <pthread.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "asio/post.hpp"

namespace tcpcore {

EventLoopGroup::EventLoopGroup(int threads, std::string name) {
  const int count = std::max(1, threads);
  loops_.reserve(count);
  for (int i = 0; i < count; ++i) {
    auto loop = std::make_unique<Loop>();
    loop->keep_alive.emplace(loop->context.get_executor());
    loops_.push_back(std::move(loop));
  }
  for (int i = 0; i < count; ++i) {
    Loop* loop = loops_[i].get();
    std::string thread_name = absl::StrCat(name, "-", i).substr(0, 15);
    loop->thread = std::thread([loop, thread_name] {
      pthread_setname_np(pthread_self(), thread_name.c_str());
      loop->context.run();
    });
  }
}

EventLoopGroup::~EventLoopGroup() {
  Stop();
  Join();
}

asio::io_context& EventLoopGroup::Next() {
  return loops_[next_.fetch_add(1, std::memory_order_relaxed) % loops_.size()]->context;
}

void EventLoopGroup::Drain() {
  for (auto& loop : loops_) {
    // The guard is touched only by its own loop's thread.
    asio::post(loop->context, [l = loop.get()] { l->keep_alive.reset(); });
  }
}

void EventLoopGroup::Stop() {
  for (auto& loop : loops_) loop->context.stop();
}

void EventLoopGroup::Join() {
  for (auto& loop : loops_) {
    if (loop->thread.joinable()) loop->thread.join();
  }
}

int DefaultLoopCount() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace tcpcore
