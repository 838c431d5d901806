// TlsFileReloader: follows the TLS port's files (--tls_cert, --tls_key,
// --tls_client_ca) while the gateway runs, so a rotated certificate is
// served without a restart (cert-manager renewing a Secret, an operator
// replacing the files). Every `interval` it reads the files; content that
// differs from what is served and passes CheckTlsMaterial is published to
// its TlsFileStage, where gRPC's certificate provider picks it up for the
// next handshakes (connections already open keep theirs). Content that
// fails is not served: the port keeps the previous certificate, and the
// failure is logged and counted once the same content failed twice in a
// row (a rotation that replaces the files one after the other passes
// through a mismatched pair for an instant; that is not an error).
//
// Thread-safety: the files are read, checked and published on the
// reloader's own thread; stats() may be called from any thread. The
// destructor stops the thread.
#ifndef GATEWAY_TLS_FILE_RELOADER_H_
#define GATEWAY_TLS_FILE_RELOADER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gateway/tls_file_stage.h"
#include "gateway/tls_material_check.h"

namespace tcpgate {

// Paths of PEM files; empty means not given.
struct ServerTlsFiles {
  std::string cert_chain;   // --tls_cert: the server's certificate chain.
  std::string private_key;  // --tls_key: the private key of its first certificate.
  std::string client_ca;    // --tls_client_ca: CAs that sign accepted client certificates.
};

// Reads the three files (client_ca only when named), each error naming its
// flag. Used at start-up and by the reloader.
[[nodiscard]] absl::StatusOr<TlsMaterial> ReadTlsMaterial(const ServerTlsFiles& files);

class TlsFileReloader {
 public:
  struct Stats {
    uint64_t loaded = 0;   // New content served since start.
    uint64_t refused = 0;  // New content not served (see above).
    absl::Time not_after;  // Of the certificate served (or being taken up).
  };

  // `served` (read and checked by the caller) is published to `stage` now;
  // the thread starts watching `files` from then on.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TlsFileReloader>> Start(
      ServerTlsFiles files, TlsMaterial served, TlsCertificateFacts facts, std::unique_ptr<TlsFileStage> stage,
      absl::Duration interval);
  ~TlsFileReloader();

  TlsFileReloader(const TlsFileReloader&) = delete;
  TlsFileReloader& operator=(const TlsFileReloader&) = delete;

  const TlsFileStage& stage() const { return *stage_; }
  Stats stats() const;

 private:
  TlsFileReloader(ServerTlsFiles files, TlsMaterial served, TlsCertificateFacts facts,
                  std::unique_ptr<TlsFileStage> stage, absl::Duration interval);
  void Run();
  void CheckFiles();  // On the thread.

  const ServerTlsFiles files_;
  const absl::Duration interval_;
  std::unique_ptr<TlsFileStage> stage_;
  // Thread-only state.
  TlsMaterial served_;
  // What failed, as content (or the read error when unreadable): at the
  // last check, not yet reported; and reported, not to be reported again.
  std::optional<std::string> failed_once_;
  std::optional<std::string> reported_;

  std::atomic<uint64_t> loaded_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<int64_t> not_after_unix_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace tcpgate

#endif  // GATEWAY_TLS_FILE_RELOADER_H_
