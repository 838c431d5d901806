#include "tcpcore/host_port.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tcpcore {

absl::StatusOr<HostPort> HostPort::Parse(absl::string_view text) {
  std::size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("address \"", text, "\" has no :port"));
  }
  absl::string_view host = text.substr(0, colon);
  absl::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("address \"", text, "\": put an IPv6 host in brackets"));
  }
  uint32_t port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port > 65535 || port_text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("address \"", text, "\" has a bad port"));
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("address \"", text, "\" has no host"));
  }
  return HostPort{std::string(host), static_cast<uint16_t>(port)};
}

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

}  // namespace tcpcore
