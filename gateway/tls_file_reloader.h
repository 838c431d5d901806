// TlsFileReloader: serves the TLS port's files (--tls_cert, --tls_key,
// --tls_client_ca, --tls_client_crl) as they change while the gateway runs, so a rotated
// certificate is served without a restart (cert-manager renewing a Secret,
// an operator replacing the files). A FileChangeFollower reads them every
// `interval`; content that passes CheckTlsMaterial is published to the
// TlsFileStage, where gRPC's certificate provider picks it up for the next
// handshakes (connections already open keep theirs). Content that fails,
// or a certificate already expired, is not served: the port keeps the
// previous certificate (the follower logs and counts the failure).
//
// Thread-safety: the files are read, checked and published on the
// follower's thread; stats() may be called from any thread. The destructor
// stops the thread.
#ifndef GATEWAY_TLS_FILE_RELOADER_H_
#define GATEWAY_TLS_FILE_RELOADER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/file_change_follower.h"
#include "gateway/tls_file_stage.h"
#include "gateway/tls_material_check.h"

namespace tcpgate {

// Paths of PEM files; empty means not given.
struct ServerTlsFiles {
  std::string cert_chain;   // --tls_cert: the server's certificate chain.
  std::string private_key;  // --tls_key: the private key of its first certificate.
  std::string client_ca;    // --tls_client_ca: CAs that sign accepted client certificates.
  std::string client_crl = {};  // --tls_client_crl: their revocation lists.
};

// Reads the files (client_ca and client_crl only when named), each error
// naming its flag.
[[nodiscard]] absl::StatusOr<TlsMaterial> ReadTlsMaterial(const ServerTlsFiles& files);

class TlsFileReloader {
 public:
  struct Stats {
    uint64_t loaded = 0;   // New content served since start.
    uint64_t refused = 0;  // New content not served.
    absl::Time not_after;  // Of the certificate served (or being taken up).
    bool refusing = false;  // The files hold content refused now; the previous pair is served.
    // Of the client revocation lists served; InfiniteFuture without lists.
    absl::Time crl_next_update = absl::InfiniteFuture();
  };

  // `served` (read and checked by the caller) is published to `stage` now;
  // the files are followed from then on.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TlsFileReloader>> Start(
      const ServerTlsFiles& files, const TlsMaterial& served, const TlsCertificateFacts& facts,
      std::unique_ptr<TlsFileStage> stage, absl::Duration interval);

  const TlsFileStage& stage() const { return *stage_; }
  Stats stats() const;

 private:
  TlsFileReloader(std::unique_ptr<TlsFileStage> stage, const TlsCertificateFacts& facts);
  // On the follower's thread: checks and publishes new contents.
  absl::Status Serve(const std::vector<std::string>& contents);
  // Says what a change served: a new certificate, CA bundle or lists.
  void LogServed(const TlsMaterial& material, const TlsCertificateFacts& facts) const;

  std::unique_ptr<TlsFileStage> stage_;
  TlsMaterial served_;  // The follower thread's: what the stage holds now.
  std::atomic<int64_t> not_after_unix_;
  std::atomic<int64_t> crl_next_update_unix_;  // INT64_MAX: no revocation lists.
  std::unique_ptr<FileChangeFollower> follower_;  // Last: stopped first.
};

}  // namespace tcpgate

#endif  // GATEWAY_TLS_FILE_RELOADER_H_
