#include "gateway/bearer_token_check.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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
  absl::string_view token;
  for (absl::string_view line : absl::StrSplit(*contents, '\n')) {
    if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
    if (!line.empty()) {
      token = line;
      break;
    }
  }
  if (absl::Status valid = ValidateToken(token); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", valid.message()));
  }
  return std::string(token);
}

absl::StatusOr<BearerTokenCheck> BearerTokenCheck::FromFile(const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFileContents(path);
  if (!contents.ok()) return contents.status();
  return FromFileContents(*contents, path);
}

absl::StatusOr<BearerTokenCheck> BearerTokenCheck::FromFileContents(absl::string_view contents,
                                                                    const std::string& path) {
  std::vector<absl::string_view> tokens;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(contents, '\n')) {
    ++line_number;
    if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
    if (line.empty()) continue;
    if (absl::Status valid = ValidateToken(line); !valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, " line ", line_number, ": ", valid.message()));
    }
    if (tokens.size() == kMaxTokens) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": more than ", kMaxTokens, " tokens"));
    }
    tokens.push_back(line);
  }
  if (tokens.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": the token is empty"));
  return BearerTokenCheck(tokens);
}

absl::StatusOr<BearerTokenCheck> BearerTokenCheck::FromToken(absl::string_view token) {
  if (absl::Status valid = ValidateToken(token); !valid.ok()) return valid;
  return BearerTokenCheck({token});
}

BearerTokenCheck::BearerTokenCheck(const std::vector<absl::string_view>& tokens) : tokens_(tokens.size()) {
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    std::copy(tokens[t].begin(), tokens[t].end(), tokens_[t].bytes.begin());
    tokens_[t].size = tokens[t].size();
  }
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
  // and the `i < n` below; the loops always cover every token's whole
  // padded buffer, and the result of one token never ends the search.
  if (presented.size() > kMaxTokenBytes) return false;
  const std::size_t n = presented.size();
  bool matched = false;
  for (const PaddedToken& token : tokens_) {
    unsigned char difference = 0;
    for (std::size_t i = 0; i < kMaxTokenBytes; ++i) {
      const unsigned char byte = i < n ? static_cast<unsigned char>(presented[i]) : 0;
      difference |= static_cast<unsigned char>(byte ^ token.bytes[i]);
    }
    // Both differences in one value: no short-circuit.
    matched |= (static_cast<std::size_t>(difference) | (n ^ token.size)) == 0;
  }
  return matched;
}

}  // namespace tcpgate
