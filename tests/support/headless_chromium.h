// Debian's Chromium, headless, for browser tests: a fresh profile in a
// temporary directory, the DevTools protocol on a port of 127.0.0.1 the
// browser picks itself, no network of its own (no updates, sync, metrics or
// first-run pages), and TLS trust limited to the test servers' certificates.
// CdpPage (tests/support/cdp_page.h) drives a page in it.
//
// Chromium runs with --no-sandbox: CI runs as root, and Chromium refuses to
// start its sandbox as root; the browser only ever loads the test's own pages.
//
// The destructor kills the browser and every process it started, reaps it
// and removes the directory; a watchdog does the same if the test process
// dies first.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/support/child_process.h"
#include "tests/support/test_support.h"

namespace hart::testing {

class HeadlessChromium {
 public:
  struct Options {
    // The browser itself, not Debian's /usr/bin/chromium wrapper: that adds
    // the flags of /etc/chromium.d/ (extensions from the web among them).
    std::string binary = "/usr/lib/chromium/chromium";
    // Base64 SHA-256 hashes of certificates' public keys (SpkiHash) that
    // the browser accepts without a chain to a root it trusts: the test
    // servers' own certificates, and nothing else.
    std::vector<std::string> accepted_spki_hashes;
    std::vector<std::string> extra_flags;
    int window_width = 1280;
    int window_height = 900;
    // Until the DevTools port is announced (a loaded CI machine is slow).
    absl::Duration startup_timeout = absl::Seconds(30);
  };

  static absl::StatusOr<std::unique_ptr<HeadlessChromium>> Start(Options options);
  ~HeadlessChromium();
  HeadlessChromium(const HeadlessChromium&) = delete;
  HeadlessChromium& operator=(const HeadlessChromium&) = delete;

  int devtools_port() const { return devtools_port_; }
  // "/devtools/browser/<id>": the browser's DevTools WebSocket.
  const std::string& devtools_path() const { return devtools_path_; }
  pid_t pid() const { return pid_; }
  // The temporary directory: profile, home and log.
  const std::string& dir() const { return dir_->path(); }
  // The end of what Chromium wrote to stdout and stderr, for failure messages.
  std::string LogTail(size_t max_bytes = 3000) const;

 private:
  HeadlessChromium() = default;
  absl::Status Launch(const Options& options);
  absl::Status AwaitDevToolsPort(absl::Duration bound);

  std::unique_ptr<TempDir> dir_;
  std::string log_file_;
  pid_t pid_ = -1;
  ServerWatchdog watchdog_;
  int devtools_port_ = 0;
  std::string devtools_path_;
};

// The base64 SHA-256 of the public key (SubjectPublicKeyInfo, DER) of the
// PEM certificate in `cert_file`: what --ignore-certificate-errors-spki-list
// takes.
absl::StatusOr<std::string> SpkiHash(const std::string& cert_file);

// "<build dir>/screenshots/<name>" (the directory is made); CI keeps the
// directory as an artifact.
std::string ScreenshotPath(const std::string& name);

}  // namespace hart::testing
