// The operations port's streamed responses (server-sent events) and its
// stop, against a real client over TLS on 127.0.0.1.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "tests/unit/ops_server_fixture.h"

namespace hart::ops::testing {
namespace {

TEST_F(OpsServerTest, StreamsWhatAnotherThreadWritesUntilTheHandlerClosesIt) {
  Slot<std::shared_ptr<OpsStream>> streams;
  Handle("GET", "/events", PathMatch::kExact, [&](const OpsRequest&, Reply reply) {
    streams.Put(reply.OpenStream({200, "text/event-stream", {}}));
  });
  StartServer();
  auto client = Connect();
  ASSERT_TRUE(client);
  auto head = client->OpenStream("/events");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->headers["content-type"], "text/event-stream");
  auto stream = streams.Take();
  ASSERT_TRUE(stream.has_value());
  std::atomic<int> closes{0};
  (*stream)->OnClose([&] { ++closes; });
  std::thread writer([s = *stream] {
    EXPECT_TRUE(s->Write("id: 1\ndata: first\n\n"));
    EXPECT_TRUE(s->Write("id: 2\ndata: second\n\n"));
  });
  writer.join();
  auto body = client->ReadStreamUntil("data: second");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, "id: 1\ndata: first\n\nid: 2\ndata: second\n\n");
  (*stream)->Close();
  EXPECT_TRUE(client->ReadStreamToEnd().ok());  // the last chunk came
  EXPECT_FALSE((*stream)->Write("after the end"));
  EXPECT_EQ(closes.load(), 1);
}

TEST_F(OpsServerTest, AStreamLearnsThatItsClientWentAway) {
  Slot<std::shared_ptr<OpsStream>> streams;
  absl::Notification closed;
  ServeEvents(streams, closed);
  StartServer();
  auto client = Connect();
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->OpenStream("/events").ok());
  auto stream = streams.Take();
  ASSERT_TRUE(stream.has_value());
  EXPECT_FALSE((*stream)->closed());
  client->Close();
  ASSERT_TRUE(closed.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE((*stream)->closed());
  EXPECT_FALSE((*stream)->Write("nobody reads this"));
}

TEST_F(OpsServerTest, AClientThatDoesNotReadIsCutOffInsteadOfBufferedWithoutBound) {
  Slot<std::shared_ptr<OpsStream>> streams;
  absl::Notification closed;
  ServeEvents(streams, closed);
  settings_.max_stream_buffer_bytes = 64 * 1024;
  StartServer();
  auto client = Connect();
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->OpenStream("/events").ok());
  auto stream = streams.Take();
  ASSERT_TRUE(stream.has_value());
  // The client reads nothing: once the socket buffers are full, what is
  // queued grows past the bound and the stream is closed.
  const std::string chunk(16 * 1024, 'x');
  EXPECT_TRUE(WaitFor([&] { return !(*stream)->Write(chunk); }, std::chrono::seconds(20)));
  EXPECT_TRUE(closed.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST_F(OpsServerTest, StopEndsOpenStreamsCleanlyAndAnswersWaitingRequests503) {
  Slot<std::shared_ptr<OpsStream>> streams;
  Slot<Reply> kept;
  absl::Notification closed;
  ServeEvents(streams, closed);
  Handle("GET", "/slow", PathMatch::kExact,
         [&](const OpsRequest&, Reply reply) { kept.Put(reply); });
  StartServer();
  auto streaming = Connect();
  auto waiting = Connect();
  ASSERT_TRUE(streaming && waiting);
  ASSERT_TRUE(streaming->OpenStream("/events").ok());
  auto stream = streams.Take();
  ASSERT_TRUE(stream.has_value());
  ASSERT_TRUE((*stream)->Write("data: before the stop\n\n"));
  std::optional<absl::StatusOr<HttpsTestResponse>> slow;
  std::thread caller([&] { slow = waiting->Get("/slow"); });
  auto reply = kept.Take();
  ASSERT_TRUE(reply.has_value());

  server_->Stop();
  caller.join();
  ASSERT_TRUE(slow->ok()) << slow->status();
  EXPECT_EQ((*slow)->status, 503);
  EXPECT_TRUE(closed.HasBeenNotified());
  auto body = streaming->ReadStreamUntil("before the stop");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_TRUE(streaming->ReadStreamToEnd().ok());  // ended with its last chunk
  // Handles outlive the server harmlessly.
  reply->Respond(Text(200, "after the stop"));
  EXPECT_FALSE((*stream)->Write("after the stop"));
}

// Verifies that handles held elsewhere (a store task's Reply, a hub's
// stream) may be used and dropped after the server is destroyed.
TEST_F(OpsServerTest, HandlesOutliveTheServer) {
  Slot<Reply> kept;
  Slot<std::shared_ptr<OpsStream>> streams;
  Handle("GET", "/slow", PathMatch::kExact,
         [&](const OpsRequest&, Reply reply) { kept.Put(reply); });
  Handle("GET", "/events", PathMatch::kExact, [&](const OpsRequest&, Reply reply) {
    streams.Put(reply.OpenStream({}));
  });
  StartServer();
  auto waiting = Connect();
  auto streaming = Connect();
  ASSERT_TRUE(waiting && streaming);
  ASSERT_TRUE(streaming->OpenStream("/events").ok());
  std::thread caller([&] { (void)waiting->Get("/slow"); });
  auto reply = kept.Take();
  auto stream = streams.Take();
  ASSERT_TRUE(reply.has_value() && stream.has_value());
  server_.reset();
  caller.join();
  reply->Respond(Text(200, "nobody hears this"));
  EXPECT_FALSE((*stream)->Write("nor this"));
  EXPECT_TRUE((*stream)->closed());
  reply.reset();
  stream.reset();
}

}  // namespace
}  // namespace hart::ops::testing
