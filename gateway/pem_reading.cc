#include "gateway/pem_reading.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <ctime>

namespace tcpgate {

Bio ReadOnlyBio(absl::string_view text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

int NoPassphrase(char*, int, int, void*) { return 0; }

bool PemEndedCleanly() {
  // Reading past the last block fails with "no start line"; anything else
  // is a block that does not parse.
  const unsigned long error = ERR_peek_last_error();
  const bool clean = ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE;
  ERR_clear_error();
  return clean;
}

std::optional<std::vector<Cert>> ReadCertificates(absl::string_view pem) {
  Bio bio = ReadOnlyBio(pem);
  if (bio == nullptr) return std::vector<Cert>();
  std::vector<Cert> certs;
  while (true) {
    Cert cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr));
    if (cert == nullptr) break;
    certs.push_back(std::move(cert));
  }
  if (!PemEndedCleanly()) return std::nullopt;
  return certs;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

std::string NameText(const X509_NAME* name) {
  Bio out(BIO_new(BIO_s_mem()));
  if (out == nullptr) return "";
  X509_NAME_print_ex(out.get(), name, 0, XN_FLAG_RFC2253);
  return BioText(out.get());
}

std::optional<absl::Time> TimeOf(const ASN1_TIME* time) {
  std::tm parts{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) return std::nullopt;
  return absl::FromTM(parts, absl::UTCTimeZone());
}

}  // namespace tcpgate
