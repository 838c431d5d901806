#include "gateway/tls_material_check.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/client_revocation_lists.h"
#include "gateway/pem_reading.h"

namespace tcpgate {

absl::StatusOr<TlsCertificateFacts> CheckTlsMaterial(const TlsMaterial& material, bool mutual, bool revocation) {
  std::optional<std::vector<Cert>> chain = ReadCertificates(material.cert_chain);
  if (!chain) return absl::InvalidArgumentError("--tls_cert: a certificate in it does not parse (cut short?)");
  if (chain->empty()) return absl::InvalidArgumentError("--tls_cert: no PEM certificate in it");
  X509* const first = chain->front().get();
  Bio key_bio = ReadOnlyBio(material.private_key);
  Key key(key_bio == nullptr ? nullptr : PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) return absl::InvalidArgumentError("--tls_key: no unencrypted PEM private key in it");
  if (X509_check_private_key(first, key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("--tls_key is not the private key of the first certificate in --tls_cert");
  }
  if (mutual) {
    std::optional<std::vector<Cert>> cas = ReadCertificates(material.client_ca);
    if (!cas) return absl::InvalidArgumentError("--tls_client_ca: a certificate in it does not parse (cut short?)");
    if (cas->empty()) return absl::InvalidArgumentError("--tls_client_ca: no PEM certificate in it");
  }
  TlsCertificateFacts facts;
  facts.subject = NameText(X509_get_subject_name(first));
  facts.not_after = TimeOf(X509_get0_notAfter(first)).value_or(absl::InfinitePast());
  if (revocation || !material.client_crl.empty()) {
    if (!mutual) return absl::InvalidArgumentError("--tls_client_crl needs --tls_client_ca");
    absl::StatusOr<ClientRevocationLists> lists =
        CheckClientRevocationLists(material.client_crl, material.client_ca, absl::Now());
    if (!lists.ok()) return lists.status();
    facts.client_crl = *std::move(lists);
  }
  return facts;
}

}  // namespace tcpgate
