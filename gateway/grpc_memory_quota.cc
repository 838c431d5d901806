#include "gateway/grpc_memory_quota.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tcpgate {
namespace {

// cgroup v1 writes a page-rounded INT64_MAX when there is no limit.
constexpr int64_t kNoLimitAbove = int64_t{1} << 60;

std::string MiB(int64_t bytes) { return absl::StrCat(bytes >> 20, "MiB"); }

std::optional<std::string> ReadSmallFile(const char* path) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

}  // namespace

std::optional<int64_t> ParseCgroupMemoryLimit(absl::string_view contents) {
  contents = absl::StripAsciiWhitespace(contents);
  int64_t bytes = 0;
  if (!absl::SimpleAtoi(contents, &bytes) || bytes <= 0 || bytes >= kNoLimitAbove) return std::nullopt;
  return bytes;
}

std::optional<int64_t> ContainerMemoryLimit() {
  for (const char* path : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    if (std::optional<std::string> contents = ReadSmallFile(path)) return ParseCgroupMemoryLimit(*contents);
  }
  return std::nullopt;
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
