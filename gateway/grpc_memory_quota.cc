#include "gateway/grpc_memory_quota.h"

#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gateway/file_contents.h"

namespace tcpgate {
namespace {

// cgroup v1 writes a page-rounded INT64_MAX when there is no limit.
constexpr int64_t kNoLimitAbove = int64_t{1} << 60;

std::string MiB(int64_t bytes) { return absl::StrCat(bytes >> 20, "MiB"); }

}  // namespace

std::optional<int64_t> ParseCgroupMemoryLimit(absl::string_view contents) {
  contents = absl::StripAsciiWhitespace(contents);
  int64_t bytes = 0;
  if (!absl::SimpleAtoi(contents, &bytes) || bytes <= 0 || bytes >= kNoLimitAbove) return std::nullopt;
  return bytes;
}

std::vector<std::string> CgroupMemoryLimitFiles(absl::string_view proc_self_cgroup) {
  std::vector<std::string> files;
  for (absl::string_view line : absl::StrSplit(proc_self_cgroup, '\n', absl::SkipEmpty())) {
    const std::vector<absl::string_view> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3) continue;
    std::string mount, file;
    if (fields[0] == "0" && fields[1].empty()) {  // cgroup v2.
      mount = "/sys/fs/cgroup";
      file = "memory.max";
    } else if (absl::c_linear_search(absl::StrSplit(fields[1], ','), "memory")) {  // cgroup v1.
      mount = "/sys/fs/cgroup/memory";
      file = "memory.limit_in_bytes";
    } else {
      continue;
    }
    // The own cgroup, then each ancestor up to the mount's root: a limit on
    // a parent (a systemd slice, a pod's cgroup) caps the process too.
    std::string path(fields[2]);
    while (!path.empty() && path != "/") {
      files.push_back(absl::StrCat(mount, path, "/", file));
      path.resize(path.rfind('/'));
    }
    files.push_back(absl::StrCat(mount, "/", file));
  }
  return files;
}

std::optional<int64_t> ContainerMemoryLimit() {
  const absl::StatusOr<std::string> cgroups = ReadFileContents("/proc/self/cgroup");
  if (!cgroups.ok()) return std::nullopt;
  // The smallest limit of all (v1 and v2 can both be listed, on a hybrid
  // host; files that do not exist are passed over).
  std::optional<int64_t> smallest;
  for (const std::string& file : CgroupMemoryLimitFiles(*cgroups)) {
    if (absl::StatusOr<std::string> contents = ReadFileContents(file); contents.ok()) {
      if (std::optional<int64_t> limit = ParseCgroupMemoryLimit(*contents); limit && (!smallest || *limit < *smallest)) {
        smallest = limit;
      }
    }
  }
  return smallest;
}

absl::StatusOr<GrpcMemoryQuota> ChooseGrpcMemoryQuota(int64_t flag, std::optional<int64_t> container_limit) {
  if (flag == 0) return GrpcMemoryQuota{0, "none"};
  if (flag == -1) {
    if (!container_limit) return GrpcMemoryQuota{0, "none (no container memory limit)"};
    const int64_t half = std::max(*container_limit / 2, kLeastGrpcMemoryQuota);
    return GrpcMemoryQuota{half, absl::StrCat(MiB(half), " (half the container's ", MiB(*container_limit),
                                              " limit)")};
  }
  if (flag < kLeastGrpcMemoryQuota) {
    return absl::InvalidArgumentError(absl::StrCat("--grpc_memory_quota=", flag, ": must be -1 (half the container's "
                                                   "memory limit), 0 (none) or at least ",
                                                   kLeastGrpcMemoryQuota, " bytes"));
  }
  return GrpcMemoryQuota{flag, MiB(flag)};
}

}  // namespace tcpgate
