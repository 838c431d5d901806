// ReleaseLargeBlocksWhenFreed: makes glibc's malloc give every block of
// 128 KiB or more its own mapping, unmapped when freed, for the rest of the
// process. glibc does that by default only until such a block is first
// freed: it then raises its threshold to that block's size (up to 32 MiB),
// so later large blocks (messages, batches, gRPC's read buffers) come from
// its arenas, which keep the memory once freed. After a burst of large
// messages the gateway then held hundreds of MiB it no longer used, which
// counts against a pod's memory limit (docs/performance.md, "Memory after a
// burst of large messages").
//
// An operator's own MALLOC_MMAP_THRESHOLD_ (glibc's tunable, read at start)
// wins: then nothing is changed.
//
// Thread-safety: call at a binary's start, before other threads allocate.
#ifndef TCPCORE_LARGE_BLOCK_RELEASE_H_
#define TCPCORE_LARGE_BLOCK_RELEASE_H_

#include <cstddef>

namespace tcpcore {

inline constexpr std::size_t kLargeBlockBytes = 128 << 10;

// Returns false when the environment sets the threshold (left as set) or
// glibc refuses it.
bool ReleaseLargeBlocksWhenFreed();

}  // namespace tcpcore

#endif  // TCPCORE_LARGE_BLOCK_RELEASE_H_
