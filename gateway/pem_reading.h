// Reading PEM text with OpenSSL for the TLS file checks: owning handles for
// the objects read (BIO, X509, EVP_PKEY, X509_CRL), a read-only memory BIO
// over a string, the certificates of a PEM text, and names and times as the
// checks report them.
//
// Thread-safety: free functions and plain owning pointers; OpenSSL's error
// queue is per thread.
#ifndef GATEWAY_PEM_READING_H_
#define GATEWAY_PEM_READING_H_

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tcpgate {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CrlFree {
  void operator()(X509_CRL* crl) const { X509_CRL_free(crl); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Crl = std::unique_ptr<X509_CRL, CrlFree>;

// Reads `text` (which must outlive the BIO); null if OpenSSL cannot make one.
Bio ReadOnlyBio(absl::string_view text);

// Never asks for a passphrase (OpenSSL's default callback would prompt on a
// terminal): an encrypted key is refused as unreadable.
int NoPassphrase(char*, int, int, void*);

// After reading PEM blocks until a read failed: true when it failed at the
// end of the text, false when at a block that does not parse (a file copied
// half-way: OpenSSL, and so gRPC, would take the blocks before it and drop
// the rest). Clears OpenSSL's error queue.
bool PemEndedCleanly();

// The certificates of `pem` (blocks of other kinds are skipped); nullopt
// when a certificate block does not parse.
std::optional<std::vector<Cert>> ReadCertificates(absl::string_view pem);

// What a memory BIO holds, as a string (empty on error).
std::string BioText(BIO* bio);

// A name on one line (RFC 2253): "CN=client ca".
std::string NameText(const X509_NAME* name);

// An ASN.1 time; nullopt when it does not parse.
std::optional<absl::Time> TimeOf(const ASN1_TIME* time);

}  // namespace tcpgate

#endif  // GATEWAY_PEM_READING_H_
