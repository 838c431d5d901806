// TlsFileStage: a private directory from which gRPC's file-watching
// certificate provider reads the TLS port's files, holding only material
// that passed CheckTlsMaterial. gRPC's provider serves whatever the files
// hold when it next looks (a key that is not the certificate's, a file
// half-copied) and then fails every handshake, so the gateway checks the
// operator's files itself (TlsFileReloader) and publishes good ones here.
//
// Publishing is atomic for a reader that re-reads on a change of
// modification time, as gRPC's does: each generation is written whole in a
// directory of its own, then the symbolic link "current" is swapped to it
// by rename(2) (as kubelet publishes a Secret volume), and every
// generation's files get a modification time (whole seconds) later than the
// previous generation's, so a read that spans a swap is seen and repeated.
//
// A stage holds an flock on its "owner.lock" for its life. A gateway killed
// outright (SIGKILL, the OOM killer) leaves its stage behind, copies of the
// key included; the next stage made under the same parent removes every
// stage whose lock nobody holds (a live one, of another process or
// container sharing the directory, is locked and kept).
//
// Thread-safety: not thread-safe; one owner.
#ifndef GATEWAY_TLS_FILE_STAGE_H_
#define GATEWAY_TLS_FILE_STAGE_H_

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/tls_material_check.h"

namespace tcpgate {

class TlsFileStage {
 public:
  // A new directory (mode 0700) under `parent`, after removing the stages
  // left there by processes that are gone; errors name the parent.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TlsFileStage>> Create(const std::string& parent);
  ~TlsFileStage();  // Removes the directory and everything in it.

  TlsFileStage(const TlsFileStage&) = delete;
  TlsFileStage& operator=(const TlsFileStage&) = delete;

  // Writes `material` as the next generation (files mode 0600) and makes it
  // current; the generation before the previous one is removed. With client
  // revocation lists, they go to client_crl_dir() under their file names,
  // and the client CA file gets a comment line naming the generation:
  // gRPC builds its TLS context anew only when a file's content changes,
  // and only a new context reads the lists again (OpenSSL keeps those it
  // read), so a changed list alone would not be seen. (A line outside the
  // PEM blocks changes nothing else.)
  // `crl_files` are the material's client revocation lists as
  // CheckTlsMaterial laid them out.
  [[nodiscard]] absl::Status Publish(const TlsMaterial& material,
                                     const std::vector<RevocationListFile>& crl_files = {});

  const std::string& dir() const { return dir_; }
  // Paths through the "current" link, fixed for the stage's life.
  std::string cert_chain_path() const { return dir_ + "/current/cert.pem"; }
  std::string private_key_path() const { return dir_ + "/current/key.pem"; }
  std::string client_ca_path() const { return dir_ + "/current/client_ca.pem"; }
  // OpenSSL's hashed directory of the client revocation lists, for gRPC's
  // set_crl_directory; present when the material has lists.
  std::string client_crl_dir() const { return dir_ + "/current/client_crl"; }

 private:
  TlsFileStage(std::string dir, int lock_fd) : dir_(std::move(dir)), lock_fd_(lock_fd) {}

  const std::string dir_;
  const int lock_fd_;  // Holds the flock of dir_/owner.lock.
  int generation_ = 0;        // Of the current generation; 0 before the first.
  std::time_t last_mtime_ = 0;  // Modification time of the current generation's files.
};

}  // namespace tcpgate

#endif  // GATEWAY_TLS_FILE_STAGE_H_
