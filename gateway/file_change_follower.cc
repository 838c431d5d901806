#include "gateway/file_change_follower.h"

#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gateway/file_contents.h"
#include "tcpcore/log.h"

namespace tcpgate {

FileChangeFollower::FileChangeFollower(Options options, Apply apply)
    : options_(std::move(options)), apply_(std::move(apply)), applied_(options_.applied) {
  thread_ = std::thread([this] { Run(); });
}

FileChangeFollower::~FileChangeFollower() {
  stop_.Notify();
  thread_.join();
}

FileChangeFollower::Stats FileChangeFollower::stats() const {
  return Stats{reads_.load(std::memory_order_acquire), loaded_.load(std::memory_order_relaxed),
               refused_.load(std::memory_order_relaxed), refusing_.load(std::memory_order_relaxed)};
}

void FileChangeFollower::Run() {
  while (!stop_.WaitForNotificationWithTimeout(options_.interval)) CheckFiles();
}

void FileChangeFollower::ClearFailure() {
  failed_once_.reset();
  reported_.reset();
  refusing_.store(false, std::memory_order_relaxed);
}

void FileChangeFollower::CheckFiles() {
  // Counted when the read and what followed from it are done, whichever
  // way it went: a reader of stats() that sees it sees their effects.
  absl::Cleanup count_read = [this] { reads_.fetch_add(1, std::memory_order_release); };
  std::vector<std::string> contents;
  absl::Status status;
  for (const std::string& path : options_.paths) {
    absl::StatusOr<std::string> read = ReadFileContents(path);
    if (!read.ok()) {
      status = read.status();
      break;
    }
    contents.push_back(*std::move(read));
  }
  if (status.ok() && contents == applied_) {
    ClearFailure();
    return;
  }
  if (status.ok()) status = apply_(contents);
  if (status.ok()) {
    applied_ = std::move(contents);
    ClearFailure();
    loaded_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::string failure = status.ToString();
  for (const std::string& content : contents) absl::StrAppend(&failure, "\n", content.size(), ":", content);
  if (reported_ == failure) return;
  if (failed_once_ != failure) {  // Maybe files caught half-way through a rotation: look again next time.
    failed_once_ = std::move(failure);
    return;
  }
  failed_once_.reset();
  reported_ = std::move(failure);
  refused_.fetch_add(1, std::memory_order_relaxed);
  refusing_.store(true, std::memory_order_relaxed);
  tcpcore::Log(tcpcore::LogLevel::kError, absl::StrCat(options_.what, ": the files changed but cannot be used; ",
                                                       options_.kept, ": ", status.message()));
}

}  // namespace tcpgate
