#include "gateway/tls_file_stage.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tcpcore/log.h"

namespace tcpgate {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// Writes `contents` to a new file `path` (mode 0600) with the given
// modification time.
absl::Status WriteFile(const std::string& path, const std::string& contents, std::time_t mtime) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", path);
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status status = Errno("cannot write", path);
      ::close(fd);
      return status;
    }
    written += static_cast<std::size_t>(n);
  }
  const timespec times[2] = {{mtime, 0}, {mtime, 0}};
  if (::futimens(fd, times) != 0) {
    absl::Status status = Errno("cannot set the time of", path);
    ::close(fd);
    return status;
  }
  if (::close(fd) != 0) return Errno("cannot write", path);
  return absl::OkStatus();
}

std::string GenerationName(int generation) { return absl::StrCat("generation-", generation); }

constexpr char kPrefix[] = "tcpgate-tls-";
constexpr char kLockFile[] = "/owner.lock";

// Removes the stages under `parent` that this user made and whose lock no
// process holds. A stage without a lock file (its maker between mkdtemp and
// the lock) is left alone.
void RemoveAbandonedStages(const std::string& parent) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(parent, error)) {
    if (entry.path().filename().string().rfind(kPrefix, 0) != 0) continue;
    struct stat info {};
    if (::lstat(entry.path().c_str(), &info) != 0 || !S_ISDIR(info.st_mode) || info.st_uid != ::geteuid()) continue;
    const int fd = ::open((entry.path().string() + kLockFile).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      std::error_code ignored;
      std::filesystem::remove_all(entry.path(), ignored);
      tcpcore::Log(tcpcore::LogLevel::kInfo, absl::StrCat("TLS: removed ", entry.path().string(),
                                                           ", the stage of a gateway that is gone"));
    }
    ::close(fd);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsFileStage>> TlsFileStage::Create(const std::string& parent) {
  RemoveAbandonedStages(parent);
  std::string pattern = parent + "/" + kPrefix + "XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {  // Mode 0700.
    return absl::FailedPreconditionError(absl::StrCat("cannot make a directory in ", parent, ": ",
                                                      std::strerror(errno)));
  }
  const std::string dir = buffer.data();
  const std::string lock = dir + kLockFile;
  const int lock_fd = ::open(lock.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    absl::Status status = Errno("cannot lock", lock);
    if (lock_fd >= 0) ::close(lock_fd);
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    return status;
  }
  return std::unique_ptr<TlsFileStage>(new TlsFileStage(dir, lock_fd));
}

TlsFileStage::~TlsFileStage() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
  ::close(lock_fd_);
}

absl::Status TlsFileStage::Publish(const TlsMaterial& material, const std::vector<RevocationListFile>& crl_files) {
  const int next = generation_ + 1;
  const std::string generation_dir = absl::StrCat(dir_, "/", GenerationName(next));
  std::error_code ignored;
  std::filesystem::remove_all(generation_dir, ignored);  // Left by a publish that failed.
  if (::mkdir(generation_dir.c_str(), 0700) != 0) return Errno("cannot make", generation_dir);
  const std::time_t mtime = std::max(std::time(nullptr), last_mtime_ + 1);
  absl::Status status = WriteFile(generation_dir + "/cert.pem", material.cert_chain, mtime);
  if (status.ok()) status = WriteFile(generation_dir + "/key.pem", material.private_key, mtime);
  std::string client_ca = material.client_ca;
  if (status.ok() && !crl_files.empty()) {
    const std::string crl_dir = generation_dir + "/client_crl";
    if (::mkdir(crl_dir.c_str(), 0700) != 0) return Errno("cannot make", crl_dir);
    for (const RevocationListFile& file : crl_files) {
      status = WriteFile(crl_dir + "/" + file.name, file.pem, mtime);
      if (!status.ok()) return status;
    }
    absl::StrAppend(&client_ca, "\n# tcpgate stage generation ", next, "\n");
  }
  if (status.ok() && !client_ca.empty()) {
    status = WriteFile(generation_dir + "/client_ca.pem", client_ca, mtime);
  }
  if (!status.ok()) return status;
  const std::string link = dir_ + "/current";
  const std::string new_link = dir_ + "/current.new";
  ::unlink(new_link.c_str());
  if (::symlink(GenerationName(next).c_str(), new_link.c_str()) != 0) return Errno("cannot make", new_link);
  if (::rename(new_link.c_str(), link.c_str()) != 0) return Errno("cannot replace", link);
  // The previous generation may still be being read; the one before it not.
  if (generation_ > 1) std::filesystem::remove_all(absl::StrCat(dir_, "/", GenerationName(generation_ - 1)), ignored);
  generation_ = next;
  last_mtime_ = mtime;
  return absl::OkStatus();
}

}  // namespace tcpgate
