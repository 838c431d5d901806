// BuildServerCredentials: builds the grpc::ServerCredentials of tcpgate's
// listening port from the TLS flags: plaintext when no certificate is given,
// TLS with --tls_cert and --tls_key, mutual TLS (clients must present a
// certificate signed by --tls_client_ca) when a client CA is given too.
// Files are read and checked here (CheckTlsMaterial), at start-up, so a wrong
// setting stops the gateway with a message that names the flag. With a
// reload interval, the port serves the files through a TlsFileReloader and
// gRPC's file-watching certificate provider, so rotated files are served
// without a restart; without one, they are read once.
//
// Thread-safety: a free function with no shared state.
#ifndef GATEWAY_SERVER_CREDENTIALS_H_
#define GATEWAY_SERVER_CREDENTIALS_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/tls_file_reloader.h"

namespace tcpgate {

struct TlsReloadOptions {
  // How often the files are read again; zero: read once, at start-up.
  absl::Duration interval = absl::ZeroDuration();
  // Where the checked copies gRPC reads are kept (--tls_stage_dir).
  std::string stage_parent = "/dev/shm";
};

struct ServerSecurity {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // For the start-up log line: "plaintext (...)", "TLS" or "mutual TLS (...)".
  std::string description;
  // Expiry of the certificate served at start (InfinitePast: plaintext).
  absl::Time not_after = absl::InfinitePast();
  // Follows the files; null for plaintext or files read once. Keep it for
  // as long as the port serves.
  std::unique_ptr<TlsFileReloader> reloader;
};

// With --tls_client_crl too, clients whose certificate its lists revoke are
// refused at the handshake (served from the stage, so with a reload
// interval only).
//
// Errors (INVALID_ARGUMENT, or the read error, naming the flag): only one of
// cert and key, a client CA without a cert, lists without a client CA or
// without a reload interval, an unreadable file, a file
// without a PEM block, content CheckTlsMaterial refuses; with a reload
// interval, a stage directory that cannot be made (FAILED_PRECONDITION).
[[nodiscard]] absl::StatusOr<ServerSecurity> BuildServerCredentials(const ServerTlsFiles& files,
                                                                    const TlsReloadOptions& reload = {});

}  // namespace tcpgate

#endif  // GATEWAY_SERVER_CREDENTIALS_H_
