// ClientRevocationLists: the certificate revocation lists (CRLs) of
// --tls_client_crl, checked against the client CA bundle, and laid out as
// OpenSSL's hashed directory wants them (gRPC 1.51 reads CRLs only from
// such a directory: TlsServerCredentialsOptions::set_crl_directory). A
// client certificate a CRL lists is refused at the handshake; a CA of the
// bundle with no CRL in the file is not checked for revocation (gRPC
// ignores a missing CRL).
//
// Uses OpenSSL. Thread-safety: a free function with no shared state.
#ifndef GATEWAY_CLIENT_REVOCATION_LISTS_H_
#define GATEWAY_CLIENT_REVOCATION_LISTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tcpgate {

// One CRL as a file of the hashed directory: "<issuer name hash>.r<n>" (n
// counts the CRLs of issuers with the same hash from 0, as OpenSSL looks
// them up) and its PEM block.
struct RevocationListFile {
  std::string name;
  std::string pem;
};

struct ClientRevocationLists {
  std::vector<RevocationListFile> files;
  // The earliest "next update" of the lists: past it, OpenSSL refuses every
  // client of that CA (the list has expired). InfiniteFuture when none says.
  absl::Time next_update = absl::InfiniteFuture();
};

// INVALID_ARGUMENT naming --tls_client_crl: no PEM CRL in `crl_pem`, a CRL
// block that does not parse (cut short), a CRL whose issuer is not a
// certificate of `client_ca_pem` or whose signature no such certificate's
// key verifies, a CRL whose CA may not sign CRLs (key usage without
// cRLSign), a partitioned (issuing distribution point) or delta CRL, which
// OpenSSL would not apply, or a CRL whose next update is at or before `now`.
// UNAVAILABLE for a CRL whose last update is after `now` (the CA's clock
// ahead): valid later, unlike the others (the code only says so; a file
// follower tries every refused change again at each read).
[[nodiscard]] absl::StatusOr<ClientRevocationLists> CheckClientRevocationLists(absl::string_view crl_pem,
                                                                               absl::string_view client_ca_pem,
                                                                               absl::Time now);

}  // namespace tcpgate

#endif  // GATEWAY_CLIENT_REVOCATION_LISTS_H_
