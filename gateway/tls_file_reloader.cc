#include "gateway/tls_file_reloader.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/file_contents.h"
#include "tcpcore/log.h"

namespace tcpgate {
namespace {

std::string FormatExpiry(absl::Time time) { return absl::FormatTime(absl::RFC3339_sec, time, absl::UTCTimeZone()); }

// What identifies one failed candidate, so it is reported once.
std::string FailureKey(const absl::StatusOr<TlsMaterial>& read, const absl::Status& status) {
  if (!read.ok()) return absl::StrCat("unreadable: ", status.message());
  return absl::StrCat(read->cert_chain.size(), ":", read->cert_chain, read->private_key.size(), ":",
                      read->private_key, read->client_ca);
}

}  // namespace

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
  return material;
}

absl::StatusOr<std::unique_ptr<TlsFileReloader>> TlsFileReloader::Start(ServerTlsFiles files, TlsMaterial served,
                                                                         TlsCertificateFacts facts,
                                                                         std::unique_ptr<TlsFileStage> stage,
                                                                         absl::Duration interval) {
  if (absl::Status status = stage->Publish(served); !status.ok()) return status;
  return std::unique_ptr<TlsFileReloader>(
      new TlsFileReloader(std::move(files), std::move(served), std::move(facts), std::move(stage), interval));
}

TlsFileReloader::TlsFileReloader(ServerTlsFiles files, TlsMaterial served, TlsCertificateFacts facts,
                                 std::unique_ptr<TlsFileStage> stage, absl::Duration interval)
    : files_(std::move(files)),
      interval_(interval),
      stage_(std::move(stage)),
      served_(std::move(served)),
      not_after_unix_(absl::ToUnixSeconds(facts.not_after)) {
  thread_ = std::thread([this] { Run(); });
}

TlsFileReloader::~TlsFileReloader() {
  stop_.Notify();
  thread_.join();
}

TlsFileReloader::Stats TlsFileReloader::stats() const {
  return Stats{loaded_.load(std::memory_order_relaxed), refused_.load(std::memory_order_relaxed),
               absl::FromUnixSeconds(not_after_unix_.load(std::memory_order_relaxed))};
}

void TlsFileReloader::Run() {
  while (!stop_.WaitForNotificationWithTimeout(interval_)) CheckFiles();
}

void TlsFileReloader::CheckFiles() {
  absl::StatusOr<TlsMaterial> read = ReadTlsMaterial(files_);
  if (read.ok() && *read == served_) {
    failed_once_.reset();
    reported_.reset();
    return;
  }
  absl::Status status = read.status();
  if (read.ok()) {
    absl::StatusOr<TlsCertificateFacts> facts = CheckTlsMaterial(*read);
    status = facts.status();
    if (facts.ok()) status = stage_->Publish(*read);
    if (status.ok()) {
      served_ = *std::move(read);
      failed_once_.reset();
      reported_.reset();
      not_after_unix_.store(absl::ToUnixSeconds(facts->not_after), std::memory_order_relaxed);
      loaded_.fetch_add(1, std::memory_order_relaxed);
      tcpcore::Log(tcpcore::LogLevel::kInfo,
                   absl::StrCat("TLS: serving the new certificate of --tls_cert to new connections (",
                                facts->subject, ", expires ", FormatExpiry(facts->not_after), ")"));
      return;
    }
  }
  std::string key = FailureKey(read, status);
  if (reported_ == key) return;
  if (failed_once_ != key) {  // Maybe a rotation caught half-way: look again next time.
    failed_once_ = std::move(key);
    return;
  }
  failed_once_.reset();
  reported_ = std::move(key);
  refused_.fetch_add(1, std::memory_order_relaxed);
  tcpcore::Log(tcpcore::LogLevel::kError,
               absl::StrCat("TLS: the files changed but cannot be served; new connections keep the previous "
                            "certificate: ",
                            status.message()));
}

}  // namespace tcpgate
