// Every read of the SQLite backend keeps a plan that touches only the rows
// it asks for as the store grows (issue 15, point 7): EXPLAIN QUERY PLAN of
// the exact statement text the store prepares (sqlite_read_sql.h), against a
// database migrated to the current schema, must use the intended index and
// never scan a table that grows with history. SQLite has no statistics
// here, as in production (nothing runs ANALYZE), so the plan on an empty
// database is the plan on a full one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "broker/store/sqlite/sqlite_db.h"
#include "broker/store/sqlite/sqlite_read_sql.h"
#include "broker/store/sqlite/sqlite_schema.h"
#include "tests/support/test_support.h"

namespace hart::sqlite {
namespace {

// Tables and their aliases in the store's SQL that grow with every referral.
bool IsLargeTable(const std::string& name) {
  static const char* const kLarge[] = {
      "referrals", "r",          "deliveries", "d",       "timers",
      "audit_events", "acks",    "feed_events", "f",      "escalation_events",
      "referral_keys", "k",      "supplements", "audit_subtrees"};
  for (const char* large : kLarge) {
    if (name == large) return true;
  }
  return false;
}

struct Expectation {
  // Each must appear in some line of the plan.
  std::vector<std::string> uses;
  // A walk of a whole index in its order, stopped by LIMIT, is what a
  // newest-first page is; anything else reading all of a large table fails.
  bool ordered_index_walk = false;
  // A sort of the rows found (never of a whole table: that is a SCAN).
  bool sorts = false;
  // Must not appear anywhere in the plan.
  std::vector<std::string> never;
};

class SqliteQueryPlanTest : public ::testing::Test {
 protected:
  SqliteQueryPlanTest() {
    auto db = SqliteDb::Open(dir_.path() + "/hart.db", /*read_only=*/false);
    EXPECT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    const absl::Status migrated = ApplySchema(*db_);
    EXPECT_TRUE(migrated.ok()) << migrated;
  }

  std::vector<std::string> Plan(const std::string& sql) {
    auto stmt = db_->Prepare("EXPLAIN QUERY PLAN " + sql);
    EXPECT_TRUE(stmt.ok()) << stmt.status() << "\n" << sql;
    if (!stmt.ok()) return {};
    auto lines = CollectRows(**stmt, [](const Statement& s) { return s.Text(3); });
    EXPECT_TRUE(lines.ok()) << lines.status();
    return lines.ok() ? *lines : std::vector<std::string>{};
  }

  void ExpectPlan(const std::string& name, const std::string& sql, const Expectation& e) {
    const std::vector<std::string> plan = Plan(sql);
    const std::string shown = absl::StrCat(name, "\n  ", absl::StrJoin(plan, "\n  "));
    ASSERT_FALSE(plan.empty()) << shown;
    for (const std::string& wanted : e.uses) {
      EXPECT_TRUE(std::any_of(plan.begin(), plan.end(), [&](const std::string& line) {
        return line.find(wanted) != std::string::npos;
      })) << "expected " << wanted << " in " << shown;
    }
    static const std::regex kScan(R"(^SCAN (\w+)(.*)$)");
    for (const std::string& line : plan) {
      std::smatch m;
      if (std::regex_match(line, m, kScan) && IsLargeTable(m[1].str())) {
        const bool index_walk = m[2].str().find("USING") != std::string::npos;
        EXPECT_TRUE(e.ordered_index_walk && index_walk) << "full scan in " << shown;
      }
      if (!e.sorts) {
        EXPECT_EQ(line.find("TEMP B-TREE"), std::string::npos) << "sort in " << shown;
      }
      for (const std::string& bad : e.never) {
        EXPECT_EQ(line.find(bad), std::string::npos) << bad << " in " << shown;
      }
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<SqliteDb> db_;
};

TEST_F(SqliteQueryPlanTest, ReferralAndSupplementReadsSeekTheirKey) {
  ExpectPlan("GetReferral", read_sql::GetReferral(),
             {.uses = {"sqlite_autoindex_referrals_1 (referral_id=?)"}});
  ExpectPlan("FindReferralId", read_sql::FindReferralId(),
             {.uses = {"sqlite_autoindex_referrals_2 (careline_report_id=?)"}});
  ExpectPlan("ReferralByCarelineId", read_sql::ReferralByCarelineId(),
             {.uses = {"sqlite_autoindex_referrals_2 (careline_report_id=?)"}});
  ExpectPlan("ReferralExists", read_sql::ReferralExists(),
             {.uses = {"sqlite_autoindex_referrals_1 (referral_id=?)"}});
  ExpectPlan("FindSupplement", read_sql::FindSupplement(),
             {.uses = {"sqlite_autoindex_supplements_1 (supplement_id=?)"}});
  // Sorted: only the referral's own few supplements.
  ExpectPlan("ListSupplements", read_sql::ListSupplements(),
             {.uses = {"supplements_by_referral (referral_id=?)"}, .sorts = true});
  ExpectPlan("LegacyIntakes", read_sql::LegacyIntakes(),
             {.uses = {"SCAN l", "sqlite_autoindex_referrals_1 (referral_id=?)"}});
}

TEST_F(SqliteQueryPlanTest, DeliveryTimerAndEscalationReadsStayOnTheirOwnRows) {
  ExpectPlan("DeliveriesOfReferral", read_sql::DeliveriesOfReferral(),
             {.uses = {"deliveries_by_referral (referral_id=?)"}});
  ExpectPlan("DeliveriesWithAcksOfReferral", read_sql::DeliveriesWithAcksOfReferral(),
             {.uses = {"deliveries_by_referral (referral_id=?)"}});
  ExpectPlan("StoredAcksOfReferral", read_sql::StoredAcksOfReferral(),
             {.uses = {"deliveries_by_referral (referral_id=?)"}});
  ExpectPlan("AcksOfDelivery", read_sql::AcksOfDelivery(),
             {.uses = {"acks_by_delivery (delivery_id=?)"}});
  ExpectPlan("GetDelivery", read_sql::GetDelivery(),
             {.uses = {"sqlite_autoindex_deliveries_1 (delivery_id=?)"}});
  ExpectPlan("DeliveryExists", read_sql::DeliveryExists(),
             {.uses = {"sqlite_autoindex_deliveries_1 (delivery_id=?)"}});
  // The query of issue 15: SQLite chose timers_due (state=?), every pending
  // timer of every referral.
  ExpectPlan("PendingTimers", read_sql::PendingTimers(),
             {.uses = {"timers_by_referral_state (referral_id=? AND state=?)"},
              .never = {"timers_due"}});
  ExpectPlan("PendingLadderStarts", read_sql::PendingLadderStarts(),
             {.uses = {"deliveries_by_referral (referral_id=?)"}});
  ExpectPlan("TimerState", read_sql::TimerState(),
             {.uses = {"sqlite_autoindex_timers_1 (timer_id=?)"}});
  ExpectPlan("ReadEscalations", read_sql::ReadEscalations(),
             {.uses = {"INTEGER PRIMARY KEY (rowid>?)"}});
  ExpectPlan("EscalationsOf", read_sql::EscalationsOf(),
             {.uses = {"escalations_by_delivery (delivery_id=?)"}});
}

TEST_F(SqliteQueryPlanTest, ClaimsOfDueWorkReadOnlyDueRows) {
  ExpectPlan("DueDeliveries", read_sql::DueDeliveries(),
             {.uses = {"deliveries_due (next_attempt_at<?)"}});
  // The URGENT ones, held agency or not: a range of an index of them alone.
  ExpectPlan("UrgentDueDeliveries", read_sql::UrgentDueDeliveries(),
             {.uses = {"deliveries_urgent_due (next_attempt_at<?)"}});
  ExpectPlan("ExpiredUnsentClaims", read_sql::ExpiredUnsentClaims(),
             {.uses = {"deliveries_unsent_claims (lease_until<?)"}});
  // While an agency is held: one probe per agency, then each unheld
  // agency's due range, never the deliveries the agency was ever sent.
  ExpectPlan("PendingByAgency", read_sql::PendingByAgency(),
             {.uses = {"deliveries_pending_by_agency (agency_id>?)",
                       "deliveries_pending_by_agency (agency_id=?)"}});
  ExpectPlan("DueDeliveriesOfAgency", read_sql::DueDeliveriesOfAgency(),
             {.uses = {"deliveries_pending_by_agency (agency_id=? AND next_attempt_at<?)"}});
  ExpectPlan("DeliveryByRowid", read_sql::DeliveryByRowid(),
             {.uses = {"USING INTEGER PRIMARY KEY (rowid=?)"}});
  ExpectPlan("DueTimers", read_sql::DueTimers(),
             {.uses = {"timers_pending_due (due_at<?)"}});
  ExpectPlan("DueLadderStarts", read_sql::DueLadderStarts(),
             {.uses = {"deliveries_ladder_due (ladder_due_at>? AND ladder_due_at<?)"}});
  ExpectPlan("TriggerLadder", read_sql::TriggerLadder(),
             {.uses = {"timers_by_delivery (delivery_id=?)"}, .never = {"timers_due"}});
  // Walks of partial indexes holding only open claims.
  ExpectPlan("ReleaseDeliveryClaims", read_sql::ReleaseDeliveryClaims(),
             {.uses = {"deliveries_unsent_claims"}, .ordered_index_walk = true,
              .never = {"deliveries_due"}});
  ExpectPlan("ReleaseTimerClaims", read_sql::ReleaseTimerClaims(),
             {.uses = {"timers_leased"}, .ordered_index_walk = true, .never = {"timers_due"}});
  ExpectPlan("NextDueTime", read_sql::NextDueTime(),
             {.uses = {"deliveries_due", "deliveries_unsent_claims",
                       "timers_pending_due", "timers_leased", "deliveries_ladder_due"}});
  ExpectPlan("NextDueTimeOfUrgentClaimsAndTimers",
             read_sql::NextDueTimeOfUrgentClaimsAndTimers(),
             {.uses = {"deliveries_urgent_due", "deliveries_unsent_claims", "timers_pending_due",
                       "timers_leased", "deliveries_ladder_due"},
              .never = {"deliveries_due"}});
}

TEST_F(SqliteQueryPlanTest, FeedReadsSeekTheAgencysSequence) {
  for (const auto& [name, sql] :
       {std::pair{"ReadFeed", read_sql::ReadFeed()},
        std::pair{"ReadUnreceivedFeed", read_sql::ReadUnreceivedFeed()}}) {
    ExpectPlan(name, sql,
               {.uses = {"SEARCH f USING PRIMARY KEY (agency_id=? AND sequence>?",
                         "sqlite_autoindex_deliveries_1 (delivery_id=?)",
                         "sqlite_autoindex_referrals_1 (referral_id=?)"}});
  }
  ExpectPlan("FeedHead", read_sql::FeedHead(),
             {.uses = {"sqlite_autoindex_feed_heads_1 (agency_id=?)"}});
  ExpectPlan("FeedEventOfDelivery", read_sql::FeedEventOfDelivery(),
             {.uses = {"sqlite_autoindex_feed_events_1 (delivery_id=?)"}});
}

TEST_F(SqliteQueryPlanTest, AuditReadsUseTheIndexOfTheirFilter) {
  ExpectPlan("ListAuditEvents()", read_sql::ListAuditEvents({}),
             {.uses = {"INTEGER PRIMARY KEY (rowid>?)"}});
  // A delivery's events: two ranges (under its referral, and under none) of
  // audit_by_referral, merged by a sort of the rows found.
  ExpectPlan("ListAuditEvents(delivery)", read_sql::ListAuditEvents({.delivery_id = "dlv"}),
             {.uses = {"audit_by_referral (referral_id=? AND delivery_id=? AND rowid>?)",
                       "sqlite_autoindex_deliveries_1 (delivery_id=?)"},
              .sorts = true});
  // A referral's events (tens, a few hundred in a long life) are sorted.
  ExpectPlan("ListAuditEvents(referral)", read_sql::ListAuditEvents({.referral_id = "ref"}),
             {.uses = {"audit_by_referral (referral_id=?)"}, .sorts = true});
  ExpectPlan("ListAuditEvents(actor)", read_sql::ListAuditEvents({.actor = "someone"}),
             {.uses = {"audit_by_actor (actor=? AND rowid>?)"}});
  // The broker's own events are not in audit_by_actor: in index order.
  ExpectPlan("ListAuditEvents(broker)", read_sql::ListAuditEvents({.actor = kBrokerActor}),
             {.uses = {"INTEGER PRIMARY KEY (rowid>?)"}, .never = {"audit_by_actor"}});
  ExpectPlan("ListAuditEvents(all filters)",
             read_sql::ListAuditEvents({.referral_id = "ref", .delivery_id = "dlv",
                                        .actor = "someone", .from = absl::UnixEpoch(),
                                        .to = absl::UnixEpoch() + absl::Hours(1)}),
             {.uses = {"audit_by_referral (referral_id=? AND delivery_id=? AND rowid>?)"}});
  ExpectPlan("AuditLeafHash", read_sql::AuditLeafHash(),
             {.uses = {"INTEGER PRIMARY KEY (rowid=?)"}});
  ExpectPlan("AuditSubtreeHash", read_sql::AuditSubtreeHash(),
             {.uses = {"PRIMARY KEY (leaf_end=? AND height=?)"}});
  // Every checkpoint, by design (one per signing interval, not per referral).
  ExpectPlan("ListCheckpoints", read_sql::ListCheckpoints(), {.uses = {"audit_checkpoints"}});
}

TEST_F(SqliteQueryPlanTest, ListReferralsWalksNewestFirstAndCountsOwnDeliveries) {
  const absl::Time t = absl::FromUnixSeconds(1767225600);
  const std::vector<std::pair<std::string, ReferralQuery>> queries = {
      {"no filter", {}},
      {"states", {.states = {v1::PENDING, v1::DEAD}}},
      {"overdue", {.overdue_at = t}},
      {"towns", {.towns = {"Hartford", "New Haven"}}},
      {"rule", {.rule_id = "missing-72h"}},
      {"agency", {.agency_id = "hartford-pd"}},
      {"received", {.received_from = t, .received_to = t + absl::Hours(24)}},
      {"next page", {.before = std::pair{t, std::string("ref_x")}}},
      {"everything",
       {.states = {v1::IN_FLIGHT}, .overdue_at = t, .towns = {"Hartford"},
        .rule_id = "missing-72h", .agency_id = "hartford-pd", .received_from = t,
        .received_to = t + absl::Hours(24), .before = std::pair{t, std::string("ref_x")}}},
  };
  for (const auto& [name, query] : queries) {
    const auto built = read_sql::ListReferrals(query, absl::ToUnixMicros(t));
    ExpectPlan("ListReferrals " + name, built.sql,
               {.uses = {"referrals_by_accepted", "deliveries_by_referral (referral_id=?)"},
                .ordered_index_walk = true,
                .never = {"deliveries_due", "referrals_by_received"}});
    // Every placeholder has its value.
    EXPECT_EQ(static_cast<size_t>(std::count(built.sql.begin(), built.sql.end(), '?')),
              built.params.size())
        << name;
  }
  // With a cursor the walk starts at it rather than at the newest referral.
  ExpectPlan("ListReferrals cursor",
             read_sql::ListReferrals({.before = std::pair{t, std::string("ref_x")}}, 0).sql,
             {.uses = {"SEARCH r USING INDEX referrals_by_accepted ((accepted_at,referral_id)<"}});
}

TEST_F(SqliteQueryPlanTest, ReportKeyAndOpsReadsUseTheirIndexes) {
  ExpectPlan("ReportPage", read_sql::ReportPage(),
             {.uses = {"SEARCH r USING INDEX referrals_by_received ((received_at,referral_id)>",
                       "sqlite_autoindex_referral_keys_1 (referral_id=?)"}});
  ExpectPlan("ReadDataKey", read_sql::ReadDataKey(),
             {.uses = {"sqlite_autoindex_referral_keys_1 (referral_id=?)"}});
  ExpectPlan("DataKeysNotWrappedBy", read_sql::DataKeysNotWrappedBy(),
             {.uses = {"referral_keys_wrapped_by_key (key_id<?)",
                       "referral_keys_wrapped_by_key (key_id>?)"}});
  ExpectPlan("OpsDeliveryCounts", read_sql::OpsDeliveryCounts(), {.uses = {"delivery_counts"}});
  // Counting the open or dead rows found through a partial index.
  ExpectPlan("OpsOverdueByKind", read_sql::OpsOverdueByKind(),
             {.uses = {"deliveries_open_referrals"}, .ordered_index_walk = true, .sorts = true});
  ExpectPlan("OpsDeadLettersByKind", read_sql::OpsDeadLettersByKind(),
             {.uses = {"deliveries_dead_letters"}, .ordered_index_walk = true});
  ExpectPlan("OpsSummary", read_sql::OpsSummary(),
             {.uses = {"deliveries_undelivered", "audit_events"}});
}

}  // namespace
}  // namespace hart::sqlite
