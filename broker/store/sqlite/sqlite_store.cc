#include "broker/store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include <functional>
#include <tuple>
#include "broker/common/time_util.h"
#include "broker/audit/audit_entry.h"
#include "broker/crypto/aead.h"
#include "broker/store/sqlite/sqlite_schema.h"

namespace hart {

using sqlite::SqliteDb;
using sqlite::Statement;

namespace {

#define HART_ASSIGN_OR_RETURN(lhs, expr) \
  auto lhs##_or = (expr);                \
  if (!lhs##_or.ok()) return lhs##_or.status(); \
  auto lhs = std::move(*lhs##_or)

#define HART_RETURN_IF_ERROR(expr)            \
  do {                                        \
    if (absl::Status _s = (expr); !_s.ok()) return _s; \
  } while (0)

// Column list shared by every query that reads a delivery, so ReadDelivery
// can decode it by position.
constexpr char kDeliveryColumns[] =
    "d.delivery_id, d.referral_id, d.agency_id, d.agency_kind, d.rule_ids, "
    "d.adapter_type, d.state, d.attempts, d.created_at, d.next_attempt_at, "
    "d.ack_deadline, d.delivery_deadline, d.last_attempt_at, d.lease_until, "
    "d.delivered_at, d.acknowledged_at, d.last_error, d.transport_ref, d.kind, d.changes, "
    "d.escalation, d.redelivered_as, d.erasure";
constexpr int kDeliveryColumnCount = 23;

std::optional<absl::Time> OptTime(const Statement& s, int col) {
  auto v = s.OptInt(col);
  if (!v) return std::nullopt;
  return absl::FromUnixMicros(*v);
}

std::optional<int64_t> OptMicros(const std::optional<absl::Time>& t) {
  if (!t) return std::nullopt;
  return absl::ToUnixMicros(*t);
}

DeliveryRecord ReadDelivery(const Statement& s, int first = 0) {
  DeliveryRecord d;
  int c = first;
  d.delivery_id = s.Text(c++);
  d.referral_id = s.Text(c++);
  d.agency_id = s.Text(c++);
  d.agency_kind = static_cast<v1::AgencyKind>(s.Int(c++));
  const std::string rules = s.Text(c++);
  if (!rules.empty()) d.rule_ids = absl::StrSplit(rules, ',');
  d.adapter_type = s.Text(c++);
  d.state = static_cast<v1::DeliveryState>(s.Int(c++));
  d.attempts = static_cast<uint32_t>(s.Int(c++));
  d.created_at = absl::FromUnixMicros(s.Int(c++));
  d.next_attempt_at = absl::FromUnixMicros(s.Int(c++));
  d.ack_deadline = absl::FromUnixMicros(s.Int(c++));
  d.delivery_deadline = OptTime(s, c++);
  d.last_attempt_at = OptTime(s, c++);
  d.lease_until = OptTime(s, c++);
  d.delivered_at = OptTime(s, c++);
  d.acknowledged_at = OptTime(s, c++);
  d.last_error = s.Text(c++);
  d.transport_ref = s.Text(c++);
  d.kind = static_cast<v1::MessageKind>(s.Int(c++));
  const std::string changes = s.Text(c++);
  if (!changes.empty()) d.changes = absl::StrSplit(changes, ',');
  const std::string escalation = s.Text(c++);
  if (!escalation.empty()) {
    d.escalation.emplace();
    d.escalation->ParseFromString(escalation);
  }
  d.redelivered_as = s.Text(c++);
  const std::string erasure = s.Text(c++);
  if (!erasure.empty()) {
    d.erasure.emplace();
    d.erasure->ParseFromString(erasure);
  }
  return d;
}

absl::Status InsertDelivery(SqliteDb& db, const DeliveryRecord& d) {
  HART_ASSIGN_OR_RETURN(ins, db.Prepare(
      "INSERT INTO deliveries (delivery_id, referral_id, agency_id, agency_kind, "
      "rule_ids, adapter_type, state, attempts, created_at, next_attempt_at, "
      "ack_deadline, delivery_deadline, kind, changes, escalation, last_attempt_at, erasure) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  ins->Bind(1, d.delivery_id).Bind(2, d.referral_id).Bind(3, d.agency_id)
      .Bind(4, int64_t{d.agency_kind}).Bind(5, absl::StrJoin(d.rule_ids, ","))
      .Bind(6, d.adapter_type).Bind(7, int64_t{d.state}).Bind(8, int64_t{d.attempts})
      .Bind(9, absl::ToUnixMicros(d.created_at)).Bind(10, absl::ToUnixMicros(d.next_attempt_at))
      .Bind(11, absl::ToUnixMicros(d.ack_deadline)).Bind(12, OptMicros(d.delivery_deadline))
      .Bind(13, int64_t{d.kind}).Bind(14, absl::StrJoin(d.changes, ","))
      .BindBlob(15, d.escalation ? d.escalation->SerializeAsString() : std::string())
      .Bind(16, OptMicros(d.last_attempt_at))
      .BindBlob(17, d.erasure ? d.erasure->SerializeAsString() : std::string());
  return ins->Run();
}

constexpr int64_t kTimerPending = 0;
constexpr int64_t kTimerFired = 1;
constexpr int64_t kTimerReplaced = 2;

constexpr int64_t kTimerReroute = 0;
constexpr int64_t kTimerLadder = 1;

absl::Status InsertTimer(SqliteDb& db, const TimerRecord& t, absl::Time now) {
  HART_ASSIGN_OR_RETURN(ins, db.Prepare(
      "INSERT INTO timers (timer_id, referral_id, due_at, rule_ids, state, created_at, kind, "
      "delivery_id, step, base_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  ins->Bind(1, t.timer_id).Bind(2, t.referral_id).Bind(3, absl::ToUnixMicros(t.due_at))
      .Bind(4, absl::StrJoin(t.rule_ids, ",")).Bind(5, kTimerPending)
      .Bind(6, absl::ToUnixMicros(now))
      .Bind(7, t.kind == TimerRecord::Kind::kLadder ? kTimerLadder : kTimerReroute)
      .Bind(8, t.delivery_id).Bind(9, int64_t{t.step}).Bind(10, absl::ToUnixMicros(t.base_at))
      .Bind(11, int64_t{t.reason});
  return ins->Run();
}

constexpr char kTimerColumns[] =
    "timer_id, referral_id, due_at, rule_ids, kind, delivery_id, step, base_at, reason";

TimerRecord ReadTimer(const Statement& s) {
  TimerRecord t;
  t.timer_id = s.Text(0);
  t.referral_id = s.Text(1);
  t.due_at = absl::FromUnixMicros(s.Int(2));
  const std::string rules = s.Text(3);
  if (!rules.empty()) t.rule_ids = absl::StrSplit(rules, ',');
  t.kind = s.Int(4) == kTimerLadder ? TimerRecord::Kind::kLadder : TimerRecord::Kind::kReroute;
  t.delivery_id = s.Text(5);
  t.step = static_cast<uint32_t>(s.Int(6));
  t.base_at = absl::FromUnixMicros(s.Int(7));
  t.reason = static_cast<v1::EscalationReason>(s.Int(8));
  return t;
}

// Pulls a ladder forward if its first step has not run yet.
absl::Status TriggerLadder(SqliteDb& db, const std::string& delivery_id,
                           const LadderTrigger& trigger) {
  HART_ASSIGN_OR_RETURN(update, db.Prepare(
      "UPDATE timers SET due_at = ?, base_at = ?, reason = ?, lease_until = NULL "
      "WHERE kind = ? AND delivery_id = ? AND state = ? AND step = 1 AND due_at > ?"));
  update->Bind(1, absl::ToUnixMicros(trigger.due_at)).Bind(2, absl::ToUnixMicros(trigger.base_at))
      .Bind(3, int64_t{trigger.reason}).Bind(4, kTimerLadder).Bind(5, delivery_id)
      .Bind(6, kTimerPending).Bind(7, absl::ToUnixMicros(trigger.due_at));
  return update->Run();
}

absl::Status StopLadder(SqliteDb& db, const std::string& delivery_id, absl::Time at) {
  HART_ASSIGN_OR_RETURN(update, db.Prepare(
      "UPDATE timers SET state = ?, finished_at = ?, lease_until = NULL "
      "WHERE kind = ? AND delivery_id = ? AND state = ?"));
  update->Bind(1, kTimerReplaced).Bind(2, absl::ToUnixMicros(at)).Bind(3, kTimerLadder)
      .Bind(4, delivery_id).Bind(5, kTimerPending);
  return update->Run();
}


}  // namespace

// A read connection borrowed from the pool for one call.
class SqliteStore::Reader {
 public:
  Reader(SqliteStore& store, std::unique_ptr<SqliteDb> db)
      : store_(store), db_(std::move(db)) {}
  ~Reader() {
    if (db_) store_.ReleaseReader(std::move(db_));
  }
  SqliteDb& db() { return *db_; }

 private:
  SqliteStore& store_;
  std::unique_ptr<SqliteDb> db_;
};

SqliteStore::SqliteStore(std::string path, int lock_fd, std::unique_ptr<SqliteDb> writer)
    : path_(std::move(path)), lock_fd_(lock_fd), writer_(std::move(writer)) {}

SqliteStore::~SqliteStore() {
  {
    absl::MutexLock lock(&checkpointer_mu_);
    stopping_ = true;
  }
  if (checkpointer_.joinable()) checkpointer_.join();
  {
    absl::MutexLock lock(&write_mu_);
    writer_.reset();
  }
  {
    absl::MutexLock lock(&readers_mu_);
    idle_readers_.clear();
  }
  if (lock_fd_ >= 0) close(lock_fd_);
}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& data_dir,
                                                               crypto::KeyRing* keys) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create data directory ", data_dir, ": ", ec.message()));
  }
  const std::string lock_path = data_dir + "/LOCK";
  const int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot open ", lock_path));
  }
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    close(lock_fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "data directory ", data_dir, " is in use by another broker process"));
  }
  const std::string path = data_dir + "/hart.db";
  auto writer = SqliteDb::Open(path, /*read_only=*/false);
  if (!writer.ok()) {
    close(lock_fd);
    return writer.status();
  }
  for (const char* pragma : {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL",
                             "PRAGMA foreign_keys = ON", "PRAGMA wal_autocheckpoint = 0"}) {
    if (auto s = (*writer)->Exec(pragma); !s.ok()) {
      close(lock_fd);
      return s;
    }
  }
  if (auto s = sqlite::ApplySchema(**writer); !s.ok()) {
    close(lock_fd);
    return s;
  }
  auto store = std::unique_ptr<SqliteStore>(new SqliteStore(path, lock_fd, std::move(*writer)));
  if (keys == nullptr) {
    auto own = crypto::KeyRing::Load(data_dir + ".keys", /*create_if_empty=*/true, store->random_);
    if (!own.ok()) return own.status();
    store->own_keys_ = std::move(*own);
    keys = store->own_keys_.get();
  }
  store->keys_ = keys;
  if (auto s = store->LoadAuditTree(); !s.ok()) return s;
  if (auto s = store->EncryptLegacyReferrals(); !s.ok()) return s;
  store->checkpointer_ = std::thread([raw = store.get()] { raw->RunCheckpointer(); });
  return store;
}

void SqliteStore::RunCheckpointer() {
  auto db = SqliteDb::Open(path_, /*read_only=*/false);
  if (!db.ok()) return;
  absl::MutexLock lock(&checkpointer_mu_);
  for (;;) {
    // Maintenance paced by real time; nothing a test waits for.
    checkpointer_mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(200));
    if (stopping_) return;
    checkpointer_mu_.Unlock();
    // PASSIVE: copies what no reader still needs, never blocks the writer.
    sqlite3_wal_checkpoint_v2((*db)->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    checkpointer_mu_.Lock();
  }
}

absl::StatusOr<std::unique_ptr<SqliteDb>> SqliteStore::AcquireReader() {
  {
    absl::MutexLock lock(&readers_mu_);
    if (!idle_readers_.empty()) {
      auto db = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return db;
    }
  }
  return SqliteDb::Open(path_, /*read_only=*/true);
}

void SqliteStore::ReleaseReader(std::unique_ptr<SqliteDb> db) {
  absl::MutexLock lock(&readers_mu_);
  if (idle_readers_.size() < 16) idle_readers_.push_back(std::move(db));
}

template <typename Body>
absl::Status SqliteStore::InWriteTransaction(Body&& body) {
  absl::MutexLock lock(&write_mu_);
  SqliteDb& db = *writer_;
  HART_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  const audit::CompactRange tree_before = audit_tree_;
  absl::Status status = body(db);
  if (status.ok() && audit_tree_.size() != tree_before.size()) {
    // The tree's state commits with the events that grew it.
    auto save = db.Prepare(
        "INSERT INTO audit_tree (id, size, compact_range) VALUES (1, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET size = excluded.size, "
        "compact_range = excluded.compact_range");
    if (!save.ok()) {
      status = save.status();
    } else {
      (*save)->Bind(1, static_cast<int64_t>(audit_tree_.size()))
          .BindBlob(2, audit_tree_.Serialize());
      status = (*save)->Run();
    }
  }
  if (status.ok()) status = db.Exec("COMMIT");
  if (!status.ok()) {
    // ROLLBACK fails harmlessly if SQLite already rolled back on its own.
    (void)db.Exec("ROLLBACK");
    audit_tree_ = tree_before;
    return status;
  }
  if (audit_tree_.size() != tree_before.size()) {
    absl::MutexLock head_lock(&head_mu_);
    committed_head_ = {audit_tree_.size(), audit_tree_.RootHash()};
  }
  return status;
}

absl::StatusOr<uint64_t> SqliteStore::InsertAudit(SqliteDb& db, const AuditEvent& e) {
  const uint64_t index = audit_tree_.size();
  const std::string leaf_hash = audit::EntryLeafHash(audit::ToEntry(index, e));
  HART_ASSIGN_OR_RETURN(stmt, db.Prepare(
      "INSERT INTO audit_events (idx, at, actor, action, referral_id, delivery_id, "
      "payload_sha256, detail, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  // idx is 1-based (SQLite rowid); the log's indexes are 0-based.
  stmt->Bind(1, static_cast<int64_t>(index + 1)).Bind(2, absl::ToUnixMicros(e.at))
      .Bind(3, e.actor).Bind(4, e.action).Bind(5, e.referral_id).Bind(6, e.delivery_id)
      .BindBlob(7, e.payload_sha256).Bind(8, e.detail).BindBlob(9, leaf_hash);
  HART_RETURN_IF_ERROR(stmt->Run());
  absl::Status subtree_status;
  HART_RETURN_IF_ERROR(audit_tree_.Append(
      leaf_hash, [&](uint32_t height, uint64_t subtree_index, const std::string& hash) {
        if (!subtree_status.ok()) return;
        auto insert = db.Prepare("INSERT OR REPLACE INTO audit_subtrees (height, idx, hash) "
                                 "VALUES (?, ?, ?)");
        if (!insert.ok()) {
          subtree_status = insert.status();
          return;
        }
        (*insert)->Bind(1, int64_t{height}).Bind(2, static_cast<int64_t>(subtree_index))
            .BindBlob(3, hash);
        subtree_status = (*insert)->Run();
      }));
  HART_RETURN_IF_ERROR(subtree_status);
  return index;
}

absl::StatusOr<std::string> SqliteStore::DataKey(SqliteDb& db, const std::string& referral_id) {
  {
    absl::MutexLock lock(&dek_mu_);
    auto it = dek_cache_.find(referral_id);
    if (it != dek_cache_.end()) return it->second;
  }
  HART_ASSIGN_OR_RETURN(stmt, db.Prepare(
      "SELECT key_id, wrapped FROM referral_keys WHERE referral_id = ?"));
  stmt->Bind(1, referral_id);
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no data key for referral ", referral_id));
  if (stmt->IsNull(1)) {
    return absl::FailedPreconditionError(absl::StrCat("referral ", referral_id, " is sealed"));
  }
  HART_ASSIGN_OR_RETURN(key, keys_->Unwrap({stmt->Text(0), stmt->Text(1)},
                                           "dek:" + referral_id));
  absl::MutexLock lock(&dek_mu_);
  if (dek_cache_.size() >= 4096) dek_cache_.clear();  // bounded; misses only cost an unwrap
  dek_cache_[referral_id] = key;
  return key;
}

absl::StatusOr<std::string> SqliteStore::SealValue(const std::string& key,
                                                   const std::string& plaintext,
                                                   const std::string& context) {
  return crypto::Seal(key, plaintext, context, random_);
}

absl::StatusOr<v1::Intake> SqliteStore::OpenIntake(SqliteDb& db, const std::string& referral_id,
                                                   const std::string& stored, bool sealed) {
  v1::Intake intake;
  if (sealed) return intake;
  HART_ASSIGN_OR_RETURN(key, DataKey(db, referral_id));
  HART_ASSIGN_OR_RETURN(bytes, crypto::Open(key, stored, "intake:" + referral_id));
  if (!intake.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("referral ", referral_id, ": intake does not parse"));
  }
  return intake;
}

absl::Status SqliteStore::EncryptLegacyReferrals() {
  absl::MutexLock lock(&write_mu_);
  SqliteDb& db = *writer_;
  HART_ASSIGN_OR_RETURN(legacy, db.Prepare(
      "SELECT r.referral_id, r.intake FROM referrals r LEFT JOIN referral_keys k "
      "ON k.referral_id = r.referral_id WHERE k.referral_id IS NULL"));
  std::vector<std::pair<std::string, std::string>> rows;
  for (;;) {
    HART_ASSIGN_OR_RETURN(row, legacy->Step());
    if (!row) break;
    rows.emplace_back(legacy->Text(0), legacy->Text(1));
  }
  legacy.reset();
  if (rows.empty()) return absl::OkStatus();
  HART_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  for (const auto& [referral_id, plaintext] : rows) {
    HART_ASSIGN_OR_RETURN(key, keys_->NewDataKey("dek:" + referral_id));
    HART_ASSIGN_OR_RETURN(sealed, SealValue(key.first, plaintext, "intake:" + referral_id));
    HART_ASSIGN_OR_RETURN(insert, db.Prepare(
        "INSERT INTO referral_keys (referral_id, key_id, wrapped) VALUES (?, ?, ?)"));
    insert->Bind(1, referral_id).Bind(2, key.second.key_id).BindBlob(3, key.second.wrapped);
    HART_RETURN_IF_ERROR(insert->Run());
    HART_ASSIGN_OR_RETURN(update, db.Prepare("UPDATE referrals SET intake = ? WHERE referral_id = ?"));
    update->BindBlob(1, sealed).Bind(2, referral_id);
    HART_RETURN_IF_ERROR(update->Run());
  }
  return db.Exec("COMMIT");
}

absl::Status SqliteStore::LoadAuditTree() {
  absl::MutexLock lock(&write_mu_);
  SqliteDb& db = *writer_;
  HART_ASSIGN_OR_RETURN(head, db.Prepare("SELECT size, compact_range FROM audit_tree WHERE id = 1"));
  HART_ASSIGN_OR_RETURN(found, head->Step());
  if (found) {
    auto range = audit::CompactRange::Parse(head->Text(1));
    if (!range || range->size() != static_cast<uint64_t>(head->Int(0))) {
      return absl::DataLossError("the stored audit tree state does not parse");
    }
    audit_tree_ = std::move(*range);
  } else {
    // First open after the upgrade to schema 3: hash the existing events.
    HART_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
    HART_ASSIGN_OR_RETURN(events, db.Prepare(
        "SELECT idx, at, actor, action, referral_id, delivery_id, payload_sha256, detail "
        "FROM audit_events ORDER BY idx"));
    std::vector<AuditEvent> existing;
    for (;;) {
      HART_ASSIGN_OR_RETURN(row, events->Step());
      if (!row) break;
      existing.push_back({absl::FromUnixMicros(events->Int(1)), events->Text(2), events->Text(3),
                          events->Text(4), events->Text(5), events->Text(6), events->Text(7),
                          static_cast<uint64_t>(events->Int(0) - 1), ""});
    }
    events.reset();
    HART_RETURN_IF_ERROR(db.Exec("DELETE FROM audit_events"));
    for (const auto& e : existing) HART_RETURN_IF_ERROR(InsertAudit(db, e).status());
    HART_ASSIGN_OR_RETURN(save, db.Prepare(
        "INSERT INTO audit_tree (id, size, compact_range) VALUES (1, ?, ?)"));
    save->Bind(1, static_cast<int64_t>(audit_tree_.size())).BindBlob(2, audit_tree_.Serialize());
    HART_RETURN_IF_ERROR(save->Run());
    HART_RETURN_IF_ERROR(db.Exec("COMMIT"));
  }
  absl::MutexLock head_lock(&head_mu_);
  committed_head_ = {audit_tree_.size(), audit_tree_.RootHash()};
  return absl::OkStatus();
}

absl::StatusOr<std::vector<CreateReferralResult>> SqliteStore::CreateReferrals(
    std::span<const NewReferral> batch) {
  std::vector<CreateReferralResult> results;
  absl::Status status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    results.clear();
    for (const NewReferral& item : batch) {
      const ReferralRecord& r = item.referral;
      HART_ASSIGN_OR_RETURN(find, db.Prepare(
          "SELECT content_sha256, receipt FROM referrals WHERE careline_report_id = ?"));
      find->Bind(1, r.careline_report_id);
      HART_ASSIGN_OR_RETURN(found, find->Step());
      if (found) {
        CreateReferralResult result;
        result.outcome = find->Text(0) == r.content_sha256
                             ? CreateReferralResult::Outcome::kDuplicate
                             : CreateReferralResult::Outcome::kConflict;
        if (!result.receipt.ParseFromString(find->Text(1))) {
          return absl::DataLossError("stored receipt does not parse");
        }
        results.push_back(std::move(result));
        continue;
      }
      // The receipt names the audit index of the referral's first event.
      v1::Receipt receipt = r.receipt;
      for (size_t i = 0; i < item.audit.size(); ++i) {
        HART_ASSIGN_OR_RETURN(index, InsertAudit(db, item.audit[i]));
        if (i == 0) receipt.set_audit_index(index);
      }
      // A data key of its own; only its wrapped form is stored.
      HART_ASSIGN_OR_RETURN(data_key, keys_->NewDataKey("dek:" + r.referral_id));
      HART_ASSIGN_OR_RETURN(sealed_intake, SealValue(data_key.first, r.intake.SerializeAsString(),
                                                     "intake:" + r.referral_id));
      HART_ASSIGN_OR_RETURN(insert, db.Prepare(
          "INSERT INTO referrals (referral_id, careline_report_id, content_sha256, "
          "intake, receipt, priority, resolved_town, received_at, accepted_at) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
      insert->Bind(1, r.referral_id).Bind(2, r.careline_report_id)
          .BindBlob(3, r.content_sha256).BindBlob(4, sealed_intake)
          .BindBlob(5, receipt.SerializeAsString()).Bind(6, int64_t{r.priority})
          .Bind(7, r.resolved_town).Bind(8, absl::ToUnixMicros(r.received_at))
          .Bind(9, absl::ToUnixMicros(r.accepted_at));
      HART_RETURN_IF_ERROR(insert->Run());
      HART_ASSIGN_OR_RETURN(key_row, db.Prepare(
          "INSERT INTO referral_keys (referral_id, key_id, wrapped) VALUES (?, ?, ?)"));
      key_row->Bind(1, r.referral_id).Bind(2, data_key.second.key_id)
          .BindBlob(3, data_key.second.wrapped);
      HART_RETURN_IF_ERROR(key_row->Run());
      {
        absl::MutexLock dek_lock(&dek_mu_);
        if (dek_cache_.size() >= 4096) dek_cache_.clear();
        dek_cache_[r.referral_id] = data_key.first;
      }
      for (const DeliveryRecord& d : item.deliveries) HART_RETURN_IF_ERROR(InsertDelivery(db, d));
      for (const TimerRecord& t : item.timers) {
        HART_RETURN_IF_ERROR(InsertTimer(db, t, r.accepted_at));
      }
      CreateReferralResult result{CreateReferralResult::Outcome::kCreated, std::move(receipt)};
      for (const FeedAppend& a : item.feed_appends) {
        HART_ASSIGN_OR_RETURN(appended, AppendFeedEvent(db, a, r.accepted_at));
        result.feed_appends.push_back(std::move(appended));
      }
      results.push_back(std::move(result));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return results;
}

absl::Status SqliteStore::AppendAudit(std::span<const AuditEvent> events) {
  return InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    for (const auto& e : events) HART_RETURN_IF_ERROR(InsertAudit(db, e).status());
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<DeliveryRecord>> SqliteStore::ClaimDueDeliveries(
    absl::Time now, absl::Time lease_until, size_t limit) {
  std::vector<DeliveryRecord> claimed;
  absl::Status status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    claimed.clear();
    static_assert(v1::PENDING == 1 && v1::IN_FLIGHT == 2, "literals in the queries below");
    // Two queries, each on its own index: due retries and first attempts,
    // then claims whose lease expired before they were handed off.
    HART_ASSIGN_OR_RETURN(due, db.Prepare(absl::StrCat(
        "SELECT ", kDeliveryColumns, " FROM deliveries d WHERE d.state = 1 "
        "AND d.next_attempt_at <= ?1 ORDER BY d.next_attempt_at LIMIT ?2")));
    due->Bind(1, absl::ToUnixMicros(now)).Bind(2, static_cast<int64_t>(limit));
    for (;;) {
      HART_ASSIGN_OR_RETURN(row, due->Step());
      if (!row) break;
      claimed.push_back(ReadDelivery(*due));
    }
    due.reset();
    if (claimed.size() < limit) {
      HART_ASSIGN_OR_RETURN(expired, db.Prepare(absl::StrCat(
          "SELECT ", kDeliveryColumns, " FROM deliveries d INDEXED BY deliveries_unsent_claims "
          "WHERE d.state = 2 AND d.transport_ref = '' AND d.lease_until <= ?1 "
          "ORDER BY d.lease_until LIMIT ?2")));
      expired->Bind(1, absl::ToUnixMicros(now))
          .Bind(2, static_cast<int64_t>(limit - claimed.size()));
      for (;;) {
        HART_ASSIGN_OR_RETURN(row, expired->Step());
        if (!row) break;
        claimed.push_back(ReadDelivery(*expired));
      }
    }
    for (DeliveryRecord& d : claimed) {
      HART_ASSIGN_OR_RETURN(update, db.Prepare(
          "UPDATE deliveries SET state = ?, attempts = attempts + 1, "
          "last_attempt_at = ?, lease_until = ? WHERE delivery_id = ?"));
      update->Bind(1, int64_t{v1::IN_FLIGHT}).Bind(2, absl::ToUnixMicros(now))
          .Bind(3, absl::ToUnixMicros(lease_until)).Bind(4, d.delivery_id);
      HART_RETURN_IF_ERROR(update->Run());
      d.state = v1::IN_FLIGHT;
      d.attempts += 1;
      d.last_attempt_at = now;
      d.lease_until = lease_until;
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return claimed;
}

absl::Status SqliteStore::ReleaseClaims(absl::Time now) {
  return InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    HART_ASSIGN_OR_RETURN(update, db.Prepare(
        "UPDATE deliveries SET state = ?, lease_until = NULL, next_attempt_at = ? "
        "WHERE state = ? AND transport_ref = ''"));
    update->Bind(1, int64_t{v1::PENDING}).Bind(2, absl::ToUnixMicros(now))
        .Bind(3, int64_t{v1::IN_FLIGHT});
    HART_RETURN_IF_ERROR(update->Run());
    HART_ASSIGN_OR_RETURN(timers, db.Prepare(
        "UPDATE timers SET lease_until = NULL WHERE state = ? AND lease_until IS NOT NULL"));
    timers->Bind(1, kTimerPending);
    return timers->Run();
  });
}

absl::StatusOr<std::optional<absl::Time>> SqliteStore::NextDueTime() {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(
      "SELECT MIN(t) FROM ("
      " SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE state = 1"
      " UNION ALL"
      " SELECT MIN(lease_until) AS t FROM deliveries INDEXED BY deliveries_unsent_claims"
      "   WHERE state = 2 AND transport_ref = ''"
      " UNION ALL"
      " SELECT MIN(due_at) AS t FROM timers INDEXED BY timers_pending_due"
      "   WHERE state = 0 AND lease_until IS NULL"
      " UNION ALL"
      " SELECT MIN(lease_until) AS t FROM timers INDEXED BY timers_leased"
      "   WHERE state = 0 AND lease_until IS NOT NULL)"));
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  if (!row || stmt->IsNull(0)) return std::optional<absl::Time>();
  return std::optional<absl::Time>(absl::FromUnixMicros(stmt->Int(0)));
}

absl::Status SqliteStore::RecordOutcomes(std::span<const DeliveryOutcome> outcomes) {
  return InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    for (const DeliveryOutcome& o : outcomes) {
      HART_ASSIGN_OR_RETURN(update, db.Prepare(
          "UPDATE deliveries SET state = ?, next_attempt_at = ?, last_error = ?, "
          "lease_until = NULL, transport_ref = COALESCE(NULLIF(?, ''), transport_ref), "
          "delivered_at = CASE WHEN ? THEN ? ELSE delivered_at END, "
          "attempts = attempts - ? "
          "WHERE delivery_id = ? AND state = ?"));
      const bool delivered = o.new_state == v1::DELIVERED;
      update->Bind(1, int64_t{o.new_state}).Bind(2, absl::ToUnixMicros(o.next_attempt_at))
          .Bind(3, o.error).Bind(4, o.transport_ref).Bind(5, int64_t{delivered})
          .Bind(6, absl::ToUnixMicros(o.at)).Bind(7, int64_t{o.attempted ? 0 : 1})
          .Bind(8, o.delivery_id).Bind(9, int64_t{v1::IN_FLIGHT});
      HART_RETURN_IF_ERROR(update->Run());
      // A delivery acknowledged while its attempt was running keeps its
      // newer state; the outcome is then history only.
      if (db.Changes() != 1) continue;
      HART_RETURN_IF_ERROR(InsertAudit(db, o.audit).status());
      if (o.ladder) HART_RETURN_IF_ERROR(TriggerLadder(db, o.delivery_id, *o.ladder));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<FeedAppendResult> SqliteStore::AppendFeedEvent(SqliteDb& db,
                                                              const FeedAppend& a,
                                                              absl::Time now) {
  HART_ASSIGN_OR_RETURN(existing, db.Prepare(
      "SELECT agency_id, sequence FROM feed_events WHERE delivery_id = ?"));
  existing->Bind(1, a.delivery_id);
  HART_ASSIGN_OR_RETURN(found, existing->Step());
  if (found) {
    return FeedAppendResult{a.delivery_id, existing->Text(0),
                            static_cast<uint64_t>(existing->Int(1))};
  }
  HART_ASSIGN_OR_RETURN(head, db.Prepare(
      "INSERT INTO feed_heads (agency_id, last_sequence) VALUES (?, 1) "
      "ON CONFLICT (agency_id) DO UPDATE SET last_sequence = last_sequence + 1 "
      "RETURNING last_sequence"));
  head->Bind(1, a.agency_id);
  HART_ASSIGN_OR_RETURN(head_row, head->Step());
  if (!head_row) return absl::InternalError("feed head did not advance");
  const int64_t sequence = head->Int(0);
  HART_RETURN_IF_ERROR(head->Run());
  HART_ASSIGN_OR_RETURN(audit_index, InsertAudit(db, a.audit));
  HART_ASSIGN_OR_RETURN(insert, db.Prepare(
      "INSERT INTO feed_events (agency_id, sequence, delivery_id, appended_at, audit_index) "
      "VALUES (?, ?, ?, ?, ?)"));
  insert->Bind(1, a.agency_id).Bind(2, sequence).Bind(3, a.delivery_id)
      .Bind(4, absl::ToUnixMicros(now)).Bind(5, static_cast<int64_t>(audit_index));
  HART_RETURN_IF_ERROR(insert->Run());
  HART_ASSIGN_OR_RETURN(update, db.Prepare(
      "UPDATE deliveries SET transport_ref = ?, lease_until = NULL, last_error = '' "
      "WHERE delivery_id = ?"));
  update->Bind(1, absl::StrCat("feed:", a.agency_id, "#", sequence)).Bind(2, a.delivery_id);
  HART_RETURN_IF_ERROR(update->Run());
  return FeedAppendResult{a.delivery_id, a.agency_id, static_cast<uint64_t>(sequence)};
}

absl::StatusOr<std::vector<FeedAppendResult>> SqliteStore::AppendToFeeds(
    std::span<const FeedAppend> appends, absl::Time now) {
  std::vector<FeedAppendResult> results;
  absl::Status status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    results.clear();
    for (const FeedAppend& a : appends) {
      HART_ASSIGN_OR_RETURN(result, AppendFeedEvent(db, a, now));
      results.push_back(std::move(result));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return results;
}

absl::StatusOr<std::vector<FeedEntry>> SqliteStore::ReadFeedRows(SqliteDb& db, Statement& stmt) {
  std::vector<FeedEntry> entries;
  for (;;) {
    HART_ASSIGN_OR_RETURN(row, stmt.Step());
    if (!row) break;
    FeedEntry e;
    e.sequence = static_cast<uint64_t>(stmt.Int(0));
    e.appended_at = absl::FromUnixMicros(stmt.Int(1));
    e.delivery = ReadDelivery(stmt, 2);
    e.priority = static_cast<v1::Priority>(stmt.Int(3 + kDeliveryColumnCount));
    e.audit_index = static_cast<uint64_t>(stmt.Int(4 + kDeliveryColumnCount));
    e.sealed = !stmt.IsNull(5 + kDeliveryColumnCount);
    HART_ASSIGN_OR_RETURN(intake, OpenIntake(db, e.delivery.referral_id,
                                             stmt.Text(2 + kDeliveryColumnCount), e.sealed));
    e.intake = std::move(intake);
    entries.push_back(std::move(e));
  }
  return entries;
}

absl::StatusOr<std::vector<FeedEntry>> SqliteStore::ReadFeed(const std::string& agency_id,
                                                             uint64_t after_sequence,
                                                             size_t limit) {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(absl::StrCat(
      "SELECT f.sequence, f.appended_at, ", kDeliveryColumns, ", r.intake, r.priority, f.audit_index, r.sealed_at "
      "FROM feed_events f JOIN deliveries d ON d.delivery_id = f.delivery_id "
      "JOIN referrals r ON r.referral_id = d.referral_id "
      "WHERE f.agency_id = ? AND f.sequence > ? ORDER BY f.sequence LIMIT ?")));
  stmt->Bind(1, agency_id).Bind(2, static_cast<int64_t>(after_sequence))
      .Bind(3, static_cast<int64_t>(limit));
  return ReadFeedRows(reader.db(), *stmt);
}

absl::StatusOr<std::vector<FeedEntry>> SqliteStore::ReadUnreceivedFeed(
    const std::string& agency_id, uint64_t after_sequence, uint64_t up_to_sequence,
    size_t limit) {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(absl::StrCat(
      "SELECT f.sequence, f.appended_at, ", kDeliveryColumns, ", r.intake, r.priority, f.audit_index, r.sealed_at "
      "FROM feed_events f JOIN deliveries d ON d.delivery_id = f.delivery_id "
      "JOIN referrals r ON r.referral_id = d.referral_id "
      "WHERE f.agency_id = ? AND f.sequence > ? AND f.sequence <= ? AND d.state = ? "
      "ORDER BY f.sequence LIMIT ?")));
  stmt->Bind(1, agency_id).Bind(2, static_cast<int64_t>(after_sequence))
      .Bind(3, static_cast<int64_t>(up_to_sequence)).Bind(4, int64_t{v1::IN_FLIGHT})
      .Bind(5, static_cast<int64_t>(limit));
  return ReadFeedRows(reader.db(), *stmt);
}

absl::StatusOr<uint64_t> SqliteStore::FeedHead(const std::string& agency_id) {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(
      "SELECT last_sequence FROM feed_heads WHERE agency_id = ?"));
  stmt->Bind(1, agency_id);
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  return row ? static_cast<uint64_t>(stmt->Int(0)) : uint64_t{0};
}

absl::StatusOr<uint64_t> SqliteStore::WriteAck(SqliteDb& db, const AckWrite& w) {
  const int64_t at = absl::ToUnixMicros(FromProtoTime(w.ack.recorded_at()));
  const bool delivered = w.new_state == v1::DELIVERED || w.new_state == v1::ACKNOWLEDGED ||
                         w.new_state == v1::DECLINED;
  const bool business = w.new_state == v1::ACKNOWLEDGED || w.new_state == v1::DECLINED;
  HART_ASSIGN_OR_RETURN(update, db.Prepare(
      "UPDATE deliveries SET state = ?, lease_until = NULL, "
      "delivered_at = CASE WHEN ? THEN COALESCE(delivered_at, ?) ELSE delivered_at END, "
      "acknowledged_at = CASE WHEN ? THEN ? ELSE acknowledged_at END "
      "WHERE delivery_id = ? AND state = ?"));
  update->Bind(1, int64_t{w.new_state}).Bind(2, int64_t{delivered}).Bind(3, at)
      .Bind(4, int64_t{business}).Bind(5, at).Bind(6, w.delivery_id)
      .Bind(7, int64_t{w.expected_state});
  HART_RETURN_IF_ERROR(update->Run());
  if (db.Changes() != 1) return absl::AbortedError("delivery changed state concurrently; retry");
  // The note is the partner's free text: encrypted under the referral's
  // key (and gone with it when the referral is sealed).
  std::string note;
  if (!w.ack.note().empty()) {
    HART_ASSIGN_OR_RETURN(owner, db.Prepare("SELECT referral_id FROM deliveries WHERE delivery_id = ?"));
    owner->Bind(1, w.delivery_id);
    HART_ASSIGN_OR_RETURN(found, owner->Step());
    if (!found) return absl::NotFoundError(absl::StrCat("no delivery ", w.delivery_id));
    const std::string referral_id = owner->Text(0);
    owner.reset();
    auto key = DataKey(db, referral_id);
    if (key.ok()) {
      HART_ASSIGN_OR_RETURN(sealed_note, SealValue(*key, w.ack.note(), "note:" + w.delivery_id));
      note = std::move(sealed_note);
    } else if (!absl::IsFailedPrecondition(key.status())) {
      return key.status();
    }
  }
  HART_ASSIGN_OR_RETURN(insert, db.Prepare(
      "INSERT INTO acks (delivery_id, kind, note, actor, recorded_at) VALUES (?, ?, ?, ?, ?)"));
  insert->Bind(1, w.delivery_id).Bind(2, int64_t{w.ack.kind()}).BindBlob(3, note)
      .Bind(4, w.ack.actor()).Bind(5, at);
  HART_RETURN_IF_ERROR(insert->Run());
  if (w.stop_ladder) {
    HART_RETURN_IF_ERROR(StopLadder(db, w.delivery_id, FromProtoTime(w.ack.recorded_at())));
  }
  if (w.ladder) HART_RETURN_IF_ERROR(TriggerLadder(db, w.delivery_id, *w.ladder));
  return InsertAudit(db, w.audit);
}

absl::StatusOr<uint64_t> SqliteStore::ApplyAck(const AckWrite& w) {
  auto results = ApplyAcks({&w, 1});
  if (!results.ok()) return results.status();
  return (*results)[0];
}

absl::StatusOr<std::vector<absl::StatusOr<uint64_t>>> SqliteStore::ApplyAcks(
    std::span<const AckWrite> writes) {
  std::vector<absl::StatusOr<uint64_t>> results;
  absl::Status status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    results.clear();
    for (const AckWrite& w : writes) {
      auto index = WriteAck(db, w);
      // A lost compare-and-set wrote nothing: it concerns that item only.
      if (!index.ok() && !absl::IsAborted(index.status())) return index.status();
      results.push_back(std::move(index));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return results;
}

absl::StatusOr<ReferralRecord> SqliteStore::GetReferral(const std::string& referral_id) {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(
      "SELECT referral_id, careline_report_id, content_sha256, intake, receipt, "
      "priority, resolved_town, received_at, accepted_at, version, sealed_at FROM referrals "
      "WHERE referral_id = ?"));
  stmt->Bind(1, referral_id);
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no referral ", referral_id));
  ReferralRecord r;
  r.referral_id = stmt->Text(0);
  r.careline_report_id = stmt->Text(1);
  r.content_sha256 = stmt->Text(2);
  if (!r.receipt.ParseFromString(stmt->Text(4))) {
    return absl::DataLossError(absl::StrCat("referral ", referral_id, ": receipt does not parse"));
  }
  if (!stmt->IsNull(10)) r.sealed_at = absl::FromUnixMicros(stmt->Int(10));
  HART_ASSIGN_OR_RETURN(intake, OpenIntake(reader.db(), r.referral_id, stmt->Text(3),
                                           r.sealed_at.has_value()));
  r.intake = std::move(intake);
  r.priority = static_cast<v1::Priority>(stmt->Int(5));
  r.resolved_town = stmt->Text(6);
  r.received_at = absl::FromUnixMicros(stmt->Int(7));
  r.accepted_at = absl::FromUnixMicros(stmt->Int(8));
  r.version = stmt->Int(9);
  return r;
}

absl::Status SqliteStore::ApplyReferralChange(const ReferralChange& c) {
  return InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    const int64_t at = absl::ToUnixMicros(c.at);
    HART_ASSIGN_OR_RETURN(update, db.Prepare(
        "UPDATE referrals SET intake = ?, receipt = ?, priority = ?, resolved_town = ?, "
        "version = version + 1 WHERE referral_id = ? AND version = ?"));
    HART_ASSIGN_OR_RETURN(data_key, DataKey(db, c.referral_id));
    HART_ASSIGN_OR_RETURN(sealed_intake, SealValue(data_key, c.intake.SerializeAsString(),
                                                   "intake:" + c.referral_id));
    update->BindBlob(1, sealed_intake).BindBlob(2, c.receipt.SerializeAsString())
        .Bind(3, int64_t{c.priority}).Bind(4, c.resolved_town).Bind(5, c.referral_id)
        .Bind(6, c.expected_version);
    HART_RETURN_IF_ERROR(update->Run());
    if (db.Changes() != 1) {
      return absl::AbortedError("the referral changed concurrently; retry");
    }
    for (const DeliveryRecord& d : c.new_deliveries) HART_RETURN_IF_ERROR(InsertDelivery(db, d));
    if (!c.fired_timer_id.empty()) {
      HART_ASSIGN_OR_RETURN(fired, db.Prepare(
          "UPDATE timers SET state = ?, finished_at = ?, lease_until = NULL "
          "WHERE timer_id = ? AND state = ?"));
      fired->Bind(1, kTimerFired).Bind(2, at).Bind(3, c.fired_timer_id).Bind(4, kTimerPending);
      HART_RETURN_IF_ERROR(fired->Run());
      if (db.Changes() != 1) {
        return absl::FailedPreconditionError("the timer is no longer pending");
      }
    }
    HART_ASSIGN_OR_RETURN(replace, db.Prepare(
        "UPDATE timers SET state = ?, finished_at = ?, lease_until = NULL "
        "WHERE referral_id = ? AND state = ? AND kind = ?"));
    replace->Bind(1, kTimerReplaced).Bind(2, at).Bind(3, c.referral_id).Bind(4, kTimerPending)
        .Bind(5, kTimerReroute);
    HART_RETURN_IF_ERROR(replace->Run());
    for (const TimerRecord& t : c.new_timers) HART_RETURN_IF_ERROR(InsertTimer(db, t, c.at));
    if (!c.supplement_id.empty()) {
      HART_ASSIGN_OR_RETURN(supplement, db.Prepare(
          "INSERT INTO supplements (supplement_id, referral_id, supplement_sha256, response, "
          "applied_at) VALUES (?, ?, ?, ?, ?)"));
      supplement->Bind(1, c.supplement_id).Bind(2, c.referral_id)
          .BindBlob(3, c.supplement_sha256).BindBlob(4, c.supplement_response).Bind(5, at);
      HART_RETURN_IF_ERROR(supplement->Run());
    }
    for (const AuditEvent& e : c.audit) HART_RETURN_IF_ERROR(InsertAudit(db, e).status());
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<StoredSupplement>> SqliteStore::FindSupplement(
    const std::string& supplement_id) {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(
      "SELECT referral_id, supplement_sha256, response FROM supplements "
      "WHERE supplement_id = ?"));
  stmt->Bind(1, supplement_id);
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  if (!row) return std::optional<StoredSupplement>();
  return std::optional<StoredSupplement>(
      StoredSupplement{stmt->Text(0), stmt->Text(1), stmt->Text(2)});
}

absl::StatusOr<std::vector<std::string>> SqliteStore::ListSupplements(
    const std::string& referral_id) {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(
      "SELECT supplement_id FROM supplements WHERE referral_id = ? ORDER BY applied_at, rowid"));
  stmt->Bind(1, referral_id);
  std::vector<std::string> ids;
  for (;;) {
    HART_ASSIGN_OR_RETURN(row, stmt->Step());
    if (!row) break;
    ids.push_back(stmt->Text(0));
  }
  return ids;
}

absl::StatusOr<std::string> SqliteStore::FindReferralId(const std::string& careline_report_id) {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(
      "SELECT referral_id FROM referrals WHERE careline_report_id = ?"));
  stmt->Bind(1, careline_report_id);
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  if (!row) {
    return absl::NotFoundError(
        absl::StrCat("no referral has carelineReportId ", careline_report_id));
  }
  return stmt->Text(0);
}

absl::StatusOr<std::vector<TimerRecord>> SqliteStore::ClaimDueTimers(absl::Time now,
                                                                     absl::Time lease_until,
                                                                     size_t limit) {
  std::vector<TimerRecord> claimed;
  absl::Status status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    claimed.clear();
    HART_ASSIGN_OR_RETURN(select, db.Prepare(absl::StrCat(
        "SELECT ", kTimerColumns, " FROM timers WHERE state = ?1 "
        "AND due_at <= ?2 AND (lease_until IS NULL OR lease_until <= ?2) "
        "ORDER BY due_at LIMIT ?3")));
    select->Bind(1, kTimerPending).Bind(2, absl::ToUnixMicros(now))
        .Bind(3, static_cast<int64_t>(limit));
    for (;;) {
      HART_ASSIGN_OR_RETURN(row, select->Step());
      if (!row) break;
      claimed.push_back(ReadTimer(*select));
    }
    for (const auto& t : claimed) {
      HART_ASSIGN_OR_RETURN(lease, db.Prepare("UPDATE timers SET lease_until = ? WHERE timer_id = ?"));
      lease->Bind(1, absl::ToUnixMicros(lease_until)).Bind(2, t.timer_id);
      HART_RETURN_IF_ERROR(lease->Run());
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return claimed;
}

absl::StatusOr<std::vector<TimerRecord>> SqliteStore::PendingTimers(
    const std::string& referral_id) {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(absl::StrCat(
      "SELECT ", kTimerColumns, " FROM timers "
      "WHERE referral_id = ? AND state = ? ORDER BY due_at")));
  stmt->Bind(1, referral_id).Bind(2, kTimerPending);
  return sqlite::CollectRows(*stmt, ReadTimer);
}

absl::StatusOr<std::vector<DeliveryWithAcks>> SqliteStore::GetDeliveries(
    const std::string& referral_id) {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  std::vector<DeliveryWithAcks> out;
  {
    HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(absl::StrCat(
        "SELECT ", kDeliveryColumns, " FROM deliveries d WHERE d.referral_id = ? "
        "ORDER BY d.rowid")));
    stmt->Bind(1, referral_id);
    for (;;) {
      HART_ASSIGN_OR_RETURN(row, stmt->Step());
      if (!row) break;
      out.push_back({ReadDelivery(*stmt), {}});
    }
  }
  // Notes are encrypted under the referral's key (gone once sealed).
  auto key = DataKey(reader.db(), referral_id);
  if (!key.ok() && !absl::IsFailedPrecondition(key.status()) &&
      !absl::IsNotFound(key.status())) {
    return key.status();
  }
  for (auto& item : out) {
    HART_ASSIGN_OR_RETURN(acks, reader.db().Prepare(
        "SELECT kind, note, actor, recorded_at FROM acks WHERE delivery_id = ? "
        "ORDER BY ack_id"));
    acks->Bind(1, item.delivery.delivery_id);
    for (;;) {
      HART_ASSIGN_OR_RETURN(row, acks->Step());
      if (!row) break;
      v1::Acknowledgement ack;
      ack.set_kind(static_cast<v1::Acknowledgement::Kind>(acks->Int(0)));
      const std::string stored_note = acks->Text(1);
      if (!stored_note.empty() && key.ok()) {
        HART_ASSIGN_OR_RETURN(note, crypto::Open(*key, stored_note,
                                                 "note:" + item.delivery.delivery_id));
        ack.set_note(note);
      }
      ack.set_actor(acks->Text(2));
      *ack.mutable_recorded_at() = ToProtoTime(absl::FromUnixMicros(acks->Int(3)));
      item.acks.push_back(std::move(ack));
    }
  }
  return out;
}

absl::StatusOr<DeliveryRecord> SqliteStore::GetDelivery(const std::string& delivery_id) {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(absl::StrCat(
      "SELECT ", kDeliveryColumns, " FROM deliveries d WHERE d.delivery_id = ?")));
  stmt->Bind(1, delivery_id);
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no delivery ", delivery_id));
  return ReadDelivery(*stmt);
}

absl::StatusOr<std::vector<AuditEvent>> SqliteStore::ListAuditEvents(const AuditQuery& q) {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  // Empty filters match everything; times are bounded by the extremes.
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(
      "SELECT idx, at, actor, action, referral_id, delivery_id, payload_sha256, detail, "
      "leaf_hash FROM audit_events WHERE idx > ?1 "
      "AND (?2 = '' OR referral_id = ?2) AND (?3 = '' OR delivery_id = ?3) "
      "AND (?4 = '' OR actor = ?4) AND at >= ?5 AND at < ?6 ORDER BY idx LIMIT ?7"));
  stmt->Bind(1, static_cast<int64_t>(q.start_index)).Bind(2, q.referral_id)
      .Bind(3, q.delivery_id).Bind(4, q.actor)
      .Bind(5, q.from ? absl::ToUnixMicros(*q.from) : INT64_MIN)
      .Bind(6, q.to ? absl::ToUnixMicros(*q.to) : INT64_MAX)
      .Bind(7, static_cast<int64_t>(q.limit));
  std::vector<AuditEvent> events;
  for (;;) {
    HART_ASSIGN_OR_RETURN(row, stmt->Step());
    if (!row) break;
    events.push_back({absl::FromUnixMicros(stmt->Int(1)), stmt->Text(2), stmt->Text(3),
                      stmt->Text(4), stmt->Text(5), stmt->Text(6), stmt->Text(7),
                      static_cast<uint64_t>(stmt->Int(0) - 1), stmt->Text(8)});
  }
  return events;
}

absl::StatusOr<AuditTreeHead> SqliteStore::AuditHead() {
  absl::MutexLock lock(&head_mu_);
  return committed_head_;
}

absl::StatusOr<std::string> SqliteStore::AuditLeafHash(uint64_t index) {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(
      "SELECT leaf_hash FROM audit_events WHERE idx = ?"));
  stmt->Bind(1, static_cast<int64_t>(index + 1));
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no audit event at index ", index));
  return stmt->Text(0);
}

absl::StatusOr<std::optional<std::string>> SqliteStore::AuditSubtreeHash(uint32_t height,
                                                                          uint64_t index) {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(
      "SELECT hash FROM audit_subtrees WHERE height = ? AND idx = ?"));
  stmt->Bind(1, int64_t{height}).Bind(2, static_cast<int64_t>(index));
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(stmt->Text(0));
}

absl::Status SqliteStore::AppendCheckpoint(const v1::Checkpoint& c) {
  return InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    HART_ASSIGN_OR_RETURN(insert, db.Prepare(
        "INSERT INTO audit_checkpoints (tree_size, root_hash, at, key_id, signature, "
        "signed_note) VALUES (?, ?, ?, ?, ?, ?)"));
    insert->Bind(1, static_cast<int64_t>(c.tree_size())).BindBlob(2, c.root_hash())
        .Bind(3, absl::ToUnixMicros(FromProtoTime(c.timestamp()))).Bind(4, c.key_id())
        .BindBlob(5, c.signature()).Bind(6, c.signed_note());
    return insert->Run();
  });
}

absl::StatusOr<std::vector<v1::Checkpoint>> SqliteStore::ListCheckpoints() {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(
      "SELECT tree_size, root_hash, at, key_id, signature, signed_note "
      "FROM audit_checkpoints ORDER BY tree_size"));
  std::vector<v1::Checkpoint> out;
  for (;;) {
    HART_ASSIGN_OR_RETURN(row, stmt->Step());
    if (!row) break;
    v1::Checkpoint c;
    c.set_tree_size(static_cast<uint64_t>(stmt->Int(0)));
    c.set_root_hash(stmt->Text(1));
    *c.mutable_timestamp() = ToProtoTime(absl::FromUnixMicros(stmt->Int(2)));
    c.set_key_id(stmt->Text(3));
    c.set_signature(stmt->Text(4));
    c.set_signed_note(stmt->Text(5));
    out.push_back(std::move(c));
  }
  return out;
}

namespace {

std::string JoinTargets(const std::vector<v1::EscalationTarget>& targets) {
  std::vector<std::string> numbers;
  for (auto t : targets) numbers.push_back(absl::StrCat(static_cast<int>(t)));
  return absl::StrJoin(numbers, ",");
}

constexpr char kEscalationColumns[] =
    "sequence, at, referral_id, delivery_id, agency_id, reason, step, targets, "
    "notice_delivery_ids, notified_agency_ids";

EscalationRecord ReadEscalation(const Statement& s) {
  EscalationRecord e;
  e.sequence = static_cast<uint64_t>(s.Int(0));
  e.at = absl::FromUnixMicros(s.Int(1));
  e.referral_id = s.Text(2);
  e.delivery_id = s.Text(3);
  e.agency_id = s.Text(4);
  e.reason = static_cast<v1::EscalationReason>(s.Int(5));
  e.step = static_cast<uint32_t>(s.Int(6));
  for (auto part : absl::StrSplit(s.Text(7), ',', absl::SkipEmpty())) {
    int value = 0;
    if (absl::SimpleAtoi(part, &value)) e.targets.push_back(static_cast<v1::EscalationTarget>(value));
  }
  const std::string notices = s.Text(8);
  if (!notices.empty()) e.notice_delivery_ids = absl::StrSplit(notices, ',');
  const std::string agencies = s.Text(9);
  if (!agencies.empty()) e.notified_agency_ids = absl::StrSplit(agencies, ',');
  return e;
}

}  // namespace

absl::StatusOr<uint64_t> SqliteStore::ApplyEscalationStep(const EscalationWrite& w) {
  uint64_t sequence = 0;
  absl::Status status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    sequence = 0;
    HART_ASSIGN_OR_RETURN(fired, db.Prepare(
        "UPDATE timers SET state = ?, finished_at = ?, lease_until = NULL "
        "WHERE timer_id = ? AND state = ?"));
    const absl::Time at = w.event ? w.event->at : (w.next ? w.next->due_at : absl::Now());
    fired->Bind(1, kTimerFired).Bind(2, absl::ToUnixMicros(at)).Bind(3, w.fired_timer_id)
        .Bind(4, kTimerPending);
    HART_RETURN_IF_ERROR(fired->Run());
    if (db.Changes() != 1) {
      return absl::FailedPreconditionError("the ladder step is no longer pending");
    }
    for (const DeliveryRecord& d : w.notices) HART_RETURN_IF_ERROR(InsertDelivery(db, d));
    if (w.event) {
      const EscalationRecord& e = *w.event;
      HART_ASSIGN_OR_RETURN(insert, db.Prepare(
          "INSERT INTO escalation_events (at, referral_id, delivery_id, agency_id, reason, "
          "step, targets, notice_delivery_ids, notified_agency_ids) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING sequence"));
      insert->Bind(1, absl::ToUnixMicros(e.at)).Bind(2, e.referral_id).Bind(3, e.delivery_id)
          .Bind(4, e.agency_id).Bind(5, int64_t{e.reason}).Bind(6, int64_t{e.step})
          .Bind(7, JoinTargets(e.targets)).Bind(8, absl::StrJoin(e.notice_delivery_ids, ","))
          .Bind(9, absl::StrJoin(e.notified_agency_ids, ","));
      HART_ASSIGN_OR_RETURN(row, insert->Step());
      if (!row) return absl::InternalError("escalation sequence not assigned");
      sequence = static_cast<uint64_t>(insert->Int(0));
      HART_RETURN_IF_ERROR(insert->Run());
    }
    if (w.next) HART_RETURN_IF_ERROR(InsertTimer(db, *w.next, at));
    for (const AuditEvent& e : w.audit) HART_RETURN_IF_ERROR(InsertAudit(db, e).status());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return sequence;
}

absl::StatusOr<std::vector<EscalationRecord>> SqliteStore::ReadEscalations(uint64_t after,
                                                                           size_t limit) {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(absl::StrCat(
      "SELECT ", kEscalationColumns, " FROM escalation_events WHERE sequence > ? "
      "ORDER BY sequence LIMIT ?")));
  stmt->Bind(1, static_cast<int64_t>(after)).Bind(2, static_cast<int64_t>(limit));
  return sqlite::CollectRows(*stmt, ReadEscalation);
}

absl::StatusOr<std::vector<EscalationRecord>> SqliteStore::EscalationsOf(
    const std::string& delivery_id) {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(absl::StrCat(
      "SELECT ", kEscalationColumns, " FROM escalation_events WHERE delivery_id = ? "
      "ORDER BY sequence")));
  stmt->Bind(1, delivery_id);
  return sqlite::CollectRows(*stmt, ReadEscalation);
}

absl::Status SqliteStore::ApplyRedelivery(const RedeliveryWrite& w) {
  return InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    HART_ASSIGN_OR_RETURN(mark, db.Prepare(
        "UPDATE deliveries SET redelivered_as = ? WHERE delivery_id = ? AND state = ? "
        "AND redelivered_as = ''"));
    mark->Bind(1, w.new_delivery.delivery_id).Bind(2, w.old_delivery_id)
        .Bind(3, int64_t{w.expected_state});
    HART_RETURN_IF_ERROR(mark->Run());
    if (db.Changes() != 1) {
      return absl::AbortedError("the delivery changed or was already redelivered");
    }
    HART_RETURN_IF_ERROR(StopLadder(db, w.old_delivery_id, w.new_delivery.created_at));
    HART_RETURN_IF_ERROR(InsertDelivery(db, w.new_delivery));
    if (w.ladder) HART_RETURN_IF_ERROR(InsertTimer(db, *w.ladder, w.new_delivery.created_at));
    for (const AuditEvent& e : w.audit) HART_RETURN_IF_ERROR(InsertAudit(db, e).status());
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<ReferralSummaryRecord>> SqliteStore::ListReferrals(
    const ReferralQuery& q) {
  HART_ASSIGN_OR_RETURN(db, AcquireReader());
  Reader reader(*this, std::move(db));
  // Filters are built from fixed fragments; every value is bound.
  std::string where = "1 = 1";
  std::vector<std::function<void(Statement&, int&)>> binds;
  auto bind_text = [&](std::string v) {
    binds.push_back([v](Statement& s, int& i) { s.Bind(i++, v); });
  };
  auto bind_int = [&](int64_t v) {
    binds.push_back([v](Statement& s, int& i) { s.Bind(i++, v); });
  };
  // A referral is overdue when a REFERRAL delivery is past its deadline
  // without ACCEPTED (and not redelivered).
  const std::string overdue_clause = absl::StrCat(
      "d.kind = ", int64_t{v1::REFERRAL}, " AND d.redelivered_as = '' AND d.state != ",
      int64_t{v1::ACKNOWLEDGED}, " AND (d.ack_deadline <= ? OR (d.delivery_deadline <= ? AND "
      "d.state NOT IN (", int64_t{v1::DELIVERED}, ", ", int64_t{v1::DECLINED}, ")))");
  if (!q.states.empty()) {
    std::vector<std::string> states;
    for (auto st : q.states) states.push_back(absl::StrCat(static_cast<int>(st)));
    absl::StrAppend(&where, " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.referral_id = "
                            "r.referral_id AND d.state IN (", absl::StrJoin(states, ","), "))");
  }
  if (q.overdue_at) {
    absl::StrAppend(&where, " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.referral_id = "
                            "r.referral_id AND ", overdue_clause, ")");
    bind_int(absl::ToUnixMicros(*q.overdue_at));
    bind_int(absl::ToUnixMicros(*q.overdue_at));
  }
  if (!q.towns.empty()) {
    std::vector<std::string> marks(q.towns.size(), "?");
    absl::StrAppend(&where, " AND r.resolved_town IN (", absl::StrJoin(marks, ","), ")");
    for (const auto& t : q.towns) bind_text(t);
  }
  if (!q.rule_id.empty()) {
    absl::StrAppend(&where, " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.referral_id = "
                            "r.referral_id AND (',' || d.rule_ids || ',') LIKE ?)");
    bind_text(absl::StrCat("%,", q.rule_id, ",%"));
  }
  if (!q.agency_id.empty()) {
    absl::StrAppend(&where, " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.referral_id = "
                            "r.referral_id AND d.agency_id = ?)");
    bind_text(q.agency_id);
  }
  if (q.received_from) {
    absl::StrAppend(&where, " AND r.received_at >= ?");
    bind_int(absl::ToUnixMicros(*q.received_from));
  }
  if (q.received_to) {
    absl::StrAppend(&where, " AND r.received_at < ?");
    bind_int(absl::ToUnixMicros(*q.received_to));
  }
  if (q.before) {
    absl::StrAppend(&where, " AND (r.accepted_at < ? OR (r.accepted_at = ? AND r.referral_id < ?))");
    bind_int(absl::ToUnixMicros(q.before->first));
    bind_int(absl::ToUnixMicros(q.before->first));
    bind_text(q.before->second);
  }
  const int64_t now = absl::ToUnixMicros(q.overdue_at.value_or(absl::Now()));
  const std::string sql = absl::StrCat(
      "SELECT r.referral_id, r.careline_report_id, r.priority, r.resolved_town, r.received_at, "
      "r.accepted_at, "
      "(SELECT COUNT(*) FROM deliveries d WHERE d.referral_id = r.referral_id AND d.kind = ",
      int64_t{v1::REFERRAL}, "), "
      "(SELECT COUNT(*) FROM deliveries d WHERE d.referral_id = r.referral_id AND d.state = ",
      int64_t{v1::ACKNOWLEDGED}, "), "
      "(SELECT COUNT(*) FROM deliveries d WHERE d.referral_id = r.referral_id AND ",
      overdue_clause, "), "
      "(SELECT COUNT(*) FROM deliveries d WHERE d.referral_id = r.referral_id AND d.state = ",
      int64_t{v1::DEAD}, " AND d.redelivered_as = ''), "
      "(SELECT COUNT(*) FROM deliveries d WHERE d.referral_id = r.referral_id AND d.state = ",
      int64_t{v1::DECLINED}, " AND d.redelivered_as = ''), "
      "(SELECT MIN(d.ack_deadline) FROM deliveries d WHERE d.referral_id = r.referral_id AND "
      "d.kind = ", int64_t{v1::REFERRAL}, " AND d.state != ", int64_t{v1::ACKNOWLEDGED},
      " AND d.redelivered_as = '') "
      "FROM referrals r WHERE ", where, " ORDER BY r.accepted_at DESC, r.referral_id DESC LIMIT ?");
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sql));
  int i = 1;
  // The overdue count in the select list comes first in the text.
  stmt->Bind(i++, now);
  stmt->Bind(i++, now);
  for (auto& bind : binds) bind(*stmt, i);
  stmt->Bind(i++, static_cast<int64_t>(q.limit));
  std::vector<ReferralSummaryRecord> out;
  for (;;) {
    HART_ASSIGN_OR_RETURN(row, stmt->Step());
    if (!row) break;
    ReferralSummaryRecord r;
    r.referral_id = stmt->Text(0);
    r.careline_report_id = stmt->Text(1);
    r.priority = static_cast<v1::Priority>(stmt->Int(2));
    r.resolved_town = stmt->Text(3);
    r.received_at = absl::FromUnixMicros(stmt->Int(4));
    r.accepted_at = absl::FromUnixMicros(stmt->Int(5));
    r.deliveries = static_cast<uint32_t>(stmt->Int(6));
    r.acknowledged = static_cast<uint32_t>(stmt->Int(7));
    r.overdue = static_cast<uint32_t>(stmt->Int(8));
    r.dead = static_cast<uint32_t>(stmt->Int(9));
    r.declined = static_cast<uint32_t>(stmt->Int(10));
    if (!stmt->IsNull(11)) r.next_deadline = absl::FromUnixMicros(stmt->Int(11));
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<SealResult> SqliteStore::SealReferral(const SealWrite& w) {
  SealResult result;
  absl::Status status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    result = {};
    const int64_t at = absl::ToUnixMicros(w.at);
    HART_ASSIGN_OR_RETURN(mark, db.Prepare(
        "UPDATE referrals SET sealed_at = ?, intake = x'' WHERE referral_id = ? "
        "AND sealed_at IS NULL"));
    mark->Bind(1, at).Bind(2, w.referral_id);
    HART_RETURN_IF_ERROR(mark->Run());
    if (db.Changes() != 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("referral ", w.referral_id, " is unknown or already sealed"));
    }
    // Destroying the wrapped data key is what makes the PII unrecoverable,
    // including any copy of the ciphertext in backups or the WAL.
    HART_ASSIGN_OR_RETURN(destroy, db.Prepare(
        "UPDATE referral_keys SET wrapped = NULL, destroyed_at = ? WHERE referral_id = ?"));
    destroy->Bind(1, at).Bind(2, w.referral_id);
    HART_RETURN_IF_ERROR(destroy->Run());
    HART_ASSIGN_OR_RETURN(notes, db.Prepare(
        "UPDATE acks SET note = x'' WHERE delivery_id IN "
        "(SELECT delivery_id FROM deliveries WHERE referral_id = ?)"));
    notes->Bind(1, w.referral_id);
    HART_RETURN_IF_ERROR(notes->Run());
    // Deliveries that never left stop here.
    HART_ASSIGN_OR_RETURN(stop, db.Prepare(
        "UPDATE deliveries SET state = ?, lease_until = NULL WHERE referral_id = ? "
        "AND (state = ? OR (state = ? AND transport_ref = ''))"));
    stop->Bind(1, int64_t{v1::SEALED}).Bind(2, w.referral_id).Bind(3, int64_t{v1::PENDING})
        .Bind(4, int64_t{v1::IN_FLIGHT});
    HART_RETURN_IF_ERROR(stop->Run());
    result.stopped_deliveries = static_cast<uint32_t>(db.Changes());
    HART_ASSIGN_OR_RETURN(timers, db.Prepare(
        "UPDATE timers SET state = ?, finished_at = ?, lease_until = NULL "
        "WHERE referral_id = ? AND state = ?"));
    timers->Bind(1, kTimerReplaced).Bind(2, at).Bind(3, w.referral_id).Bind(4, kTimerPending);
    HART_RETURN_IF_ERROR(timers->Run());
    for (const DeliveryRecord& d : w.notices) HART_RETURN_IF_ERROR(InsertDelivery(db, d));
    for (const AuditEvent& e : w.audit) HART_RETURN_IF_ERROR(InsertAudit(db, e).status());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  absl::MutexLock lock(&dek_mu_);
  dek_cache_.erase(w.referral_id);
  return result;
}

absl::StatusOr<size_t> SqliteStore::RewrapDataKeys() {
  size_t rewrapped = 0;
  const std::string active = keys_->active_key_id();
  for (;;) {
    // Batches keep each transaction short: the broker keeps serving.
    size_t in_batch = 0;
    absl::Status status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
      in_batch = 0;
      HART_ASSIGN_OR_RETURN(old, db.Prepare(
          "SELECT referral_id, key_id, wrapped FROM referral_keys WHERE key_id != ? "
          "AND wrapped IS NOT NULL LIMIT 256"));
      old->Bind(1, active);
      std::vector<std::tuple<std::string, std::string, std::string>> rows;
      for (;;) {
        HART_ASSIGN_OR_RETURN(row, old->Step());
        if (!row) break;
        rows.emplace_back(old->Text(0), old->Text(1), old->Text(2));
      }
      old.reset();
      for (const auto& [referral_id, key_id, wrapped] : rows) {
        HART_ASSIGN_OR_RETURN(fresh, keys_->Rewrap({key_id, wrapped}, "dek:" + referral_id));
        HART_ASSIGN_OR_RETURN(update, db.Prepare(
            "UPDATE referral_keys SET key_id = ?, wrapped = ? WHERE referral_id = ?"));
        update->Bind(1, fresh.key_id).BindBlob(2, fresh.wrapped).Bind(3, referral_id);
        HART_RETURN_IF_ERROR(update->Run());
      }
      in_batch = rows.size();
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    rewrapped += in_batch;
    if (in_batch == 0) return rewrapped;
  }
}

}  // namespace hart
