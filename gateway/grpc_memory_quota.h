// GrpcMemoryQuota: how many bytes gRPC may hold for the gateway's client
// connections and calls (its ResourceQuota: read buffers, flow-control
// windows, call arenas). gRPC 1.51 sizes each stream's window from the
// quota's pressure: with no quota, or one under a fifth used, at least
// 16 MiB a stream, so a few clients that send large messages and never
// read made the gateway hold hundreds of MiB; as the quota fills, windows
// shrink to the bandwidth-delay product and then close, and at the quota
// gRPC cancels a stream ("Buffers full") rather than grow. By default the
// quota is half the container's memory limit (cgroup), none outside a
// container with a limit (docs/performance.md, "Memory after a burst of
// large messages").
//
// Thread-safety: pure functions, and a read of the cgroup files.
#ifndef GATEWAY_GRPC_MEMORY_QUOTA_H_
#define GATEWAY_GRPC_MEMORY_QUOTA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tcpgate {

// The least quota accepted: below it gRPC would cancel ordinary calls.
inline constexpr int64_t kLeastGrpcMemoryQuota = int64_t{16} << 20;

struct GrpcMemoryQuota {
  int64_t bytes = 0;  // 0: no quota.
  std::string how;    // For the start line: "256MiB (half the container's 512MiB limit)".
};

// A cgroup memory limit file's content: v2's memory.max ("max", or bytes)
// or v1's memory.limit_in_bytes (a huge number when unlimited). nullopt
// when it sets no limit or cannot be read as one.
std::optional<int64_t> ParseCgroupMemoryLimit(absl::string_view contents);

// The files that may hold this process's memory limit, from the content of
// /proc/self/cgroup: its own cgroup's under /sys/fs/cgroup (v2 memory.max,
// v1 memory/memory.limit_in_bytes), each ancestor's, then the mount's root
// file (a container sees its own cgroup there, whatever /proc/self/cgroup
// names).
std::vector<std::string> CgroupMemoryLimitFiles(absl::string_view proc_self_cgroup);

// This process's container memory limit, if any: the smallest limit those
// files give.
std::optional<int64_t> ContainerMemoryLimit();

// From --grpc_memory_quota: -1 (half of `container_limit`; none without
// one), 0 (none) or a byte count of at least kLeastGrpcMemoryQuota.
// INVALID_ARGUMENT naming the flag otherwise.
absl::StatusOr<GrpcMemoryQuota> ChooseGrpcMemoryQuota(int64_t flag, std::optional<int64_t> container_limit);

}  // namespace tcpgate

#endif  // GATEWAY_GRPC_MEMORY_QUOTA_H_
