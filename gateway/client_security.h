// ClientSecurity: how a client (tcpgate-cli send and bench) reaches a secured
// gateway: the channel credentials (plaintext; TLS trusting --tls_ca or the
// system's roots; mutual TLS with --tls_cert/--tls_key), the name to verify
// in the gateway's certificate when it differs from the target's host
// (--tls_server_name), and the bearer token (--auth_token_file) that a
// channel interceptor puts on every call of the channels it makes.
//
// Thread-safety: immutable after construction; NewChannel() may run on any
// number of threads at once.
#ifndef GATEWAY_CLIENT_SECURITY_H_
#define GATEWAY_CLIENT_SECURITY_H_

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace tcpgate {

// Paths and names from the command line; empty means not given.
struct ClientSecurityOptions {
  bool tls = false;             // TLS with the system's roots; implied by every tls_* below.
  std::string tls_ca;           // PEM roots that sign the gateway's certificate.
  std::string tls_cert;         // PEM client certificate chain (mutual TLS); needs tls_key.
  std::string tls_key;          // PEM private key of tls_cert.
  std::string tls_server_name;  // Name the gateway's certificate must carry.
  std::string auth_token_file;  // Bearer token sent as 'authorization: Bearer <token>'.
};

class ClientSecurity {
 public:
  // Plaintext, no token.
  ClientSecurity();

  // Errors (INVALID_ARGUMENT or the read error, naming the flag): only one
  // of cert and key, an unreadable or non-PEM file, a bad token file.
  [[nodiscard]] static absl::StatusOr<ClientSecurity> FromOptions(const ClientSecurityOptions& options);

  // A channel to `target` with these credentials, whose calls carry the
  // bearer token if there is one; `args` may carry other channel settings.
  std::shared_ptr<grpc::Channel> NewChannel(const std::string& target, grpc::ChannelArguments args = {}) const;

 private:
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  std::string server_name_;
  std::string authorization_;  // "Bearer <token>", or empty.
};

}  // namespace tcpgate

#endif  // GATEWAY_CLIENT_SECURITY_H_
