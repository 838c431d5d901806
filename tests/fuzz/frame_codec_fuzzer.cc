// libFuzzer target for the framer and the message codec
// (tcpcore/frame_splitter.h, tcpcore/message_codec.h).
//
// Input layout:
//   byte 0  how the stream is fed: bits 0-1 the chunking pattern (whole,
//           single bytes, fixed size, varying sizes), bit 2 whether to use
//           PrepareWrite()/CommitWrite() instead of Append(), bits 3-7 the
//           chunk size (1-32) or the seed of the varying sizes.
//   byte 1  the limits: bits 0-1 max_frame_bytes, bits 2-3 max_depth.
//   rest    the byte stream.
// A seed file starting with "00" feeds its stream whole with the limits
// 4096 bytes / depth 8.
//
// Checked for every input (a failed check prints the reason and traps):
//   * Splitting is independent of chunking: the frames and whether the
//     stream failed are the same as when the stream is appended at once.
//   * Frames are non-empty, contain no '\n' and respect max_frame_bytes; a
//     partial frame never holds more than max_frame_bytes + 1 bytes; an error
//     is sticky.
//   * DecodeRequest/DecodeResponse accept exactly the frames that the rules
//     of message_codec.h, applied to nlohmann's parse of the frame, accept,
//     with the same field values (this also pits the codec's fast path
//     against its full parser).
//   * A decoded message re-encodes to one line that splits into exactly one
//     frame and decodes to an equal message.
//   * AppendJsonString() of arbitrary bytes is a valid JSON string that keeps
//     every ASCII byte and the whole input when it is valid UTF-8, and a
//     request or response built from arbitrary bytes encodes to a line that
//     decodes again.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "nlohmann/json.hpp"
#include "tcpcore/frame_splitter.h"
#include "tcpcore/message.h"
#include "tcpcore/message_codec.h"

// Reports the failed condition and traps, so libFuzzer saves the input.
#define FUZZ_CHECK(condition)                                                              \
  do {                                                                                     \
    if (!(condition)) {                                                                    \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      __builtin_trap();                                                                    \
    }                                                                                      \
  } while (false)

namespace {

using ::nlohmann::json;
using ::tcpcore::FrameLimits;
using ::tcpcore::FrameSplitter;
using ::tcpcore::Request;
using ::tcpcore::Response;

enum class ChunkPattern { kWhole, kSingleBytes, kFixedSize, kVaryingSizes };

// How the stream is fed to the splitter under test.
struct FeedPlan {
  ChunkPattern pattern = ChunkPattern::kWhole;
  bool use_prepare_write = false;
  std::uint32_t chunk_parameter = 1;  // Fixed chunk size, or seed.
  FrameLimits limits;
};

FeedPlan ParseFeedPlan(std::uint8_t feed_byte, std::uint8_t limits_byte) {
  static constexpr std::size_t kMaxFrameBytes[] = {4096, 256, 32, 1};
  static constexpr int kMaxDepths[] = {8, 2, 1, 32};
  FeedPlan plan;
  plan.pattern = static_cast<ChunkPattern>(feed_byte & 0x3);
  plan.use_prepare_write = (feed_byte & 0x4) != 0;
  plan.chunk_parameter = (feed_byte >> 3) + 1u;
  plan.limits.max_frame_bytes = kMaxFrameBytes[limits_byte & 0x3];
  plan.limits.max_depth = kMaxDepths[(limits_byte >> 2) & 0x3];
  return plan;
}

// Yields the chunk sizes of a FeedPlan.
class ChunkSizer {
 public:
  explicit ChunkSizer(const FeedPlan& plan)
      : pattern_(plan.pattern), parameter_(plan.chunk_parameter), state_(plan.chunk_parameter * 2654435761u) {}

  std::size_t Next(std::size_t remaining) {
    std::size_t size = remaining;
    switch (pattern_) {
      case ChunkPattern::kWhole: break;
      case ChunkPattern::kSingleBytes: size = 1; break;
      case ChunkPattern::kFixedSize: size = parameter_; break;
      case ChunkPattern::kVaryingSizes: size = 1 + NextRandom() % 64; break;
    }
    return std::min(size, remaining);
  }

 private:
  std::uint32_t NextRandom() {  // xorshift32; `state_` is never zero.
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
  }

  ChunkPattern pattern_;
  std::uint32_t parameter_;
  std::uint32_t state_;
};

// What a splitter made of a whole stream.
struct SplitOutcome {
  std::vector<std::string> frames;
  FrameSplitter::Kind last = FrameSplitter::Kind::kNeedMore;  // Or the error.
};

void Feed(FrameSplitter& splitter, absl::string_view chunk, bool use_prepare_write) {
  if (!use_prepare_write) {
    splitter.Append(chunk);
    return;
  }
  absl::Span<char> space = splitter.PrepareWrite(chunk.size());
  FUZZ_CHECK(space.size() >= chunk.size());
  std::copy(chunk.begin(), chunk.end(), space.begin());
  splitter.CommitWrite(chunk.size());
}

// Feeds `stream` as `plan` says, pulling frames after every chunk. Checks the
// splitter's invariants and hands every frame to `on_frame` while it is still
// a view into the splitter's buffer.
template <typename OnFrame>
SplitOutcome Split(absl::string_view stream, const FeedPlan& plan, OnFrame on_frame) {
  const FrameLimits& limits = plan.limits;
  FrameSplitter splitter(limits);
  ChunkSizer sizer(plan);
  SplitOutcome outcome;
  std::size_t fed = 0;
  do {  // An empty stream is fed once, as an empty chunk: a read of 0 bytes.
    std::size_t chunk_size = sizer.Next(stream.size() - fed);
    Feed(splitter, stream.substr(fed, chunk_size), plan.use_prepare_write);
    fed += chunk_size;
    for (;;) {
      FrameSplitter::Event event = splitter.Next();
      if (outcome.last != FrameSplitter::Kind::kNeedMore) {
        FUZZ_CHECK(event.kind == outcome.last);  // Errors are sticky.
        break;
      }
      if (event.kind == FrameSplitter::Kind::kNeedMore) {
        FUZZ_CHECK(event.frame.empty());
        // A partial frame may hold the '\r' of a "\r\n" beyond the limit.
        FUZZ_CHECK(splitter.buffered_bytes() <= limits.max_frame_bytes + 1);
        break;
      }
      if (event.kind != FrameSplitter::Kind::kFrame) {
        FUZZ_CHECK(event.frame.empty());
        outcome.last = event.kind;
        continue;  // Pull once more to see that the error sticks.
      }
      FUZZ_CHECK(!event.frame.empty());
      FUZZ_CHECK(event.frame.size() <= limits.max_frame_bytes);
      FUZZ_CHECK(event.frame.find('\n') == absl::string_view::npos);
      on_frame(event.frame);
      outcome.frames.emplace_back(event.frame);
    }
  } while (fed < stream.size());
  return outcome;
}

// Parses JSON text without exceptions; a failure is a discarded value.
json ParseJson(absl::string_view text) {
  return json::parse(text.begin(), text.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
}

bool IsValidUtf8(absl::string_view bytes) {
  try {
    // dump() with the default error handler throws on invalid UTF-8.
    json(std::string(bytes)).dump();
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

std::string AsciiBytesOf(absl::string_view bytes) {
  std::string ascii;
  for (char c : bytes) {
    if (static_cast<unsigned char>(c) < 0x80) ascii.push_back(c);
  }
  return ascii;
}

// The decoding rules of message_codec.h applied to what nlohmann's parser
// reports, independently of the codec and its fast path: the values of the
// fields named `keys`, or nullopt where decoding must fail.
std::optional<std::vector<std::string>> ReferenceDecode(absl::string_view frame,
                                                        std::initializer_list<absl::string_view> keys) {
  // The top-level members in input order; the parser callback sees each
  // member's value complete, at depth 1, after its key.
  std::vector<std::pair<std::string, json>> members;
  std::string key;
  auto collect_members = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1) {
      if (event == json::parse_event_t::key) {
        key = parsed.get<std::string>();
      } else if (event == json::parse_event_t::value || event == json::parse_event_t::object_end ||
                 event == json::parse_event_t::array_end) {
        members.emplace_back(key, parsed);
      }
    }
    return true;
  };
  // Go rejects a leading byte order mark; nlohmann skips it.
  if (absl::StartsWith(frame, "\xEF\xBB\xBF")) return std::nullopt;
  json top = json::parse(frame.begin(), frame.end(), collect_members, /*allow_exceptions=*/false);
  if (!top.is_object()) return std::nullopt;

  std::vector<std::string> values(keys.size());
  for (const auto& [member_key, member_value] : members) {
    std::size_t field = 0;
    for (absl::string_view field_key : keys) {
      if (absl::EqualsIgnoreCase(member_key, field_key)) break;
      ++field;
    }
    if (field == keys.size()) continue;  // Unknown keys are ignored.
    if (member_value.is_string()) {
      values[field] = member_value.get<std::string>();  // A later duplicate wins.
    } else if (member_value.is_null()) {
      // null leaves the field as it was, as in Go's encoding/json.
    } else {
      return std::nullopt;
    }
  }
  return values;
}

// Splits `line` (one encoded message) with a fresh splitter and returns its
// only frame.
std::string SplitSingleLine(absl::string_view line) {
  FUZZ_CHECK(!line.empty() && line.back() == '\n');
  FUZZ_CHECK(line.find('\n') == line.size() - 1);
  FrameSplitter splitter;
  splitter.Append(line);
  FrameSplitter::Event event = splitter.Next();
  FUZZ_CHECK(event.kind == FrameSplitter::Kind::kFrame);
  FUZZ_CHECK(event.frame == line.substr(0, line.size() - 1));
  std::string frame(event.frame);
  FUZZ_CHECK(splitter.Next().kind == FrameSplitter::Kind::kNeedMore);
  FUZZ_CHECK(splitter.buffered_bytes() == 0);
  return frame;
}

void CheckRequestRoundTrip(const Request& request) {
  std::string line;
  tcpcore::AppendRequestLine(request, line);
  std::string frame = SplitSingleLine(line);
  Request decoded;
  FUZZ_CHECK(tcpcore::DecodeRequest(frame, decoded).ok());
  FUZZ_CHECK(decoded == request);
}

void CheckResponseRoundTrip(const Response& response) {
  std::string line;
  tcpcore::AppendResponseLine(response, line);
  std::string frame = SplitSingleLine(line);
  Response decoded;
  FUZZ_CHECK(tcpcore::DecodeResponse(frame, decoded).ok());
  FUZZ_CHECK(decoded == response);
}

// Decoders reuse these across frames, as a connection does, so a field left
// over from an earlier frame would show.
struct DecodeScratch {
  Request request;
  Response response;
};

void CheckFrame(absl::string_view frame, DecodeScratch& scratch) {
  const std::optional<std::vector<std::string>> request_fields = ReferenceDecode(frame, {"Uid", "Val"});
  const bool request_ok = tcpcore::DecodeRequest(frame, scratch.request).ok();
  FUZZ_CHECK(request_ok == request_fields.has_value());
  if (request_ok) {
    FUZZ_CHECK(scratch.request == (Request{(*request_fields)[0], (*request_fields)[1]}));
    CheckRequestRoundTrip(scratch.request);
  }

  const std::optional<std::vector<std::string>> response_fields = ReferenceDecode(frame, {"Uid", "Val", "Ts"});
  const bool response_ok = tcpcore::DecodeResponse(frame, scratch.response).ok();
  FUZZ_CHECK(response_ok == response_fields.has_value());
  if (response_ok) {
    FUZZ_CHECK(scratch.response ==
               (Response{(*response_fields)[0], (*response_fields)[1], (*response_fields)[2]}));
    CheckResponseRoundTrip(scratch.response);
  }
}

// The string a decoder must produce from AppendJsonString(bytes).
std::string EncodeAndParseJsonString(absl::string_view bytes) {
  std::string encoded;
  tcpcore::AppendJsonString(bytes, encoded);
  json parsed = ParseJson(encoded);
  FUZZ_CHECK(parsed.is_string());
  std::string value = parsed.get<std::string>();
  FUZZ_CHECK(AsciiBytesOf(value) == AsciiBytesOf(bytes));
  if (IsValidUtf8(bytes)) {
    FUZZ_CHECK(value == bytes);
  } else {
    FUZZ_CHECK(absl::StrContains(value, "\xEF\xBF\xBD"));  // U+FFFD
  }
  return value;
}

// Encodes messages whose fields are arbitrary bytes: every line must decode,
// to the fields with invalid UTF-8 replaced.
void CheckEncodingArbitraryBytes(absl::string_view bytes) {
  const absl::string_view first = bytes.substr(0, bytes.size() / 2);
  const absl::string_view second = bytes.substr(bytes.size() / 2);
  const std::string first_decoded = EncodeAndParseJsonString(first);
  const std::string second_decoded = EncodeAndParseJsonString(second);
  EncodeAndParseJsonString(bytes);

  std::string line;
  tcpcore::AppendRequestLine(Request{std::string(first), std::string(second)}, line);
  Request request;
  FUZZ_CHECK(tcpcore::DecodeRequest(SplitSingleLine(line), request).ok());
  FUZZ_CHECK(request == (Request{first_decoded, second_decoded}));

  line.clear();
  tcpcore::AppendResponseLine(Response{std::string(second), std::string(first), std::string(first)}, line);
  Response response;
  FUZZ_CHECK(tcpcore::DecodeResponse(SplitSingleLine(line), response).ok());
  FUZZ_CHECK(response == (Response{second_decoded, first_decoded, first_decoded}));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kHeaderBytes = 2;
  if (size < kHeaderBytes) return 0;
  const FeedPlan plan = ParseFeedPlan(data[0], data[1]);
  const absl::string_view stream(reinterpret_cast<const char*>(data) + kHeaderBytes, size - kHeaderBytes);

  DecodeScratch scratch;
  SplitOutcome chunked = Split(stream, plan, [&](absl::string_view frame) { CheckFrame(frame, scratch); });

  FeedPlan at_once = plan;
  at_once.pattern = ChunkPattern::kWhole;
  at_once.use_prepare_write = false;
  SplitOutcome reference = Split(stream, at_once, [](absl::string_view) {});
  FUZZ_CHECK(chunked.frames == reference.frames);
  FUZZ_CHECK((chunked.last == FrameSplitter::Kind::kNeedMore) ==
             (reference.last == FrameSplitter::Kind::kNeedMore));

  CheckEncodingArbitraryBytes(stream);
  return 0;
}
