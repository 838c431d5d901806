#include "gateway/tls_file_reloader.h"

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/file_contents.h"
#include "tcpcore/log.h"

namespace tcpgate {

absl::StatusOr<TlsMaterial> ReadTlsMaterial(const ServerTlsFiles& files) {
  TlsMaterial material;
  absl::StatusOr<std::string> cert_chain = ReadPemFile(files.cert_chain, "tls_cert");
  if (!cert_chain.ok()) return cert_chain.status();
  material.cert_chain = *std::move(cert_chain);
  absl::StatusOr<std::string> private_key = ReadPemFile(files.private_key, "tls_key");
  if (!private_key.ok()) return private_key.status();
  material.private_key = *std::move(private_key);
  if (!files.client_ca.empty()) {
    absl::StatusOr<std::string> client_ca = ReadPemFile(files.client_ca, "tls_client_ca");
    if (!client_ca.ok()) return client_ca.status();
    material.client_ca = *std::move(client_ca);
  }
  if (!files.client_crl.empty()) {
    absl::StatusOr<std::string> client_crl = ReadPemFile(files.client_crl, "tls_client_crl");
    if (!client_crl.ok()) return client_crl.status();
    material.client_crl = *std::move(client_crl);
  }
  return material;
}

absl::StatusOr<std::unique_ptr<TlsFileReloader>> TlsFileReloader::Start(const ServerTlsFiles& files,
                                                                         const TlsMaterial& served,
                                                                         const TlsCertificateFacts& facts,
                                                                         std::unique_ptr<TlsFileStage> stage,
                                                                         absl::Duration interval) {
  if (absl::Status status = stage->Publish(served, facts.client_crl.files); !status.ok()) return status;
  std::unique_ptr<TlsFileReloader> reloader(new TlsFileReloader(std::move(stage), facts));
  reloader->served_ = served;
  FileChangeFollower::Options options{.what = "TLS",
                                      .kept = "new connections keep the previous certificate",
                                      .paths = {files.cert_chain, files.private_key},
                                      .applied = {served.cert_chain, served.private_key},
                                      .interval = interval};
  if (!files.client_ca.empty()) {
    options.paths.push_back(files.client_ca);
    options.applied.push_back(served.client_ca);
  }
  if (!files.client_crl.empty()) {
    options.paths.push_back(files.client_crl);
    options.applied.push_back(served.client_crl);
  }
  TlsFileReloader* self = reloader.get();
  reloader->follower_ = std::make_unique<FileChangeFollower>(
      std::move(options), [self](const std::vector<std::string>& contents) { return self->Serve(contents); });
  return reloader;
}

namespace {

// Times as atomics hold them: whole seconds, INT64_MAX for InfiniteFuture.
int64_t ToStored(absl::Time time) {
  return time == absl::InfiniteFuture() ? INT64_MAX : absl::ToUnixSeconds(time);
}
absl::Time FromStored(int64_t seconds) {
  return seconds == INT64_MAX ? absl::InfiniteFuture() : absl::FromUnixSeconds(seconds);
}

}  // namespace

TlsFileReloader::TlsFileReloader(std::unique_ptr<TlsFileStage> stage, const TlsCertificateFacts& facts)
    : stage_(std::move(stage)),
      not_after_unix_(ToStored(facts.not_after)),
      crl_next_update_unix_(ToStored(facts.client_crl.next_update)) {}

TlsFileReloader::Stats TlsFileReloader::stats() const {
  const FileChangeFollower::Stats changes = follower_->stats();
  return Stats{changes.loaded, changes.refused, FromStored(not_after_unix_.load(std::memory_order_relaxed)),
               changes.refusing, FromStored(crl_next_update_unix_.load(std::memory_order_relaxed))};
}

absl::Status TlsFileReloader::Serve(const std::vector<std::string>& contents) {
  // The paths' order (Start): cert, key, then client CA and its lists.
  const bool mutual = contents.size() > 2;
  const TlsMaterial material{contents[0], contents[1], mutual ? contents[2] : std::string(),
                             contents.size() > 3 ? contents[3] : std::string()};
  absl::StatusOr<TlsCertificateFacts> facts = CheckTlsMaterial(material, mutual, /*revocation=*/contents.size() > 3);
  if (!facts.ok()) return facts.status();
  if (facts->not_after <= absl::Now()) {
    // An old Secret restored, say: it would replace one that may still work.
    return absl::InvalidArgumentError(absl::StrCat("--tls_cert: the certificate expired at ",
                                                   absl::FormatTime(absl::RFC3339_sec, facts->not_after,
                                                                    absl::UTCTimeZone())));
  }
  if (absl::Status status = stage_->Publish(material, facts->client_crl.files); !status.ok()) return status;
  not_after_unix_.store(ToStored(facts->not_after), std::memory_order_relaxed);
  crl_next_update_unix_.store(ToStored(facts->client_crl.next_update), std::memory_order_relaxed);
  LogServed(material, *facts);
  served_ = material;
  return absl::OkStatus();
}

void TlsFileReloader::LogServed(const TlsMaterial& material, const TlsCertificateFacts& facts) const {
  const auto time = [](absl::Time t) { return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone()); };
  if (material.cert_chain != served_.cert_chain || material.private_key != served_.private_key) {
    tcpcore::Log(tcpcore::LogLevel::kInfo,
                 absl::StrCat("TLS: serving the new certificate of --tls_cert to new connections (", facts.subject,
                              ", expires ", time(facts.not_after), ")"));
  }
  if (material.client_ca != served_.client_ca) {
    tcpcore::Log(tcpcore::LogLevel::kInfo, "TLS: new connections' client certificates checked against the new "
                                           "--tls_client_ca");
  }
  if (material.client_crl != served_.client_crl) {
    tcpcore::Log(tcpcore::LogLevel::kInfo,
                 absl::StrCat("TLS: new connections' client certificates checked against the new revocation lists "
                              "of --tls_client_crl (next update ",
                              facts.client_crl.next_update == absl::InfiniteFuture()
                                  ? "none"
                                  : time(facts.client_crl.next_update),
                              ")"));
  }
}

}  // namespace tcpgate
