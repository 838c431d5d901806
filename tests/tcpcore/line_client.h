// LineClient: a blocking TCP client for tests. Connects to a server on
// 127.0.0.1, writes raw bytes, and reads lines or everything up to EOF, each
// read bounded by a timeout so a broken server fails a test instead of
// hanging it.
//
// Thread-safety: none; one thread uses a client (a reader thread and a writer
// thread may share one, as the socket allows one of each).
#ifndef TESTS_TCPCORE_LINE_CLIENT_H_
#define TESTS_TCPCORE_LINE_CLIENT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tcpcore::testing {

class LineClient {
 public:
  // Connects to 127.0.0.1:port.
  static absl::StatusOr<LineClient> Connect(uint16_t port);
  // Takes ownership of a connected socket.
  static LineClient Adopt(int fd) { return LineClient(fd); }

  LineClient(LineClient&& other) noexcept;
  LineClient& operator=(LineClient&& other) noexcept;
  ~LineClient();

  // Writes all of `bytes`.
  absl::Status Write(absl::string_view bytes);
  // Reads one line without its "\n". kUnavailable at EOF (with nothing
  // buffered), kDeadlineExceeded after `timeout` without a whole line.
  absl::StatusOr<std::string> ReadLine(absl::Duration timeout = absl::Seconds(10));
  // Reads until the peer closes; kDeadlineExceeded if it does not in time.
  absl::StatusOr<std::string> ReadToEof(absl::Duration timeout = absl::Seconds(10));
  // Half-closes: the server sees EOF, answers may still be read.
  void ShutdownWrite();
  void Close();
  int fd() const { return fd_; }

 private:
  explicit LineClient(int fd) : fd_(fd) {}
  // Reads once into buffer_; kUnavailable at EOF.
  absl::Status Fill(absl::Time deadline);

  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

// RawListener: a listening socket on 127.0.0.1 for tests that play the
// backend by hand, byte by byte. Closing it refuses new connections.
class RawListener {
 public:
  // `backlog` as for listen(2); a tiny one with nobody accepting makes new
  // connects hang, which is how tests make a dial time out.
  static absl::StatusOr<RawListener> Listen(int backlog = 16);
  RawListener(RawListener&& other) noexcept;
  RawListener& operator=(RawListener&&) = delete;
  ~RawListener();

  uint16_t port() const { return port_; }
  absl::StatusOr<LineClient> Accept(absl::Duration timeout = absl::Seconds(10));
  void Close();

 private:
  RawListener(int fd, uint16_t port) : fd_(fd), port_(port) {}
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace tcpcore::testing

#endif  // TESTS_TCPCORE_LINE_CLIENT_H_
