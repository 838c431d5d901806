#include "tests/tcpcore/line_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace tcpcore::testing {
namespace {

absl::Status ErrnoStatus(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<LineClient> LineClient::Connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    absl::Status status = ErrnoStatus("connect");
    ::close(fd);
    return status;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return LineClient(fd);
}

LineClient::LineClient(LineClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)), eof_(other.eof_) {}

LineClient& LineClient::operator=(LineClient&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
    eof_ = other.eof_;
  }
  return *this;
}

LineClient::~LineClient() { Close(); }

void LineClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void LineClient::ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

absl::Status LineClient::Write(absl::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("send");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status LineClient::Fill(absl::Time deadline) {
  if (eof_) return absl::UnavailableError("connection closed by peer");
  pollfd pfd{fd_, POLLIN, 0};
  const int64_t wait_ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()));
  int ready = ::poll(&pfd, 1, static_cast<int>(wait_ms));
  if (ready < 0) return ErrnoStatus("poll");
  if (ready == 0) return absl::DeadlineExceededError("no data from the server in time");
  char chunk[64 * 1024];
  ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
  if (n < 0) return ErrnoStatus("recv");
  if (n == 0) {
    eof_ = true;
    return absl::UnavailableError("connection closed by peer");
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return absl::OkStatus();
}

absl::StatusOr<std::string> LineClient::ReadLine(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::size_t scanned = 0;
  while (true) {
    std::size_t newline = buffer_.find('\n', scanned);
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    scanned = buffer_.size();
    absl::Status status = Fill(deadline);
    if (!status.ok()) return status;
  }
}

absl::StatusOr<std::string> LineClient::ReadToEof(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::Status status = Fill(deadline);
    if (absl::IsUnavailable(status) && eof_) return std::exchange(buffer_, std::string());
    if (!status.ok()) return status;
  }
}

absl::StatusOr<RawListener> RawListener::Listen(int backlog) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || ::listen(fd, backlog) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    absl::Status status = ErrnoStatus("listen");
    ::close(fd);
    return status;
  }
  return RawListener(fd, ntohs(address.sin_port));
}

RawListener::RawListener(RawListener&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), port_(other.port_) {}

RawListener::~RawListener() { Close(); }

void RawListener::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

absl::StatusOr<LineClient> RawListener::Accept(absl::Duration timeout) {
  pollfd pfd{fd_, POLLIN, 0};
  int ready = ::poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (ready < 0) return ErrnoStatus("poll");
  if (ready == 0) return absl::DeadlineExceededError("nobody connected in time");
  int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return ErrnoStatus("accept");
  return LineClient::Adopt(fd);
}

}  // namespace tcpcore::testing
