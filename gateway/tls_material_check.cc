#include "gateway/tls_material_check.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/client_revocation_lists.h"
#include "gateway/openssl_handles.h"

namespace tcpgate {
namespace {

// The certificates of a PEM text (blocks of other kinds are skipped), or -1
// when a certificate block does not parse (a file copied half-way: OpenSSL,
// and so gRPC, would take the certificates before it and drop the rest).
int CountCertificates(const std::string& pem, Cert* first) {
  Bio bio = ReadOnlyBio(pem);
  if (bio == nullptr) return 0;
  int count = 0;
  while (true) {
    Cert cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr));
    if (cert == nullptr) break;
    if (count == 0 && first != nullptr) *first = std::move(cert);
    ++count;
  }
  // Reading past the last block fails with "no start line"; anything else
  // is a block that does not parse.
  const unsigned long error = ERR_peek_last_error();
  const bool clean_end = ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE;
  ERR_clear_error();
  return clean_end ? count : -1;
}

std::string Subject(X509* cert) {
  Bio out(BIO_new(BIO_s_mem()));
  if (out == nullptr) return "";
  X509_NAME_print_ex(out.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

absl::Time NotAfter(X509* cert) {
  std::tm time{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &time) != 1) return absl::InfinitePast();
  return absl::FromTM(time, absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<TlsCertificateFacts> CheckTlsMaterial(const TlsMaterial& material, bool mutual, bool revocation) {
  Cert first;
  const int chain = CountCertificates(material.cert_chain, &first);
  if (chain < 0) return absl::InvalidArgumentError("--tls_cert: a certificate in it does not parse (cut short?)");
  if (chain == 0) return absl::InvalidArgumentError("--tls_cert: no PEM certificate in it");
  Bio key_bio = ReadOnlyBio(material.private_key);
  Key key(key_bio == nullptr ? nullptr : PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) return absl::InvalidArgumentError("--tls_key: no unencrypted PEM private key in it");
  if (X509_check_private_key(first.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("--tls_key is not the private key of the first certificate in --tls_cert");
  }
  if (mutual) {
    const int cas = CountCertificates(material.client_ca, nullptr);
    if (cas < 0) return absl::InvalidArgumentError("--tls_client_ca: a certificate in it does not parse (cut short?)");
    if (cas == 0) return absl::InvalidArgumentError("--tls_client_ca: no PEM certificate in it");
  }
  TlsCertificateFacts facts{Subject(first.get()), NotAfter(first.get())};
  if (revocation || !material.client_crl.empty()) {
    if (!mutual) return absl::InvalidArgumentError("--tls_client_crl needs --tls_client_ca");
    absl::StatusOr<ClientRevocationLists> lists =
        CheckClientRevocationLists(material.client_crl, material.client_ca, absl::Now());
    if (!lists.ok()) return lists.status();
    facts.crl_next_update = lists->next_update;
  }
  return facts;
}

}  // namespace tcpgate
