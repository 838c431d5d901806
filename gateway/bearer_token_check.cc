#include "gateway/bearer_token_check.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/file_contents.h"

namespace tcpgate {
namespace {

constexpr absl::string_view kScheme = "Bearer ";
constexpr char kWanted[] = "(metadata 'authorization: Bearer <token>')";

bool IsVisibleAscii(absl::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

absl::Status ValidateToken(absl::string_view token) {
  if (token.empty()) return absl::InvalidArgumentError("the token is empty");
  if (token.size() > BearerTokenCheck::kMaxTokenBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the token is longer than ", BearerTokenCheck::kMaxTokenBytes, " bytes"));
  }
  if (!IsVisibleAscii(token)) {
    return absl::InvalidArgumentError("the token may hold only visible ASCII characters (no spaces or controls)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadBearerTokenFile(const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFileContents(path);
  if (!contents.ok()) return contents.status();
  absl::string_view token = *contents;
  if (absl::EndsWith(token, "\n")) token.remove_suffix(1);
  if (absl::EndsWith(token, "\r")) token.remove_suffix(1);
  if (absl::Status valid = ValidateToken(token); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", valid.message()));
  }
  return std::string(token);
}

absl::StatusOr<BearerTokenCheck> BearerTokenCheck::FromFile(const std::string& path) {
  absl::StatusOr<std::string> token = ReadBearerTokenFile(path);
  if (!token.ok()) return token.status();
  return BearerTokenCheck(*token);
}

absl::StatusOr<BearerTokenCheck> BearerTokenCheck::FromToken(absl::string_view token) {
  if (absl::Status valid = ValidateToken(token); !valid.ok()) return valid;
  return BearerTokenCheck(token);
}

BearerTokenCheck::BearerTokenCheck(absl::string_view token) : token_size_(token.size()) {
  std::copy(token.begin(), token.end(), padded_token_.begin());
}

absl::Status BearerTokenCheck::Check(const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata) const {
  const auto found = client_metadata.find("authorization");
  if (found == client_metadata.end()) {
    return absl::UnauthenticatedError(absl::StrCat("missing bearer token ", kWanted));
  }
  const absl::string_view value(found->second.data(), found->second.size());
  if (value.size() < kScheme.size() || !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return absl::UnauthenticatedError(absl::StrCat("authorization is not a bearer token ", kWanted));
  }
  if (!Matches(value.substr(kScheme.size()))) return absl::UnauthenticatedError("invalid bearer token");
  return absl::OkStatus();
}

bool BearerTokenCheck::Matches(absl::string_view presented) const {
  // Only the presented length, which the caller knows, decides this branch
  // and the `i < n` below; the loop always covers the whole padded buffer.
  if (presented.size() > kMaxTokenBytes) return false;
  const std::size_t n = presented.size();
  unsigned char difference = 0;
  for (std::size_t i = 0; i < kMaxTokenBytes; ++i) {
    const unsigned char byte = i < n ? static_cast<unsigned char>(presented[i]) : 0;
    difference |= static_cast<unsigned char>(byte ^ padded_token_[i]);
  }
  // Both differences in one value: no short-circuit.
  return (static_cast<std::size_t>(difference) | (n ^ token_size_)) == 0;
}

}  // namespace tcpgate
