#include "broker/dashboard/escalation_stream.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "broker/api/escalation_watch.h"
#include "google/protobuf/util/json_util.h"

namespace hart::dashboard {
namespace {

constexpr size_t kPage = 64;

// One client's stream. Only one page read is in flight at a time; its
// events are written from the executor before the next read starts, so
// they go out in sequence order.
class EscalationFeed : public std::enable_shared_from_this<EscalationFeed> {
 public:
  EscalationFeed(const DashboardServices& services, std::shared_ptr<ops::OpsStream> stream,
                 uint64_t after)
      : services_(services), stream_(std::move(stream)), cursor_(after) {}

  void Start() {
    std::weak_ptr<EscalationFeed> weak = weak_from_this();
    const TopicHub::Token token =
        services_.escalation_hub->Listen(kEscalationTopic, [weak](uint64_t) {
          if (auto feed = weak.lock()) feed->Wake();
        });
    // The stream keeps the feed alive until it closes. Never closed with
    // this feed's lock held (Unlisten waits for a running Wake).
    stream_->OnClose([self = shared_from_this(), token] {
      self->services_.escalation_hub->Unlisten(token);
    });
    bool queued = false;
    {
      absl::MutexLock lock(&mu_);
      queued = ReadLocked();
    }
    if (!queued) stream_->Close();  // the client retries
  }

 private:
  void Wake() {
    absl::MutexLock lock(&mu_);
    ++wakes_;
    // A refused read (executor full) is retried on the next announcement:
    // closing here, on the hub's thread, could not unlisten.
    ReadLocked();
  }

  // Starts a page read unless one is in flight; false if it was refused.
  bool ReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reading_ || stream_->closed()) return true;
    reading_ = true;
    const uint64_t after = cursor_;
    const uint64_t wakes = wakes_;
    auto self = shared_from_this();
    absl::Status queued = services_.executor->Submit([self, after, wakes] {
      self->OnPage(self->services_.store->ReadEscalations(after, kPage), wakes);
    });
    if (!queued.ok()) reading_ = false;
    return queued.ok();
  }

  void OnPage(absl::StatusOr<std::vector<EscalationRecord>> page, uint64_t wakes_before) {
    if (!page.ok()) {
      stream_->Close();  // the client reconnects and resumes
      absl::MutexLock lock(&mu_);
      reading_ = false;
      return;
    }
    for (const EscalationRecord& record : *page) {
      std::string json;
      if (!google::protobuf::util::MessageToJsonString(ToApiEscalation(record), &json).ok()) {
        continue;
      }
      stream_->Write(absl::StrCat("id: ", record.sequence, "\nevent: escalation\ndata: ", json,
                                  "\n\n"));
    }
    absl::MutexLock lock(&mu_);
    reading_ = false;
    if (!page->empty()) cursor_ = page->back().sequence;
    // More to read: a full page, or announcements while this one was read.
    if (page->size() == kPage || wakes_ != wakes_before) ReadLocked();
  }

  const DashboardServices services_;
  const std::shared_ptr<ops::OpsStream> stream_;
  absl::Mutex mu_;
  uint64_t cursor_ ABSL_GUARDED_BY(mu_);
  uint64_t wakes_ ABSL_GUARDED_BY(mu_) = 0;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

void ServeEscalations(const DashboardServices& services, const ops::OpsRequest& request,
                      const ops::Reply& reply) {
  uint64_t after = 0;
  if (auto it = request.headers.find("last-event-id"); it != request.headers.end()) {
    if (!absl::SimpleAtoi(it->second, &after)) after = 0;
  }
  std::shared_ptr<ops::OpsStream> stream = reply.OpenStream({200, "text/event-stream", {}});
  // Reconnect after 2 s when the stream drops.
  stream->Write("retry: 2000\n\n");
  std::make_shared<EscalationFeed>(services, std::move(stream), after)->Start();
}

}  // namespace hart::dashboard
