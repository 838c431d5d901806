// Owning handles for the OpenSSL objects the TLS file checks read (BIO,
// X509, EVP_PKEY, X509_CRL), and a read-only memory BIO over a string.
//
// Thread-safety: plain owning pointers; one owner each.
#ifndef GATEWAY_OPENSSL_HANDLES_H_
#define GATEWAY_OPENSSL_HANDLES_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

#include "absl/strings/string_view.h"

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
inline Bio ReadOnlyBio(absl::string_view text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Never asks for a passphrase (OpenSSL's default callback would prompt on a
// terminal): an encrypted key is refused as unreadable.
inline int NoPassphrase(char*, int, int, void*) { return 0; }

}  // namespace tcpgate

#endif  // GATEWAY_OPENSSL_HANDLES_H_
