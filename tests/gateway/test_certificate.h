// MakeTestCertificate: a P-256 key and a self-signed certificate for it, as
// PEM, made with OpenSSL in the test process (no files, no openssl binary),
// for the unit tests of the TLS file checks; MakeTestCrl: a certificate
// revocation list signed by such a certificate's key.
//
// Thread-safety: a free function with no shared state.
#ifndef TESTS_GATEWAY_TEST_CERTIFICATE_H_
#define TESTS_GATEWAY_TEST_CERTIFICATE_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <vector>

#include "gateway/pem_reading.h"

namespace tcpgate {

struct TestCertificate {
  std::string cert_pem;
  std::string key_pem;
};

// What `write` writes to a memory BIO, as a string.
template <typename Write>
std::string ToPem(Write write) {
  Bio bio(BIO_new(BIO_s_mem()));
  write(bio.get());
  return BioText(bio.get());
}

// `common_name` as subject and issuer; valid for `valid_seconds` from
// `start_seconds` from now (negative: in the past); with `key_usage`, that
// keyUsage extension ("critical,keyCertSign,cRLSign").
inline TestCertificate MakeTestCertificate(const std::string& common_name, long valid_seconds,
                                           long start_seconds = 0, const char* key_usage = nullptr) {
  const Key key(EVP_EC_gen("P-256"));
  const Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), start_seconds);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), start_seconds + valid_seconds);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (key_usage != nullptr) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, nullptr, NID_key_usage, key_usage);
    X509_add_ext(cert.get(), extension, -1);
    X509_EXTENSION_free(extension);
  }
  X509_sign(cert.get(), key.get(), EVP_sha256());

  TestCertificate made;
  made.cert_pem = ToPem([&](BIO* bio) { PEM_write_bio_X509(bio, cert.get()); });
  made.key_pem = ToPem(
      [&](BIO* bio) { PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
  return made;
}

// A CRL issued by `issuer` (its subject, signed with its key) revoking
// `serials`, with a next update `next_update_seconds` from now (negative:
// in the past) and a last update `last_update_seconds` from now; with
// `partitioned`, an issuing distribution point (user certificates only).
inline std::string MakeTestCrl(const TestCertificate& issuer, const std::vector<long>& serials,
                               long next_update_seconds, long last_update_seconds = 0, bool partitioned = false) {
  const Cert cert(PEM_read_bio_X509(ReadOnlyBio(issuer.cert_pem).get(), nullptr, nullptr, nullptr));
  const Key key(PEM_read_bio_PrivateKey(ReadOnlyBio(issuer.key_pem).get(), nullptr, nullptr, nullptr));
  Crl crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), 1);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(cert.get()));
  std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> now(X509_gmtime_adj(nullptr, last_update_seconds),
                                                            ASN1_TIME_free);
  std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> next(X509_gmtime_adj(nullptr, next_update_seconds),
                                                             ASN1_TIME_free);
  X509_CRL_set1_lastUpdate(crl.get(), now.get());
  X509_CRL_set1_nextUpdate(crl.get(), next.get());
  for (long serial : serials) {
    X509_REVOKED* revoked = X509_REVOKED_new();
    std::unique_ptr<ASN1_INTEGER, decltype(&ASN1_INTEGER_free)> number(ASN1_INTEGER_new(), ASN1_INTEGER_free);
    ASN1_INTEGER_set(number.get(), serial);
    X509_REVOKED_set_serialNumber(revoked, number.get());
    X509_REVOKED_set_revocationDate(revoked, now.get());
    X509_CRL_add0_revoked(crl.get(), revoked);
  }
  if (partitioned) {
    ISSUING_DIST_POINT* point = ISSUING_DIST_POINT_new();
    point->onlyuser = 0xff;
    X509_CRL_add1_ext_i2d(crl.get(), NID_issuing_distribution_point, point, 1, 0);
    ISSUING_DIST_POINT_free(point);
  }
  X509_CRL_sort(crl.get());
  X509_CRL_sign(crl.get(), key.get(), EVP_sha256());
  return ToPem([&](BIO* bio) { PEM_write_bio_X509_CRL(bio, crl.get()); });
}

}  // namespace tcpgate

#endif  // TESTS_GATEWAY_TEST_CERTIFICATE_H_
