#include "tcpcore/large_block_release.h"

#include <malloc.h>

#include <cstdlib>

namespace tcpcore {

bool ReleaseLargeBlocksWhenFreed() {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr) return false;
  // Setting it also fixes the trim threshold at its default (128 KiB): the
  // top of the main heap goes back to the system as well.
  return mallopt(M_MMAP_THRESHOLD, static_cast<int>(kLargeBlockBytes)) == 1;
}

}  // namespace tcpcore
