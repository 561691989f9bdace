// Lets a headless Chromium tab present a client certificate, which it
// cannot choose itself (headless Chromium has no certificate selector, and
// AutoSelectCertificateForUrls is a machine-wide policy): every request the
// tab makes to 127.0.0.1:`port` is paused through the DevTools Fetch
// domain, made again here over TLS with the certificate, and the answer is
// handed to the tab unchanged (status, headers, body). What the page shows
// is what the server answered that identity. A request for server-sent
// events is failed (its answer never completes): the page sees a broken
// stream.
//
// Use: make it, open the tab with CdpPage::Options{.on_event = EventSink()},
// Attach() it to the tab, and destroy it before the tab.
//
// Thread safety: EventSink's function runs on the connection's thread; the
// paused requests are answered one at a time on the object's own thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "tests/support/cdp_page.h"
#include "tests/support/https_test_client.h"

namespace hart::testing::cdp {

class ClientCertificateStandIn {
 public:
  // `tls` names the CA and the certificate and key to present.
  ClientCertificateStandIn(int port, HttpsTestClientOptions tls);
  ~ClientCertificateStandIn();
  ClientCertificateStandIn(const ClientCertificateStandIn&) = delete;
  ClientCertificateStandIn& operator=(const ClientCertificateStandIn&) = delete;

  std::function<void(const CdpEvent&)> EventSink() const;
  // Starts pausing the tab's requests to the port and answering them.
  absl::Status Attach(CdpPage& page);

 private:
  struct Paused;
  void Serve(CdpPage& page);
  void Answer(CdpPage& page, const JsonObject& paused);

  const int port_;
  const HttpsTestClientOptions tls_;
  std::shared_ptr<Paused> paused_;  // shared with the event sink
  std::thread worker_;
};

}  // namespace hart::testing::cdp
