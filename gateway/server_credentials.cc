#include "gateway/server_credentials.h"

#include <grpcpp/security/server_credentials.h>

#include "gateway/file_contents.h"

namespace tcpgate {

absl::StatusOr<ServerSecurity> BuildServerCredentials(const ServerTlsFiles& files) {
  if (files.cert_chain.empty() != files.private_key.empty()) {
    return absl::InvalidArgumentError(files.cert_chain.empty() ? "--tls_key needs --tls_cert"
                                                               : "--tls_cert needs --tls_key");
  }
  if (files.cert_chain.empty()) {
    if (!files.client_ca.empty()) return absl::InvalidArgumentError("--tls_client_ca needs --tls_cert and --tls_key");
    return ServerSecurity{grpc::InsecureServerCredentials(), "plaintext (no --tls_cert: for local use only)"};
  }
  absl::StatusOr<std::string> cert_chain = ReadPemFile(files.cert_chain, "tls_cert");
  if (!cert_chain.ok()) return cert_chain.status();
  absl::StatusOr<std::string> private_key = ReadPemFile(files.private_key, "tls_key");
  if (!private_key.ok()) return private_key.status();

  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({*std::move(private_key), *std::move(cert_chain)});
  std::string description = "TLS";
  if (!files.client_ca.empty()) {
    absl::StatusOr<std::string> client_ca = ReadPemFile(files.client_ca, "tls_client_ca");
    if (!client_ca.ok()) return client_ca.status();
    options.pem_root_certs = *std::move(client_ca);
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    description = "mutual TLS (clients need a certificate signed by --tls_client_ca)";
  }
  return ServerSecurity{grpc::SslServerCredentials(options), std::move(description)};
}

}  // namespace tcpgate
