// A Chrome DevTools Protocol client: one WebSocket to the browser
// (Boost.Beast), commands that wait, bounded, for their reply, and events
// handed to one sink. Sessions (Target.attachToTarget with flatten) share
// the socket: a command names its session, and so does an event.
//
// Thread safety: Call() may be used from any thread. The socket is served
// on the connection's own thread, which also runs the event sink: the sink
// must not block, and must not Call() (the reply would be read by the very
// thread it blocks).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/support/cdp_json.h"

namespace hart::testing::cdp {

struct CdpEvent {
  std::string method;      // "Page.loadEventFired"
  std::string session_id;  // empty for the browser's own events
  JsonObject params;
};

class CdpConnection {
 public:
  using EventSink = std::function<void(const CdpEvent&)>;

  // Opens ws://127.0.0.1:<port><path>.
  static absl::StatusOr<std::unique_ptr<CdpConnection>> Connect(int port, const std::string& path,
                                                                EventSink sink,
                                                                absl::Duration timeout);
  ~CdpConnection();
  CdpConnection(const CdpConnection&) = delete;
  CdpConnection& operator=(const CdpConnection&) = delete;

  // The command's "result", or its "error" as a status (INTERNAL with the
  // browser's message), DEADLINE_EXCEEDED after `timeout`, UNAVAILABLE once
  // the connection is lost.
  absl::StatusOr<JsonObject> Call(const std::string& method, const JsonObject& params,
                                  const std::string& session_id, absl::Duration timeout);

 private:
  class Impl;
  explicit CdpConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hart::testing::cdp
