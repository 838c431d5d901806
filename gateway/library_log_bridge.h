// RouteLibraryLogsToLog: sends the log lines of gRPC and protobuf (a port in
// use, a failed TLS handshake, a refused compressed call, a string field
// that is not UTF-8) through tcpcore::Log, so they follow --log_format (one
// JSON object per line for collectors) and --log_level like the gateway's
// own lines. Their errors, which clients can cause at their request rate,
// are rate limited per source line of the library: 10 at once, then one a
// second, the next one written (or ReportDroppedLibraryLines) saying how
// many were dropped. Without it,
// each library writes its own format to stderr, one line per event.
// gRPC's debug and info lines (GRPC_VERBOSITY, GRPC_TRACE) are not
// limited, and the libraries' last words before an abort (gRPC's assertion
// messages, protobuf's FATAL) are written whatever --log_level says.
//
// Thread-safety: call once at start-up, before gRPC starts; the installed
// functions are safe from any thread.
#ifndef GATEWAY_LIBRARY_LOG_BRIDGE_H_
#define GATEWAY_LIBRARY_LOG_BRIDGE_H_

namespace tcpgate {

void RouteLibraryLogsToLog();

// Writes, for each library source line whose errors were dropped since its
// last line written, one warning saying how many: call it now and then
// (tcpgate: every 10 s, and at exit), so drops of a source that went quiet
// are not lost. Any thread.
void ReportDroppedLibraryLines();

}  // namespace tcpgate

#endif  // GATEWAY_LIBRARY_LOG_BRIDGE_H_
