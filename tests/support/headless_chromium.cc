#include "tests/support/headless_chromium.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "broker/common/sha256.h"

namespace hart::testing {
namespace {

constexpr char kDevToolsPathPrefix[] = "/devtools/browser/";
constexpr size_t kGuidLength = 36;  // 8-4-4-4-12 hex digits

// A quiet, offline browser: nothing is fetched but the test's pages, no
// first-run or default-browser prompts, no background tabs slowed down
// (the tests' pages wait on timers and streams), stable screenshots.
std::vector<std::string> ChromiumFlags(const HeadlessChromium::Options& options,
                                       const std::string& profile) {
  std::vector<std::string> flags = {
      "--headless=new",
      "--remote-debugging-port=0",  // the browser picks a free port and writes it down
      "--user-data-dir=" + profile,
      "--no-sandbox",  // see the header: CI runs as root
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      "--disable-default-apps",
      "--disable-domain-reliability",
      "--disable-client-side-phishing-detection",
      "--disable-breakpad",
      "--no-pings",
      "--metrics-recording-only",  // records nothing it would upload
      "--disable-features=Translate,MediaRouter,OptimizationHints",
      "--disable-gpu",
      "--disable-dev-shm-usage",  // containers' /dev/shm is often too small
      "--mute-audio",
      "--password-store=basic",
      "--disable-background-timer-throttling",
      "--disable-renderer-backgrounding",
      "--disable-backgrounding-occluded-windows",
      "--hide-scrollbars",
      "--force-color-profile=srgb",
      "--lang=en-US",
      absl::StrCat("--window-size=", options.window_width, ",", options.window_height),
  };
  if (!options.accepted_spki_hashes.empty()) {
    // Honoured only with --user-data-dir, which is always set here.
    flags.push_back("--ignore-certificate-errors-spki-list=" +
                    absl::StrJoin(options.accepted_spki_hashes, ","));
  }
  flags.insert(flags.end(), options.extra_flags.begin(), options.extra_flags.end());
  flags.push_back("about:blank");  // no new-tab page and what it would fetch
  return flags;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HeadlessChromium>> HeadlessChromium::Start(Options options) {
  std::unique_ptr<HeadlessChromium> browser(new HeadlessChromium());
  // On failure the destructor stops whatever was started.
  if (absl::Status launched = browser->Launch(options); !launched.ok()) return launched;
  return browser;
}

absl::Status HeadlessChromium::Launch(const Options& options) {
  if (access(options.binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("no Chromium at ", options.binary,
                     ": install Debian's chromium package (deploy/install-deps.sh does)"));
  }
  dir_ = std::make_unique<TempDir>();
  const std::string home = dir_->path() + "/home";
  const std::string profile = dir_->path() + "/profile";
  std::error_code ec;
  std::filesystem::create_directories(home, ec);
  if (!ec) std::filesystem::create_directories(profile, ec);
  if (ec) return absl::InternalError(absl::StrCat("making ", dir_->path(), ": ", ec.message()));
  log_file_ = dir_->path() + "/chromium.log";

  // Chromium keeps its crash database and caches under $HOME, beside the
  // profile: pointed into the temporary directory, a test leaves nothing.
  ChildSpec spec;
  spec.argv = {"/usr/bin/env", "HOME=" + home, "XDG_CONFIG_HOME=" + home + "/.config",
               "XDG_CACHE_HOME=" + home + "/.cache", options.binary};
  const std::vector<std::string> flags = ChromiumFlags(options, profile);
  spec.argv.insert(spec.argv.end(), flags.begin(), flags.end());
  spec.cwd = dir_->path();
  spec.output_file = log_file_;
  absl::StatusOr<pid_t> pid = SpawnChild(spec);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  if (absl::Status watched = watchdog_.Start(pid_, dir_->path(), log_file_); !watched.ok()) {
    return watched;
  }
  return AwaitDevToolsPort(options.startup_timeout);
}

// Chromium writes "<port>\n/devtools/browser/<guid>" to the profile once it
// listens; the file is not written atomically, so only a whole GUID counts.
absl::Status HeadlessChromium::AwaitDevToolsPort(absl::Duration bound) {
  const std::string file = dir_->path() + "/profile/DevToolsActivePort";
  int exit_status = 0;
  bool exited = false;
  const bool announced = WaitFor(
      [&] {
        const std::vector<std::string> lines = absl::StrSplit(ReadText(file), '\n');
        if (lines.size() >= 2 && absl::SimpleAtoi(lines[0], &devtools_port_) &&
            lines[1].size() == sizeof kDevToolsPathPrefix - 1 + kGuidLength &&
            lines[1].starts_with(kDevToolsPathPrefix)) {
          devtools_path_ = lines[1];
          return true;
        }
        exited = waitpid(pid_, &exit_status, WNOHANG) == pid_;
        return exited;
      },
      absl::ToChronoMilliseconds(bound));
  if (exited) {
    pid_ = -1;  // reaped
    return absl::InternalError(absl::StrCat("Chromium exited at startup (",
                                            DescribeExit(exit_status), "); its log ends:\n",
                                            LogTail()));
  }
  if (!announced) {
    return absl::DeadlineExceededError(
        absl::StrCat("Chromium announced no DevTools port within ", absl::FormatDuration(bound),
                     " (", file, "); its log ends:\n", LogTail()));
  }
  return absl::OkStatus();
}

HeadlessChromium::~HeadlessChromium() {
  if (pid_ > 0) {
    // The browser leads its process group, and its zygotes, renderers, GPU
    // and network processes are in it; the crash handlers, in their own
    // sessions, exit when the browser is gone.
    kill(-pid_, SIGKILL);
    KillAndReap(pid_);
  }
  watchdog_.Stop();
}

std::string HeadlessChromium::LogTail(size_t max_bytes) const {
  return log_file_.empty() ? std::string() : FileTail(log_file_, max_bytes);
}

absl::StatusOr<std::string> SpkiHash(const std::string& cert_file) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(cert_file.c_str(), "r"), &BIO_free);
  if (!bio) return absl::NotFoundError(absl::StrCat("cannot open certificate ", cert_file));
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) {
    return absl::InvalidArgumentError(absl::StrCat(cert_file, " holds no PEM certificate"));
  }
  const int length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), nullptr);
  if (length <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot encode the key of ", cert_file));
  }
  std::string der(static_cast<size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &out);
  return absl::Base64Escape(Sha256(der));
}

std::string ScreenshotPath(const std::string& name) {
  const std::filesystem::path dir = HART_SCREENSHOT_DIR;
  std::error_code ignored;  // a failure shows when the screenshot is written
  std::filesystem::create_directories(dir, ignored);
  return (dir / name).string();
}

}  // namespace hart::testing
