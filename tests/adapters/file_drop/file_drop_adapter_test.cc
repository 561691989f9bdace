// The file_drop adapter against a real directory: files written atomically
// and signed so that a partner's `openssl pkeyutl -verify` accepts them,
// acks picked up from files, clean shutdown.
#include "adapters/file_drop/file_drop_adapter.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/file_drop/ack_file.h"
#include "broker/delivery_content.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace hart::adapters::file_drop {
namespace {

namespace fs = std::filesystem;
using ::hart::testing::TempDir;
using ::hart::testing::WaitFor;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using Ack = ::hart::v1::Acknowledgement;

constexpr auto kBound = std::chrono::seconds(10);
constexpr char kAgency[] = "cac-hartford";
constexpr char kAckToken[] = "ack-token-not-for-logs";

// Runs a shell command quietly; its exit code (-1 if it did not exit).
int RunQuietly(const std::string& command) {
  const int status = std::system((command + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Quote(const std::string& path) { return "'" + path + "'"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

std::set<std::string> List(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

// The message of a delivery, with a real intake so the files carry what a
// real one would.
class TestContent final : public DeliveryContent {
 public:
  absl::StatusOr<v1::ReferralDelivery> Load(const DeliveryRecord& delivery,
                                            bool notification_only) const override {
    std::lock_guard lock(mu_);
    notification_only_seen_ = notification_only;
    if (!status_.ok()) return status_;
    return MessageFor(delivery);
  }

  static v1::ReferralDelivery MessageFor(const DeliveryRecord& delivery) {
    v1::ReferralDelivery message;
    message.set_delivery_id(delivery.delivery_id);
    message.set_referral_id(delivery.referral_id);
    if (delivery.kind == v1::ERASURE) {  // as the broker builds one: no facts
      message.set_kind(v1::ERASURE);
      message.mutable_erasure()->set_referral_id(delivery.referral_id);
      message.mutable_erasure()->set_court_order_reference("HFD-JV-26-0042");
      return message;
    }
    message.set_kind(v1::REFERRAL);
    message.set_ack_token(kAckToken);
    message.set_ack_url("https://broker.example/ack");
    v1::ReferralView* view = message.mutable_referral();
    view->set_referral_id(delivery.referral_id);
    view->set_delivery_id(delivery.delivery_id);
    view->set_agency_id(kAgency);
    view->add_rule_ids("cac-sexual-abuse");
    *view->mutable_intake() = ::hart::testing::LoadIntake("school-sex-trafficking-hartford");
    return message;
  }

  void Fail(absl::Status status) {
    std::lock_guard lock(mu_);
    status_ = std::move(status);
  }
  bool notification_only_seen() const {
    std::lock_guard lock(mu_);
    return notification_only_seen_;
  }

 private:
  mutable std::mutex mu_;
  absl::Status status_;
  mutable bool notification_only_seen_ = true;
};

struct AckCall {
  std::string agency_id;
  std::string delivery_id;
  Ack::Kind kind;
  std::string note;
  std::string actor;
};

// Records acknowledgements; answers with the queued results (then OK), or
// holds the answers until released.
class RecordingAckSink final : public AckSink {
 public:
  void Acknowledge(const std::string& agency_id, const std::string& delivery_id, Ack::Kind kind,
                   const std::string& note, const std::string& actor, Done done) override {
    absl::Status result;
    {
      std::lock_guard lock(mu_);
      calls_.push_back({agency_id, delivery_id, kind, note, actor});
      if (hold_) {
        held_.push_back(std::move(done));
        return;
      }
      if (!results_.empty()) {
        result = results_.front();
        results_.pop_front();
      } else {
        result = always_;
      }
    }
    done(result);
  }

  void Answer(absl::Status next) {
    std::lock_guard lock(mu_);
    results_.push_back(std::move(next));
  }
  void AlwaysAnswer(absl::Status status) {
    std::lock_guard lock(mu_);
    always_ = std::move(status);
  }
  void Hold() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  // Answers every held ack OK, from this thread.
  void ReleaseHeld() {
    std::vector<Done> held;
    {
      std::lock_guard lock(mu_);
      hold_ = false;
      held.swap(held_);
    }
    for (auto& done : held) done(absl::OkStatus());
  }
  std::vector<AckCall> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  size_t call_count() const {
    std::lock_guard lock(mu_);
    return calls_.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<AckCall> calls_;
  std::deque<absl::Status> results_;
  absl::Status always_;
  bool hold_ = false;
  std::vector<Done> held_;
};

class FileDropAdapterTest : public ::testing::Test {
 protected:
  FileDropAdapterTest()
      : drop_dir_(tmp_.path() + "/drop"),
        key_file_(tmp_.path() + "/broker-file-drop.key.pem"),
        public_key_file_(tmp_.path() + "/broker-file-drop.pub.pem") {
    fs::create_directory(drop_dir_);
    // The operator's provisioning, as the README tells it.
    EXPECT_EQ(
        RunQuietly(absl::StrCat("openssl genpkey -algorithm ed25519 -out ", Quote(key_file_))), 0);
    ::chmod(key_file_.c_str(), 0600);
    EXPECT_EQ(RunQuietly(absl::StrCat("openssl pkey -in ", Quote(key_file_), " -pubout -out ",
                                      Quote(public_key_file_))),
              0);
    io_ = std::make_unique<AdapterIo>(2);
    factory_ = std::make_unique<FileDropAdapterFactory>(*io_);
    context_.content = &content_;
    context_.acks = &acks_;
  }

  ~FileDropAdapterTest() override {
    adapter_.reset();  // before the event loop it runs on
    io_.reset();
  }

  google::protobuf::Struct Settings(const std::string& poll_interval = "3600s") const {
    google::protobuf::Struct settings;
    auto& fields = *settings.mutable_fields();
    fields["directory"].set_string_value(drop_dir_);
    fields["signing_key_file"].set_string_value(key_file_);
    fields["ack_poll_interval"].set_string_value(poll_interval);
    return settings;
  }

  absl::Status CreateAdapter(const google::protobuf::Struct& settings) {
    auto adapter = factory_->Create(kAgency, settings, context_);
    if (!adapter.ok()) return adapter.status();
    adapter_ = std::move(*adapter);
    return absl::OkStatus();
  }

  FileDropAdapter& file_drop() { return dynamic_cast<FileDropAdapter&>(*adapter_); }

  static DeliveryRecord Record(const std::string& delivery_id,
                               const std::string& referral_id = "ref_01TEST") {
    DeliveryRecord record;
    record.delivery_id = delivery_id;
    record.referral_id = referral_id;
    record.agency_id = kAgency;
    record.adapter_type = "file_drop";
    return record;
  }

  DeliveryResult Deliver(const DeliveryRecord& record) {
    auto promise = std::make_shared<std::promise<DeliveryResult>>();
    auto future = promise->get_future();
    adapter_->Deliver(record, [promise](DeliveryResult r) { promise->set_value(std::move(r)); });
    EXPECT_EQ(future.wait_for(kBound), std::future_status::ready);
    return future.get();
  }

  AckScanSummary Scan() {
    auto future = file_drop().ScanAcksNow();
    EXPECT_EQ(future.wait_for(kBound), std::future_status::ready);
    return future.get();
  }

  // As a partner does: a dotfile, then a rename.
  void DropAck(const std::string& name, const std::string& content) {
    const std::string temp = drop_dir_ + "/." + name + ".tmp";
    WriteFile(temp, content);
    ASSERT_EQ(::rename(temp.c_str(), (drop_dir_ + "/" + name).c_str()), 0);
  }

  bool VerifiesLikeAPartner(const std::string& file, const std::string& signature) const {
    return RunQuietly(absl::StrCat("openssl pkeyutl -verify -pubin -inkey ",
                                   Quote(public_key_file_), " -rawin -in ", Quote(file),
                                   " -sigfile ", Quote(signature))) == 0;
  }

  std::string Path(const std::string& name) const { return drop_dir_ + "/" + name; }

  TempDir tmp_;
  const std::string drop_dir_;
  const std::string key_file_;
  const std::string public_key_file_;
  TestContent content_;
  RecordingAckSink acks_;
  AdapterContext context_;
  std::unique_ptr<AdapterIo> io_;
  std::unique_ptr<FileDropAdapterFactory> factory_;
  std::unique_ptr<Adapter> adapter_;
};

// --- Delivering ---

TEST_F(FileDropAdapterTest, DeliverWritesJsonThatParsesBackSignedSoAPartnerCanVerify) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  const DeliveryRecord record = Record("dlv_01ABC");

  const DeliveryResult result = Deliver(record);

  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_TRUE(result.transport_acknowledged);
  EXPECT_EQ(result.transport_ref, "file:dlv_01ABC.json");
  EXPECT_FALSE(content_.notification_only_seen());

  const std::string json = ReadFile(Path("dlv_01ABC.json"));
  ASSERT_FALSE(json.empty());
  EXPECT_EQ(json.back(), '\n');
  EXPECT_THAT(json, HasSubstr("\"deliveryId\":\"dlv_01ABC\""));  // camelCase
  v1::ReferralDelivery parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok());
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(parsed, TestContent::MessageFor(record)));

  EXPECT_EQ(ReadFile(Path("dlv_01ABC.json.sig")).size(), 64u);
  EXPECT_TRUE(VerifiesLikeAPartner(Path("dlv_01ABC.json"), Path("dlv_01ABC.json.sig")));

  // One byte changed anywhere: the partner must refuse it.
  std::string altered = json;
  altered[altered.size() / 2] ^= 0x01;
  const std::string altered_path = tmp_.path() + "/altered.json";
  WriteFile(altered_path, altered);
  EXPECT_FALSE(VerifiesLikeAPartner(altered_path, Path("dlv_01ABC.json.sig")));
}

TEST_F(FileDropAdapterTest, LeavesNoTempFilesAndARetryRewritesTheSameFiles) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  ASSERT_TRUE(Deliver(Record("dlv_01ABC")).status.ok());
  ASSERT_TRUE(Deliver(Record("dlv_01ABC")).status.ok());
  ASSERT_TRUE(Deliver(Record("dlv_02DEF")).status.ok());

  EXPECT_THAT(List(drop_dir_), ElementsAre("dlv_01ABC.json", "dlv_01ABC.json.sig", "dlv_02DEF.json",
                                           "dlv_02DEF.json.sig"));
  EXPECT_TRUE(VerifiesLikeAPartner(Path("dlv_01ABC.json"), Path("dlv_01ABC.json.sig")));
}

// A seal's erasure notice takes the sealed referral's earlier files, and
// their signatures, out of the directory (it may lie under the broker's
// data directory, which must hold no PII after a seal); another
// referral's files, the partner's acks, other erasure notices (another
// agency sharing the directory may not have read its own) and entries
// that are not the broker's files stay, and do not fail the notice.
TEST_F(FileDropAdapterTest, AnErasureNoticeRemovesTheSealedReferralsFiles) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  DeliveryRecord earlier_notice = Record("dlv_00NOTICE");
  earlier_notice.kind = v1::ERASURE;
  ASSERT_TRUE(Deliver(earlier_notice).status.ok());
  ASSERT_TRUE(Deliver(Record("dlv_01ABC")).status.ok());
  ASSERT_TRUE(Deliver(Record("dlv_02DEF")).status.ok());
  ASSERT_TRUE(Deliver(Record("dlv_03GHI", "ref_02OTHER")).status.ok());
  DropAck("dlv_01ABC.json.ack", "RECEIVED");
  const std::string outside = tmp_.path() + "/outside.json";
  WriteFile(outside, ReadFile(Path("dlv_02DEF.json")));
  ASSERT_EQ(::symlink(outside.c_str(), Path("dlv_05LINK.json").c_str()), 0);
  fs::create_directory(Path("dlv_06DIR.json"));
  DeliveryRecord erasure = Record("dlv_04ERASE");
  erasure.kind = v1::ERASURE;

  ASSERT_TRUE(Deliver(erasure).status.ok());

  EXPECT_THAT(List(drop_dir_),
              ElementsAre("dlv_00NOTICE.json", "dlv_00NOTICE.json.sig", "dlv_01ABC.json.ack",
                          "dlv_03GHI.json", "dlv_03GHI.json.sig", "dlv_04ERASE.json",
                          "dlv_04ERASE.json.sig", "dlv_05LINK.json", "dlv_06DIR.json"));
  EXPECT_THAT(ReadFile(Path("dlv_04ERASE.json")), HasSubstr("HFD-JV-26-0042"));
  EXPECT_TRUE(fs::exists(outside));
  // Delivered again (a retry), the notice finds nothing more to remove.
  ASSERT_TRUE(Deliver(erasure).status.ok());
  EXPECT_EQ(List(drop_dir_).size(), 9u);
}

TEST_F(FileDropAdapterTest, DirectoryGoneIsUnavailableNamingItAndComesBackWithIt) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  fs::remove(drop_dir_);

  const DeliveryResult gone = Deliver(Record("dlv_01ABC"));

  EXPECT_EQ(gone.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(gone.status.message()), HasSubstr(drop_dir_));
  EXPECT_THAT(std::string(gone.status.message()), HasSubstr("No such file or directory"));
  EXPECT_THAT(std::string(gone.status.message()), Not(HasSubstr(kAckToken)));

  // The mount is back: the retry succeeds.
  fs::create_directory(drop_dir_);
  EXPECT_TRUE(Deliver(Record("dlv_01ABC")).status.ok());
}

TEST_F(FileDropAdapterTest, ReferralGoneIsPassedOnAsNotFound) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  content_.Fail(absl::NotFoundError("referral ref_01TEST is gone"));

  EXPECT_EQ(Deliver(Record("dlv_01ABC")).status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(List(drop_dir_), IsEmpty());
}

TEST_F(FileDropAdapterTest, DeliveryIdUnfitForAFileNameIsRefused) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  EXPECT_EQ(Deliver(Record("../dlv")).status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(List(drop_dir_), IsEmpty());
}

// --- Settings ---

TEST_F(FileDropAdapterTest, MissingDirectoryIsRefusedAtCreateNamingIt) {
  auto settings = Settings();
  const std::string missing = tmp_.path() + "/no-such-dir";
  (*settings.mutable_fields())["directory"].set_string_value(missing);

  const absl::Status status = CreateAdapter(settings);

  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr(missing));
  EXPECT_THAT(std::string(status.message()), HasSubstr("No such file or directory"));
}

TEST_F(FileDropAdapterTest, RsaKeyIsRefusedAtCreate) {
  const std::string rsa_key = tmp_.path() + "/rsa.pem";
  ASSERT_EQ(RunQuietly(absl::StrCat("openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:1024 "
                                    "-out ",
                                    Quote(rsa_key))),
            0);
  ::chmod(rsa_key.c_str(), 0600);
  auto settings = Settings();
  (*settings.mutable_fields())["signing_key_file"].set_string_value(rsa_key);

  const absl::Status status = CreateAdapter(settings);

  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr(rsa_key));
  EXPECT_THAT(std::string(status.message()), HasSubstr("not Ed25519"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("openssl genpkey -algorithm ed25519"));
}

TEST_F(FileDropAdapterTest, GroupReadableKeyIsRefusedAtCreate) {
  ::chmod(key_file_.c_str(), 0640);

  const absl::Status status = CreateAdapter(Settings());

  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr(key_file_));
  EXPECT_THAT(std::string(status.message()), HasSubstr("group or others"));
}

TEST_F(FileDropAdapterTest, KeyFileThatIsNotAKeyIsRefusedAtCreate) {
  WriteFile(key_file_, "not a key\n");

  const absl::Status status = CreateAdapter(Settings());

  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("not an unencrypted PEM private key"));
}

TEST_F(FileDropAdapterTest, UnknownSettingIsRefusedByValidateSettingsNamingIt) {
  auto settings = Settings();
  (*settings.mutable_fields())["drop_folder"].set_string_value("/srv/x");

  const absl::Status status = factory_->ValidateSettings(settings);

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("file_drop settings"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("drop_folder"));
  EXPECT_EQ(CreateAdapter(settings).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FileDropAdapterTest, RequiredSettingsAndAPositiveIntervalAreChecked) {
  auto no_key = Settings();
  no_key.mutable_fields()->erase("signing_key_file");
  EXPECT_THAT(std::string(factory_->ValidateSettings(no_key).message()),
              HasSubstr("signing_key_file is required"));

  auto no_dir = Settings();
  no_dir.mutable_fields()->erase("directory");
  EXPECT_THAT(std::string(factory_->ValidateSettings(no_dir).message()),
              HasSubstr("directory is required"));

  EXPECT_THAT(std::string(factory_->ValidateSettings(Settings("-1s")).message()),
              HasSubstr("ack_poll_interval must be positive"));

  auto defaulted = Settings();
  defaulted.mutable_fields()->erase("ack_poll_interval");
  EXPECT_TRUE(factory_->ValidateSettings(defaulted).ok());
}

// --- Acknowledgements ---

TEST_F(FileDropAdapterTest, AcceptedJsonAckIsRecordedAndMarkedDone) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  DropAck("dlv_01ABC.json.ack", R"({"kind": "ACCEPTED", "note": "assigned to MDT"})");

  const AckScanSummary summary = Scan();

  EXPECT_EQ(summary.recorded, 1);
  const std::vector<AckCall> calls = acks_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].agency_id, kAgency);
  EXPECT_EQ(calls[0].delivery_id, "dlv_01ABC");
  EXPECT_EQ(calls[0].kind, Ack::ACCEPTED);
  EXPECT_EQ(calls[0].note, "assigned to MDT");
  EXPECT_EQ(calls[0].actor, "agency/cac-hartford via file_drop");
  EXPECT_THAT(List(drop_dir_), ElementsAre("dlv_01ABC.json.ack.done"));
}

TEST_F(FileDropAdapterTest, BareReceivedWordIsAnAck) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  DropAck("dlv_01ABC.json.ack", "RECEIVED\r\n");

  EXPECT_EQ(Scan().recorded, 1);
  const std::vector<AckCall> calls = acks_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].kind, Ack::RECEIVED);
  EXPECT_EQ(calls[0].note, "");
  EXPECT_THAT(List(drop_dir_), ElementsAre("dlv_01ABC.json.ack.done"));
}

TEST_F(FileDropAdapterTest, BareDeclinedWordTakesTheNextLinesAsTheNote) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  DropAck("dlv_01ABC.json.ack", "DECLINED\nout of our jurisdiction\n");

  EXPECT_EQ(Scan().recorded, 1);
  const std::vector<AckCall> calls = acks_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].kind, Ack::DECLINED);
  EXPECT_EQ(calls[0].note, "out of our jurisdiction");
}

TEST_F(FileDropAdapterTest, DeclinedWithoutNoteIsRejectedWithTheReason) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  DropAck("dlv_01ABC.json.ack", R"({"kind": "DECLINED"})");

  const AckScanSummary summary = Scan();

  EXPECT_EQ(summary.rejected, 1);
  EXPECT_EQ(acks_.call_count(), 0u);
  EXPECT_THAT(List(drop_dir_),
              ElementsAre("dlv_01ABC.json.ack.error", "dlv_01ABC.json.ack.rejected"));
  EXPECT_THAT(ReadFile(Path("dlv_01ABC.json.ack.error")), HasSubstr("needs a note"));
}

TEST_F(FileDropAdapterTest, AckWithAnUnknownFieldOrKindIsRejectedWithoutQuotingIt) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  DropAck("dlv_01ABC.json.ack", R"({"kind": "ACCEPTED", "notes": "Jordan Example"})");
  DropAck("dlv_02DEF.json.ack", "MAYBE Jordan Example\n");

  EXPECT_EQ(Scan().rejected, 2);
  EXPECT_EQ(acks_.call_count(), 0u);
  const std::string unknown_field = ReadFile(Path("dlv_01ABC.json.ack.error"));
  EXPECT_THAT(unknown_field, HasSubstr("unknown field"));
  EXPECT_THAT(unknown_field, Not(HasSubstr("Jordan")));
  const std::string unknown_kind = ReadFile(Path("dlv_02DEF.json.ack.error"));
  EXPECT_THAT(unknown_kind, HasSubstr("RECEIVED, ACCEPTED or DECLINED"));
  EXPECT_THAT(unknown_kind, Not(HasSubstr("Jordan")));
}

TEST_F(FileDropAdapterTest, AnotherAgencysDeliveryIsRejectedWithTheBrokersMessage) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  acks_.Answer(
      absl::PermissionDeniedError("delivery dlv_01ABC is not addressed to agency cac-hartford"));
  DropAck("dlv_01ABC.json.ack", "ACCEPTED\n");

  const AckScanSummary summary = Scan();

  EXPECT_EQ(summary.rejected, 1);
  EXPECT_EQ(acks_.call_count(), 1u);
  EXPECT_THAT(List(drop_dir_),
              ElementsAre("dlv_01ABC.json.ack.error", "dlv_01ABC.json.ack.rejected"));
  EXPECT_THAT(ReadFile(Path("dlv_01ABC.json.ack.error")),
              HasSubstr("is not addressed to agency cac-hartford"));
}

TEST_F(FileDropAdapterTest, TransientFailureLeavesTheAckForTheNextScan) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  acks_.Answer(absl::UnavailableError("store busy"));
  DropAck("dlv_01ABC.json.ack", "ACCEPTED\n");

  const AckScanSummary first = Scan();
  EXPECT_EQ(first.retry_later, 1);
  EXPECT_EQ(first.recorded, 0);
  EXPECT_THAT(List(drop_dir_), ElementsAre("dlv_01ABC.json.ack"));

  const AckScanSummary second = Scan();
  EXPECT_EQ(second.recorded, 1);
  EXPECT_EQ(acks_.call_count(), 2u);
  EXPECT_THAT(List(drop_dir_), ElementsAre("dlv_01ABC.json.ack.done"));
}

TEST_F(FileDropAdapterTest, AckFileNamesWithoutAValidDeliveryIdAreLeftAlone) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  const std::string too_long(kMaxDeliveryIdLength + 1, 'a');
  // Not delivery ids: counted as ignored.
  for (const std::string& name : {std::string("x..%2f..%2fetc%2fpasswd.json.ack"),
                                  std::string("dlv.01.json.ack"), too_long + ".json.ack"}) {
    WriteFile(Path(name), "ACCEPTED\n");
  }
  // Dotfiles: never looked at.
  WriteFile(Path("..%2f.json.ack"), "ACCEPTED\n");
  const std::set<std::string> before = List(drop_dir_);
  const std::set<std::string> parent_before = List(tmp_.path());

  const AckScanSummary summary = Scan();

  EXPECT_EQ(summary.ignored, 3);
  EXPECT_EQ(summary.recorded + summary.rejected + summary.retry_later, 0);
  EXPECT_EQ(acks_.call_count(), 0u);
  EXPECT_EQ(List(drop_dir_), before);
  EXPECT_EQ(List(tmp_.path()), parent_before);
}

TEST_F(FileDropAdapterTest, PartiallyWrittenDotfilesAreIgnored) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  WriteFile(Path(".dlv_01ABC.json.ack.tmp"), "ACCE");
  WriteFile(Path(".x.tmp"), "{");

  const AckScanSummary summary = Scan();

  EXPECT_EQ(summary.recorded + summary.rejected + summary.retry_later + summary.ignored, 0);
  EXPECT_EQ(acks_.call_count(), 0u);
  EXPECT_THAT(List(drop_dir_), ElementsAre(".dlv_01ABC.json.ack.tmp", ".x.tmp"));
}

TEST_F(FileDropAdapterTest, SymbolicLinkAckIsRejectedWithoutReadingItsTarget) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  const std::string outside = tmp_.path() + "/outside.txt";
  WriteFile(outside, "ACCEPTED\n");
  fs::create_symlink(outside, Path("dlv_01ABC.json.ack"));

  EXPECT_EQ(Scan().rejected, 1);
  EXPECT_EQ(acks_.call_count(), 0u);
  EXPECT_EQ(ReadFile(outside), "ACCEPTED\n");
  EXPECT_TRUE(fs::is_symlink(Path("dlv_01ABC.json.ack.rejected")));
  EXPECT_THAT(ReadFile(Path("dlv_01ABC.json.ack.error")), HasSubstr("not a regular file"));
}

TEST_F(FileDropAdapterTest, AnAckBeingSettledIsNotPickedUpBySecondScan) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  acks_.Hold();
  DropAck("dlv_01ABC.json.ack", "ACCEPTED\n");

  auto first = file_drop().ScanAcksNow();
  ASSERT_TRUE(WaitFor([&] { return acks_.call_count() == 1; }));
  const AckScanSummary second = Scan();  // while the first waits for the sink
  EXPECT_EQ(second.recorded + second.rejected + second.retry_later, 0);
  EXPECT_EQ(acks_.call_count(), 1u);

  acks_.ReleaseHeld();
  ASSERT_EQ(first.wait_for(kBound), std::future_status::ready);
  EXPECT_EQ(first.get().recorded, 1);
  EXPECT_THAT(List(drop_dir_), ElementsAre("dlv_01ABC.json.ack.done"));
}

TEST_F(FileDropAdapterTest, PollTimerPicksUpAcks) {
  ASSERT_TRUE(CreateAdapter(Settings("0.02s")).ok());
  DropAck("dlv_01ABC.json.ack", "RECEIVED\n");

  EXPECT_TRUE(WaitFor([&] { return fs::exists(Path("dlv_01ABC.json.ack.done")); }));
  EXPECT_EQ(acks_.call_count(), 1u);
}

// --- Shutdown ---

TEST_F(FileDropAdapterTest, DestroyingWithTheTimerArmedReturnsAndNothingRunsAfter) {
  ASSERT_TRUE(CreateAdapter(Settings("3600s")).ok());
  adapter_.reset();
  io_.reset();  // runs nothing of the adapter's (ASan would see it)
  SUCCEED();
}

TEST_F(FileDropAdapterTest, DestroyingWhileScansKeepRunningStopsThem) {
  // Scans back to back, each retrying the ack.
  ASSERT_TRUE(CreateAdapter(Settings("0.001s")).ok());
  acks_.AlwaysAnswer(absl::UnavailableError("store busy"));
  DropAck("dlv_01ABC.json.ack", "ACCEPTED\n");
  ASSERT_TRUE(WaitFor([&] { return acks_.call_count() >= 3; }));

  adapter_.reset();
  const size_t calls_at_destruction = acks_.call_count();
  io_.reset();  // lets anything still queued run (or be dropped)

  EXPECT_EQ(acks_.call_count(), calls_at_destruction);
  EXPECT_TRUE(fs::exists(Path("dlv_01ABC.json.ack")));
}

TEST_F(FileDropAdapterTest, DestroyingRightAfterDeliverWaitsForTheWrite) {
  ASSERT_TRUE(CreateAdapter(Settings()).ok());
  auto promise = std::make_shared<std::promise<DeliveryResult>>();
  auto future = promise->get_future();
  adapter_->Deliver(Record("dlv_01ABC"),
                    [promise](DeliveryResult r) { promise->set_value(std::move(r)); });
  adapter_.reset();

  ASSERT_EQ(future.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_TRUE(future.get().status.ok());
  EXPECT_TRUE(VerifiesLikeAPartner(Path("dlv_01ABC.json"), Path("dlv_01ABC.json.sig")));
}

}  // namespace
}  // namespace hart::adapters::file_drop
