// FileChangeFollower: reads a set of files again every `interval`, on its
// own thread, and hands each new content to `apply` (the contents in the
// order of the paths), so a running gateway takes up rotated secrets
// without a restart. Content equal to what was last applied is not applied
// again. Content `apply` refuses, or a file that cannot be read, is left
// out: what was applied before stays in force, and the failure is logged
// and counted only when the same failure is still there at the next read
// (files replaced one after the other pass through a mix of old and new for
// an instant; that is no error).
//
// Thread-safety: the reads and `apply` run on the follower's thread only;
// stats() may be called from any thread. The destructor stops and joins the
// thread.
#ifndef GATEWAY_FILE_CHANGE_FOLLOWER_H_
#define GATEWAY_FILE_CHANGE_FOLLOWER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace tcpgate {

class FileChangeFollower {
 public:
  using Apply = std::function<absl::Status(const std::vector<std::string>& contents)>;
  struct Stats {
    uint64_t reads = 0;    // Times the files were read since start.
    uint64_t loaded = 0;   // Changes applied since start.
    uint64_t refused = 0;  // Changes left out (reported failures).
    // The files hold a reported failure now: what was applied before is in
    // force while the files say otherwise. Cleared when they are valid again
    // or back to the content in force.
    bool refusing = false;
  };
  struct Options {
    std::string what;  // Names the files in the log: "TLS", "auth token".
    std::string kept;  // What a refusal leaves in force, for the log.
    std::vector<std::string> paths;
    std::vector<std::string> applied;  // The contents in force at start.
    absl::Duration interval;
  };

  FileChangeFollower(Options options, Apply apply);
  ~FileChangeFollower();

  FileChangeFollower(const FileChangeFollower&) = delete;
  FileChangeFollower& operator=(const FileChangeFollower&) = delete;

  Stats stats() const;

 private:
  void Run();
  void CheckFiles();  // On the thread.
  // The files are valid again (or as applied): no refusal stands.
  void ClearFailure();

  const Options options_;
  const Apply apply_;
  // Thread-only state.
  std::vector<std::string> applied_;
  // A failure, as the content read (or the read error): seen at the last
  // read and not yet reported; and reported, not to be reported again.
  std::optional<std::string> failed_once_;
  std::optional<std::string> reported_;

  std::atomic<uint64_t> reads_{0};
  std::atomic<uint64_t> loaded_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<bool> refusing_{false};
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace tcpgate

#endif  // GATEWAY_FILE_CHANGE_FOLLOWER_H_
