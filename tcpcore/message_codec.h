// Encoding and decoding of protocol messages: one frame (from FrameSplitter)
// to a Request or Response, and messages to newline-terminated JSON lines.
//
// Decoding follows Go's encoding/json, which the article's peers use: unknown
// keys are ignored, a key matches a field exactly or, failing that, ignoring
// case; a later duplicate key wins; null leaves a field as it was; any other
// non-string value for a known field is an error, as is anything that is not
// one JSON object (a leading byte order mark included) or any invalid UTF-8. Decoders write into caller-owned
// messages so a connection can reuse their string capacity across requests.
//
// Encoding writes keys exactly as "Uid", "Val", "Ts", escapes what JSON
// requires, and replaces invalid UTF-8 with U+FFFD (as Go does), so every
// encoded line decodes again.
//
// Thread-safety: free functions without shared state.
#ifndef TCPCORE_MESSAGE_CODEC_H_
#define TCPCORE_MESSAGE_CODEC_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "tcpcore/message.h"

namespace tcpcore {

// Parses `frame` into `request`. On error returns kInvalidArgument with a
// one-line reason fit for a "-ERR" reply; `request` is then unspecified.
[[nodiscard]] absl::Status DecodeRequest(absl::string_view frame, Request& request);
// Same for a response; a missing "Ts" is valid and leaves `ts` empty.
[[nodiscard]] absl::Status DecodeResponse(absl::string_view frame, Response& response);

// Appends `{"Uid":..,"Val":..}\n` to `out`.
void AppendRequestLine(const Request& request, std::string& out);
// Appends `{"Uid":..,"Val":..,"Ts":..}\n` to `out` ("Ts" omitted when empty).
void AppendResponseLine(const Response& response, std::string& out);
// Appends `s` as a quoted JSON string.
void AppendJsonString(absl::string_view s, std::string& out);
// The length of AppendRequestLine's output for `request`, without building
// it (escapes can make a line up to six times its text).
std::size_t RequestLineBytes(const Request& request);

}  // namespace tcpcore

#endif  // TCPCORE_MESSAGE_CODEC_H_
