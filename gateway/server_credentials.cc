#include "gateway/server_credentials.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "absl/strings/str_cat.h"

namespace tcpgate {
namespace {

// How often gRPC's provider looks at the stage: publishing there is cheap to
// notice (three small files), and the reloader already paces the changes.
constexpr unsigned int kProviderRefreshSeconds = 1;

}  // namespace

absl::StatusOr<ServerSecurity> BuildServerCredentials(const ServerTlsFiles& files, const TlsReloadOptions& reload) {
  if (files.cert_chain.empty() != files.private_key.empty()) {
    return absl::InvalidArgumentError(files.cert_chain.empty() ? "--tls_key needs --tls_cert"
                                                               : "--tls_cert needs --tls_key");
  }
  if (!files.client_crl.empty() && files.client_ca.empty()) {
    return absl::InvalidArgumentError("--tls_client_crl needs --tls_client_ca");
  }
  if (files.cert_chain.empty()) {
    if (!files.client_ca.empty()) return absl::InvalidArgumentError("--tls_client_ca needs --tls_cert and --tls_key");
    return ServerSecurity{grpc::InsecureServerCredentials(), "plaintext (no --tls_cert: for local use only)",
                          absl::InfinitePast(), nullptr};
  }
  absl::StatusOr<TlsMaterial> material = ReadTlsMaterial(files);
  if (!material.ok()) return material.status();
  absl::StatusOr<TlsCertificateFacts> facts =
      CheckTlsMaterial(*material, !files.client_ca.empty(), /*revocation=*/!files.client_crl.empty());
  if (!facts.ok()) return facts.status();
  const bool mutual = !files.client_ca.empty();
  const bool revocation = !files.client_crl.empty();
  std::string description =
      !mutual ? "TLS"
      : revocation
          ? "mutual TLS (clients need a certificate signed by --tls_client_ca and not revoked by --tls_client_crl)"
          : "mutual TLS (clients need a certificate signed by --tls_client_ca)";

  if (reload.interval <= absl::ZeroDuration()) {
    if (revocation) {
      // gRPC reads revocation lists only from a directory: the stage's.
      return absl::InvalidArgumentError("--tls_client_crl needs --reload_interval above 0");
    }
    grpc::SslServerCredentialsOptions options(mutual ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                                     : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    options.pem_key_cert_pairs.push_back({material->private_key, material->cert_chain});
    if (mutual) options.pem_root_certs = material->client_ca;
    return ServerSecurity{grpc::SslServerCredentials(options), std::move(description), facts->not_after, nullptr};
  }

  absl::StatusOr<std::unique_ptr<TlsFileStage>> stage = TlsFileStage::Create(reload.stage_parent);
  if (!stage.ok()) {
    return absl::Status(stage.status().code(), absl::StrCat("--tls_stage_dir: ", stage.status().message()));
  }
  absl::StatusOr<std::unique_ptr<TlsFileReloader>> reloader =
      TlsFileReloader::Start(files, *material, *facts, *std::move(stage), reload.interval);
  if (!reloader.ok()) {
    return absl::Status(reloader.status().code(), absl::StrCat("--tls_stage_dir: ", reloader.status().message()));
  }
  const TlsFileStage& staged = (*reloader)->stage();
  auto provider = mutual ? std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
                               staged.private_key_path(), staged.cert_chain_path(), staged.client_ca_path(),
                               kProviderRefreshSeconds)
                         : std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
                               staged.private_key_path(), staged.cert_chain_path(), kProviderRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (revocation) options.set_crl_directory(staged.client_crl_dir());
  if (mutual) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return ServerSecurity{grpc::experimental::TlsServerCredentials(options),
                        absl::StrCat(description, ", files read again every ", absl::FormatDuration(reload.interval)),
                        facts->not_after, *std::move(reloader)};
}

}  // namespace tcpgate
