#include "tcpcore/message_codec.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace tcpcore {
namespace {

using Json = nlohmann::json;

// A field the decoder fills: the key it answers to and where the value goes.
struct FieldSlot {
  absl::string_view key;
  std::string* target;
};

// Turns parser text into a short, single-line, ASCII reason.
std::string OneLineReason(absl::string_view text) {
  constexpr absl::string_view kPrefixEnd = "] ";
  if (absl::StartsWith(text, "[json.exception.")) {
    std::size_t at = text.find(kPrefixEnd);
    if (at != absl::string_view::npos) text.remove_prefix(at + kPrefixEnd.size());
  }
  constexpr std::size_t kMaxReason = 200;
  std::string reason;
  reason.reserve(std::min(text.size(), kMaxReason) + 3);
  for (char c : text.substr(0, kMaxReason)) {
    auto byte = static_cast<unsigned char>(c);
    reason.push_back(byte >= 0x20 && byte < 0x7f ? c : '?');
  }
  if (text.size() > kMaxReason) reason += "...";
  return reason;
}

// SAX handler for a flat object of string fields, ignoring unknown keys and
// anything nested below them. It stops at the first error it records.
template <std::size_t N>
class FlatStringObjectHandler {
 public:
  explicit FlatStringObjectHandler(const FieldSlot (&slots)[N]) : slots_(slots) {}

  absl::Status status() const { return status_; }

  bool null() { return Scalar(nullptr, "null"); }
  bool boolean(bool) { return Scalar(nullptr, "boolean"); }
  bool number_integer(Json::number_integer_t) { return Scalar(nullptr, "number"); }
  bool number_unsigned(Json::number_unsigned_t) { return Scalar(nullptr, "number"); }
  bool number_float(Json::number_float_t, const Json::string_t&) { return Scalar(nullptr, "number"); }
  bool string(Json::string_t& value) { return Scalar(&value, "string"); }
  bool binary(Json::binary_t&) { return Scalar(nullptr, "binary"); }

  bool start_object(std::size_t) {
    if (depth_ == 0) {
      depth_ = 1;
      return true;
    }
    return Nested("object");
  }
  bool end_object() {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) {
    if (depth_ == 0) return Error("expected a JSON object, got an array");
    return Nested("array");
  }
  bool end_array() {
    --depth_;
    return true;
  }
  bool key(Json::string_t& key) {
    current_ = nullptr;
    if (depth_ != 1) return true;
    for (const FieldSlot& slot : slots_) {
      if (absl::EqualsIgnoreCase(key, slot.key)) {
        current_ = &slot;
        break;
      }
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    return Error(absl::StrCat("invalid JSON: ", OneLineReason(e.what())));
  }

 private:
  bool Error(absl::string_view message) {
    status_ = absl::InvalidArgumentError(message);
    return false;
  }
  bool Scalar(Json::string_t* value, absl::string_view type) {
    if (depth_ == 0) return Error(absl::StrCat("expected a JSON object, got a ", type));
    if (depth_ > 1 || current_ == nullptr) return true;
    if (value != nullptr) {
      current_->target->assign(*value);
    } else if (type == "null") {
      // Go's encoding/json leaves a string field untouched on null.
    } else {
      return Error(absl::StrCat("field \"", current_->key, "\" must be a string, got ", type));
    }
    return true;
  }
  bool Nested(absl::string_view type) {
    if (depth_ == 1 && current_ != nullptr) {
      return Error(absl::StrCat("field \"", current_->key, "\" must be a string, got ", type));
    }
    ++depth_;
    return true;
  }

  const FieldSlot (&slots_)[N];
  const FieldSlot* current_ = nullptr;
  int depth_ = 0;
  absl::Status status_;
};

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not valid.
std::size_t ValidUtf8SequenceLength(absl::string_view s, std::size_t i);

// The fast path for the messages peers actually send: one flat object whose
// values are strings without escapes (or null). Returns false, with the
// targets in any state, for anything else, including every error; the full
// parser then decides. So the fast path never changes what is accepted, only
// how quickly (the fuzzer checks both paths agree).
template <std::size_t N>
bool TryDecodePlainFlatObject(absl::string_view frame, const FieldSlot (&slots)[N]) {
  const char* p = frame.data();
  const char* const end = p + frame.size();
  auto skip_space = [&] {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) ++p;
  };
  // Reads a string body after its opening quote; false on escapes, control
  // bytes, invalid UTF-8 or a missing closing quote.
  auto plain_string = [&](absl::string_view& out) {
    const char* start = p;
    while (p < end) {
      auto c = static_cast<unsigned char>(*p);
      if (c == '"') {
        out = absl::string_view(start, static_cast<std::size_t>(p - start));
        ++p;
        return true;
      }
      if (c == '\\' || c < 0x20) return false;
      if (c < 0x80) {
        ++p;
        continue;
      }
      std::size_t len = ValidUtf8SequenceLength(frame, static_cast<std::size_t>(p - frame.data()));
      if (len == 0) return false;
      p += len;
    }
    return false;
  };
  for (const FieldSlot& slot : slots) slot.target->clear();
  skip_space();
  if (p == end || *p != '{') return false;
  ++p;
  skip_space();
  if (p < end && *p == '}') {
    ++p;
  } else {
    while (true) {
      absl::string_view key;
      if (p == end || *p != '"') return false;
      ++p;
      if (!plain_string(key)) return false;
      skip_space();
      if (p == end || *p != ':') return false;
      ++p;
      skip_space();
      std::string* target = nullptr;
      for (const FieldSlot& slot : slots) {
        if (absl::EqualsIgnoreCase(key, slot.key)) {
          target = slot.target;
          break;
        }
      }
      if (p < end && *p == '"') {
        ++p;
        absl::string_view value;
        if (!plain_string(value)) return false;
        if (target != nullptr) target->assign(value.data(), value.size());
      } else if (end - p >= 4 && std::memcmp(p, "null", 4) == 0) {
        p += 4;  // null leaves the field as it is, as in Go.
      } else {
        return false;
      }
      skip_space();
      if (p == end) return false;
      if (*p == '}') {
        ++p;
        break;
      }
      if (*p != ',') return false;
      ++p;
      skip_space();
    }
  }
  skip_space();
  return p == end;
}

template <std::size_t N>
absl::Status DecodeFlatObject(absl::string_view frame, const FieldSlot (&slots)[N]) {
  if (TryDecodePlainFlatObject(frame, slots)) return absl::OkStatus();
  for (const FieldSlot& slot : slots) slot.target->clear();
  // nlohmann's parser skips a leading UTF-8 byte order mark; Go's
  // encoding/json rejects it. Rejecting it also matters for the depth limit:
  // FrameSplitter does not take "\xEF\xBB\xBF{" for an object, so it would
  // pass such a frame on however deeply it nests.
  if (absl::StartsWith(frame, "\xEF\xBB\xBF")) {
    return absl::InvalidArgumentError("invalid JSON: byte order mark (U+FEFF) before the value");
  }
  FlatStringObjectHandler<N> handler(slots);
  // strict = true: anything after the object is an error.
  Json::sax_parse(frame.begin(), frame.end(), &handler, nlohmann::detail::input_format_t::json,
                  /*strict=*/true);
  return handler.status();
}

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not valid.
std::size_t ValidUtf8SequenceLength(absl::string_view s, std::size_t i) {
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  auto continuation = [&](std::size_t k) { return k < s.size() && (at(k) & 0xC0) == 0x80; };
  unsigned char lead = at(i);
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(i + 1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(i + 1) || !continuation(i + 2)) return 0;
    unsigned char second = at(i + 1);
    if (lead == 0xE0 && second < 0xA0) return 0;   // overlong
    if (lead == 0xED && second >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(i + 1) || !continuation(i + 2) || !continuation(i + 3)) return 0;
    unsigned char second = at(i + 1);
    if (lead == 0xF0 && second < 0x90) return 0;  // overlong
    if (lead == 0xF4 && second >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

absl::Status DecodeRequest(absl::string_view frame, Request& request) {
  const FieldSlot slots[] = {{"Uid", &request.uid}, {"Val", &request.val}};
  return DecodeFlatObject(frame, slots);
}

absl::Status DecodeResponse(absl::string_view frame, Response& response) {
  const FieldSlot slots[] = {{"Uid", &response.uid}, {"Val", &response.val}, {"Ts", &response.ts}};
  return DecodeFlatObject(frame, slots);
}

namespace {

// Writes `s` as a quoted JSON string to `out`, which has append(data, size)
// and push_back(c): a std::string, or a counter of the bytes that would be.
template <typename Sink>
void EncodeJsonString(absl::string_view s, Sink& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // Start of the bytes not yet copied.
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      std::size_t len = ValidUtf8SequenceLength(s, i);
      if (len != 0) {
        i += len;
        continue;
      }
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"': out.append("\\\"", 2); break;
      case '\\': out.append("\\\\", 2); break;
      case '\n': out.append("\\n", 2); break;
      case '\r': out.append("\\r", 2); break;
      case '\t': out.append("\\t", 2); break;
      case '\b': out.append("\\b", 2); break;
      case '\f': out.append("\\f", 2); break;
      default:
        if (c < 0x20) {
          const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
          out.append(escape, sizeof(escape));
        } else {
          out.append("\\ufffd", 6);  // An invalid UTF-8 byte.
        }
    }
    run = ++i;
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

// A Sink that only counts.
struct ByteCounter {
  std::size_t bytes = 0;
  void append(const char*, std::size_t n) { bytes += n; }
  void push_back(char) { ++bytes; }
};

}  // namespace

void AppendJsonString(absl::string_view s, std::string& out) { EncodeJsonString(s, out); }

std::size_t RequestLineBytes(const Request& request) {
  ByteCounter counter;
  EncodeJsonString(request.uid, counter);
  EncodeJsonString(request.val, counter);
  return counter.bytes + sizeof("{\"Uid\":,\"Val\":}\n") - 1;
}

void AppendRequestLine(const Request& request, std::string& out) {
  out.append("{\"Uid\":");
  AppendJsonString(request.uid, out);
  out.append(",\"Val\":");
  AppendJsonString(request.val, out);
  out.append("}\n");
}

void AppendResponseLine(const Response& response, std::string& out) {
  out.append("{\"Uid\":");
  AppendJsonString(response.uid, out);
  out.append(",\"Val\":");
  AppendJsonString(response.val, out);
  if (!response.ts.empty()) {
    out.append(",\"Ts\":");
    AppendJsonString(response.ts, out);
  }
  out.append("}\n");
}

}  // namespace tcpcore
