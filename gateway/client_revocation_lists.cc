#include "gateway/client_revocation_lists.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "gateway/pem_reading.h"

namespace tcpgate {
namespace {

std::string PemOf(X509_CRL* crl) {
  Bio out(BIO_new(BIO_s_mem()));
  if (out == nullptr || PEM_write_bio_X509_CRL(out.get(), crl) != 1) return "";
  return BioText(out.get());
}

absl::Status Invalid(absl::string_view why) { return absl::InvalidArgumentError(absl::StrCat("--tls_client_crl: ", why)); }

}  // namespace

absl::StatusOr<ClientRevocationLists> CheckClientRevocationLists(absl::string_view crl_pem,
                                                                 absl::string_view client_ca_pem, absl::Time now) {
  const std::vector<Cert> cas = ReadCertificates(client_ca_pem).value_or(std::vector<Cert>());

  ClientRevocationLists lists;
  std::map<unsigned long, int> per_hash;  // CRLs named so far per issuer hash.
  Bio bio = ReadOnlyBio(crl_pem);
  while (bio != nullptr) {
    Crl crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, NoPassphrase, nullptr));
    if (crl == nullptr) break;
    const X509_NAME* issuer = X509_CRL_get_issuer(crl.get());
    // The CA whose key signed it, of those with its name (a CA rolling its
    // key over is in the bundle twice under one name).
    bool named = false;
    X509* signer = nullptr;
    for (const Cert& ca : cas) {
      if (X509_NAME_cmp(issuer, X509_get_subject_name(ca.get())) != 0) continue;
      named = true;
      if (signer == nullptr && X509_CRL_verify(crl.get(), X509_get0_pubkey(ca.get())) == 1) signer = ca.get();
      ERR_clear_error();
    }
    if (!named) return Invalid(absl::StrCat("the list of ", NameText(issuer), " is not of a CA in --tls_client_ca"));
    if (signer == nullptr) {
      return Invalid(absl::StrCat("the list of ", NameText(issuer), " is not signed by the key of that CA"));
    }
    // What OpenSSL would not apply (revoked clients would get in: gRPC
    // accepts a client whose CA has no usable list) or would fail every
    // client of the CA with.
    if ((X509_get_extension_flags(signer) & EXFLAG_KUSAGE) != 0 && (X509_get_key_usage(signer) & KU_CRL_SIGN) == 0) {
      return Invalid(absl::StrCat("the CA ", NameText(issuer),
                                  " may not sign revocation lists (its key usage lacks cRLSign): OpenSSL would "
                                  "refuse every client of that CA"));
    }
    if (X509_CRL_get_ext_by_NID(crl.get(), NID_issuing_distribution_point, -1) >= 0 ||
        X509_CRL_get_ext_by_NID(crl.get(), NID_delta_crl, -1) >= 0) {
      return Invalid(absl::StrCat("the list of ", NameText(issuer),
                                  " is partitioned (issuing distribution point) or a delta list: not supported; "
                                  "give the CA's complete list"));
    }
    if (const ASN1_TIME* last = X509_CRL_get0_lastUpdate(crl.get()); last != nullptr) {
      const std::optional<absl::Time> last_update = TimeOf(last);
      if (!last_update) return Invalid("a last update time that does not parse");
      if (*last_update > now) {
        // Valid later: the follower, which tries refused content again at
        // every read, serves it once this machine's clock gets there.
        return absl::UnavailableError(absl::StrCat(
            "--tls_client_crl: the list of ", NameText(issuer), " is not valid before ",
            absl::FormatTime(absl::RFC3339_sec, *last_update, absl::UTCTimeZone()),
            " (the CA's clock is ahead of this machine's): OpenSSL would refuse every client of that CA"));
      }
    }
    if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get()); next != nullptr) {
      const std::optional<absl::Time> parsed = TimeOf(next);
      if (!parsed) return Invalid("a next update time that does not parse");
      const absl::Time next_update = *parsed;
      if (next_update <= now) {
        return Invalid(absl::StrCat("the list of ", NameText(issuer), " expired at ",
                                    absl::FormatTime(absl::RFC3339_sec, next_update, absl::UTCTimeZone()),
                                    " (its next update): every client of that CA would be refused"));
      }
      if (next_update < lists.next_update) lists.next_update = next_update;
    }
    int ok = 0;
    const unsigned long hash = X509_NAME_hash_ex(issuer, nullptr, nullptr, &ok);
    if (ok != 1) return Invalid("cannot hash an issuer name");
    char name[32];
    std::snprintf(name, sizeof(name), "%08lx.r%d", hash, per_hash[hash]++);
    lists.files.push_back({name, PemOf(crl.get())});
  }
  if (!PemEndedCleanly()) return Invalid("a revocation list in it does not parse (cut short?)");
  if (lists.files.empty()) return Invalid("no PEM revocation list (X509 CRL) in it");
  return lists;
}

}  // namespace tcpgate
