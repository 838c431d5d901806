// BuildServerCredentials: builds the grpc::ServerCredentials of tcpgate's
// listening port from the TLS flags: plaintext when no certificate is given,
// TLS with --tls_cert and --tls_key, mutual TLS (clients must present a
// certificate signed by --tls_client_ca) when a client CA is given too.
// Files are read and checked here, at start-up, so a wrong setting stops the
// gateway with a message that names the flag.
//
// Thread-safety: a free function with no shared state.
#ifndef GATEWAY_SERVER_CREDENTIALS_H_
#define GATEWAY_SERVER_CREDENTIALS_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace tcpgate {

// Paths of PEM files; empty means not given.
struct ServerTlsFiles {
  std::string cert_chain;   // --tls_cert: the server's certificate chain.
  std::string private_key;  // --tls_key: the private key of its first certificate.
  std::string client_ca;    // --tls_client_ca: CAs that sign accepted client certificates.
};

struct ServerSecurity {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // For the start-up log line: "plaintext (...)", "TLS" or "mutual TLS (...)".
  std::string description;
};

// Errors (INVALID_ARGUMENT, or the read error, naming the flag): only one of
// cert and key, a client CA without a cert, an unreadable file, or a file
// without a PEM block.
[[nodiscard]] absl::StatusOr<ServerSecurity> BuildServerCredentials(const ServerTlsFiles& files);

}  // namespace tcpgate

#endif  // GATEWAY_SERVER_CREDENTIALS_H_
