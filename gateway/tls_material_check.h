// CheckTlsMaterial: checks the PEM text a TLS port is about to serve, before
// gRPC gets it: the certificate chain parses, the private key parses and is
// the key of the chain's first certificate, and a client CA bundle (mutual
// TLS) holds at least one certificate, and client revocation lists pass
// CheckClientRevocationLists. gRPC itself takes a mismatched pair
// without a word and then fails every handshake; this check is what lets the
// gateway refuse such files at start-up, and keep serving its previous
// certificate when a rotation brings bad ones (TlsFileReloader).
//
// Uses OpenSSL, the library gRPC's TLS is built on in Debian 12.
// Thread-safety: a free function with no shared state.
#ifndef GATEWAY_TLS_MATERIAL_CHECK_H_
#define GATEWAY_TLS_MATERIAL_CHECK_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/client_revocation_lists.h"

namespace tcpgate {

// The contents (not the paths) of the TLS files.
struct TlsMaterial {
  std::string cert_chain;   // --tls_cert
  std::string private_key;  // --tls_key
  std::string client_ca;    // --tls_client_ca; empty: not mutual TLS.
  std::string client_crl = {};  // --tls_client_crl; empty: no revocation lists.

  bool operator==(const TlsMaterial&) const = default;
};

// What the check learned of the served certificate.
struct TlsCertificateFacts {
  std::string subject;  // Of the first certificate, one line (RFC 2253).
  absl::Time not_after;
  // The client revocation lists, checked and laid out for the stage (none:
  // no files, next update InfiniteFuture).
  ClientRevocationLists client_crl;
};

// INVALID_ARGUMENT naming the flag whose file is wrong: a chain with no
// certificate, or with a block that does not parse (a file copied half-way);
// a key that does not parse or is not the first certificate's; with
// `mutual`, a client CA bundle with no certificate or a block that does not
// parse; client revocation lists without a client CA bundle, or that
// CheckClientRevocationLists refuses (an expired list among them). The
// certificate's validity dates are not checked here (TlsFileReloader
// refuses an expired certificate on rotation).
// With `revocation` (--tls_client_crl is given), an empty list file is
// refused too: it would turn revocation off.
[[nodiscard]] absl::StatusOr<TlsCertificateFacts> CheckTlsMaterial(const TlsMaterial& material, bool mutual,
                                                                   bool revocation = false);

}  // namespace tcpgate

#endif  // GATEWAY_TLS_MATERIAL_CHECK_H_
