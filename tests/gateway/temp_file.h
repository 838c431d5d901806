// TempFile: a file holding given contents, under the test's temporary
// directory with a name no other test process uses (tests run in parallel,
// one process each), removed when the object goes.
//
// Thread-safety: one object per thread; names are unique across threads.
#ifndef TESTS_GATEWAY_TEMP_FILE_H_
#define TESTS_GATEWAY_TEMP_FILE_H_

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace tcpgate {

class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    static std::atomic<int> sequence{0};
    path_ = ::testing::TempDir() + "/tcpgate-test-" + std::to_string(::getpid()) + "-" +
            std::to_string(sequence.fetch_add(1));
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace tcpgate

#endif  // TESTS_GATEWAY_TEMP_FILE_H_
