// MakeTestCertificate: a P-256 key and a self-signed certificate for it, as
// PEM, made with OpenSSL in the test process (no files, no openssl binary),
// for the unit tests of the TLS file checks.
//
// Thread-safety: a free function with no shared state.
#ifndef TESTS_GATEWAY_TEST_CERTIFICATE_H_
#define TESTS_GATEWAY_TEST_CERTIFICATE_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace tcpgate {

struct TestCertificate {
  std::string cert_pem;
  std::string key_pem;
};

// `common_name` as subject and issuer; valid for `valid_seconds` from
// `start_seconds` from now (negative: in the past).
inline TestCertificate MakeTestCertificate(const std::string& common_name, long valid_seconds,
                                           long start_seconds = 0) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), start_seconds);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), start_seconds + valid_seconds);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_sign(cert.get(), key.get(), EVP_sha256());

  auto to_pem = [](auto write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    write(bio.get());
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
  };
  TestCertificate made;
  made.cert_pem = to_pem([&](BIO* bio) { PEM_write_bio_X509(bio, cert.get()); });
  made.key_pem = to_pem(
      [&](BIO* bio) { PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
  return made;
}

}  // namespace tcpgate

#endif  // TESTS_GATEWAY_TEST_CERTIFICATE_H_
