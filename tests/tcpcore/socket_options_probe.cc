#include "tests/tcpcore/socket_options_probe.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

namespace tcpcore::testing {
namespace {

uint16_t PortOf(const sockaddr_in& address) { return ntohs(address.sin_port); }

int GetInt(int fd, int level, int name) {
  int value = 0;
  socklen_t size = sizeof(value);
  return ::getsockopt(fd, level, name, &value, &size) == 0 ? value : -1;
}

}  // namespace

absl::StatusOr<int> FindOwnSocket(uint16_t local_port, uint16_t peer_port) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return absl::InternalError("cannot list /proc/self/fd");
  int found = -1;
  while (dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') continue;
    sockaddr_in local{}, peer{};
    socklen_t local_size = sizeof(local), peer_size = sizeof(peer);
    if (::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &local_size) != 0 ||
        ::getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0 ||
        local.sin_family != AF_INET) {
      continue;
    }
    if (PortOf(local) == local_port && PortOf(peer) == peer_port) {
      found = static_cast<int>(fd);
      break;
    }
  }
  ::closedir(dir);
  if (found < 0) return absl::NotFoundError(absl::StrCat("no socket from port ", local_port, " to ", peer_port));
  return found;
}

KeepaliveSeen ReadKeepalive(int fd) {
  return KeepaliveSeen{GetInt(fd, SOL_SOCKET, SO_KEEPALIVE) == 1, GetInt(fd, IPPROTO_TCP, TCP_KEEPIDLE),
                       GetInt(fd, IPPROTO_TCP, TCP_KEEPINTVL), GetInt(fd, IPPROTO_TCP, TCP_KEEPCNT)};
}

int ReadUserTimeoutMs(int fd) { return GetInt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT); }

void PrintTo(const KeepaliveSeen& seen, std::ostream* out) {
  *out << (seen.on ? "on" : "off") << ", idle " << seen.idle_s << "s, interval " << seen.interval_s << "s, count "
       << seen.count;
}

uint16_t LocalPort(int fd) {
  sockaddr_in local{};
  socklen_t size = sizeof(local);
  return ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &size) == 0 ? PortOf(local) : 0;
}

uint16_t PeerPort(int fd) {
  sockaddr_in peer{};
  socklen_t size = sizeof(peer);
  return ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &size) == 0 ? PortOf(peer) : 0;
}

}  // namespace tcpcore::testing
