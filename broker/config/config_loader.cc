#include "broker/config/config_loader.h"

#include <filesystem>
#include <ios>
#include <set>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/acks/escalation_ladders.h"
#include "broker/common/listen_address.h"
#include "broker/common/time_util.h"
#include "broker/config/config_source_map.h"
#include "broker/config/ops_options.h"
#include "broker/config/postgres_options.h"
#include "broker/config/yaml_to_proto.h"
#include "broker/config/yaml_tree_bounds.h"
#include "broker/routing/geography.h"
#include "google/protobuf/util/field_mask_util.h"
#include "hart/referral/v1/intake.pb.h"
#include "yaml-cpp/depthguard.h"  // YAML::DeepRecursion

namespace hart {

namespace v1 = ::hart::referral::v1;
namespace cfg = ::hart::config::v1;

namespace {

// The backends broker/store/store_factory.cc opens (config_test holds the
// two lists together).
constexpr const char* kStoreBackends[] = {"sqlite", "postgres"};

// store.backend and store.broker_id: checked before the defaults apply,
// since both decide which other settings matter.
void CheckStoreBackend(const cfg::StoreOptions& store, std::vector<std::string>* problems) {
  bool known = false;
  for (const char* b : kStoreBackends) known = known || store.backend() == b;
  if (!store.backend().empty() && !known) {
    problems->push_back(absl::StrCat("store.backend: '", store.backend(), "' is not one of: ",
                                     absl::StrJoin(kStoreBackends, ", ")));
  }
  const std::string& id = store.broker_id();
  if (id.empty()) return;  // the default, or (postgres) reported by its checks
  bool ok = id.size() <= 64;
  for (char c : id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.');
  }
  if (!ok) {
    problems->push_back("store.broker_id: use 1-64 lowercase letters, digits, '-' or '.'");
  }
}

// Every problem named with the file, line and column it is about.
absl::Status ConfigProblems(const std::string& path, const ConfigSourceMap& sources,
                            const std::vector<std::string>& problems) {
  std::vector<std::string> located;
  located.reserve(problems.size());
  for (const auto& problem : problems) located.push_back(sources.Locate(path, problem));
  if (located.size() == 1) return absl::InvalidArgumentError(located.front());
  return absl::InvalidArgumentError(absl::StrCat(problems.size(), " problems in ", path, ":\n  ",
                                                 absl::StrJoin(located, "\n  ")));
}

struct ParsedConfig {
  cfg::BrokerConfig config;
  ConfigSourceMap sources;
};

absl::StatusOr<ParsedConfig> Parse(const std::string& path) {
  // yaml-cpp opens a directory and then throws the standard library's
  // read error, which nothing above would catch.
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("config file ", path, " is a directory; name the YAML file in it"));
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return absl::NotFoundError(absl::StrCat("cannot read config file ", path));
  } catch (const std::ios_base::failure&) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read config file ", path));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp 0.7 gives this one the message "bad file".
    return absl::InvalidArgumentError(absl::StrCat(path, ":", e.mark.line + 1, ":",
                                                   e.mark.column + 1,
                                                   ": nested too deeply for the YAML parser"));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  if (absl::Status bounded = CheckYamlTreeBounds(root); !bounded.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", bounded.message()));
  }
  ParsedConfig parsed;
  std::vector<std::string> problems;
  try {
    parsed.sources = ConfigSourceMap::Of(root);
    YamlToProto(root, &parsed.config, &problems);
  } catch (const YAML::Exception& e) {
    // A backstop: the mapper checks node kinds before converting.
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  CheckStoreBackend(parsed.config.store(), &problems);
  if (!problems.empty()) return ConfigProblems(path, parsed.sources, problems);
  return parsed;
}

}  // namespace

absl::StatusOr<cfg::BrokerConfig> ParseConfigFile(const std::string& path) {
  auto parsed = Parse(path);
  if (!parsed.ok()) return parsed.status();
  return std::move(parsed->config);
}

void ApplyConfigDefaults(cfg::BrokerConfig* config) {
  auto* server = config->mutable_server();
  if (server->listen_address().empty()) server->set_listen_address("127.0.0.1:7443");
  if (server->max_receive_message_bytes() == 0) {
    server->set_max_receive_message_bytes(2 << 20);
  }
  if (server->max_send_message_bytes() == 0) server->set_max_send_message_bytes(4 << 20);
  if (server->max_concurrent_streams() == 0) server->set_max_concurrent_streams(100);
  if (server->max_metadata_bytes() == 0) server->set_max_metadata_bytes(16 << 10);
  if (!server->has_handshake_timeout()) server->mutable_handshake_timeout()->set_seconds(10);
  if (!server->has_min_ping_interval()) server->mutable_min_ping_interval()->set_seconds(60);
  if (server->max_ping_strikes() == 0) server->set_max_ping_strikes(2);
  if (server->rate_limit_per_second() == 0) server->set_rate_limit_per_second(200);
  if (server->rate_limit_burst() == 0) server->set_rate_limit_burst(400);
  if (server->max_streams_per_identity() == 0) server->set_max_streams_per_identity(8);
  if (!server->has_require_deadlines()) server->set_require_deadlines(true);
  if (!server->has_certificate_refresh_interval()) {
    server->mutable_certificate_refresh_interval()->set_seconds(60);
  }
  ApplyOpsDefaults(server->mutable_ops());
  auto* store = config->mutable_store();
  if (store->backend().empty()) store->set_backend("sqlite");
  // Replicas sharing a database must each name themselves: no default there.
  if (store->broker_id().empty() && store->backend() != "postgres") {
    store->set_broker_id("broker");
  }
  if (store->max_group_commit() == 0) store->set_max_group_commit(256);
  if (store->executor_threads() == 0) store->set_executor_threads(4);
  if (store->executor_queue_limit() == 0) store->set_executor_queue_limit(4096);
  if (store->backend() == "postgres") ApplyPostgresDefaults(store->mutable_postgres());
  // 20 ms: at three replicas and 200 intakes a second, delivered p99 16
  // against 24 ms at 5 ms (README, performance).
  if (!store->has_ack_linger() && store->backend() == "postgres") {
    *store->mutable_ack_linger() = ToProtoDuration(absl::Milliseconds(20));
  }
  auto* dispatch = config->mutable_dispatch();
  if (dispatch->max_attempts() == 0) dispatch->set_max_attempts(8);
  if (!dispatch->has_initial_backoff()) dispatch->mutable_initial_backoff()->set_seconds(2);
  if (!dispatch->has_max_backoff()) dispatch->mutable_max_backoff()->set_seconds(300);
  if (!dispatch->has_claim_lease()) dispatch->mutable_claim_lease()->set_seconds(60);
  if (dispatch->claim_batch() == 0) dispatch->set_claim_batch(256);
  if (!dispatch->has_max_retry_duration()) {
    dispatch->mutable_max_retry_duration()->set_seconds(24 * 3600);
  }
  auto* audit = config->mutable_audit();
  if (!audit->has_checkpoint_interval()) audit->mutable_checkpoint_interval()->set_seconds(60);
  if (audit->signing_key_file().empty()) audit->set_signing_key_file("audit-signing.key");
  auto* feed = config->mutable_feed();
  if (!feed->has_heartbeat_interval()) feed->mutable_heartbeat_interval()->set_seconds(15);
  if (feed->page_size() == 0) feed->set_page_size(64);
}

namespace {

bool IsWellFormedId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

void ValidateRules(const cfg::BrokerConfig& config, const Geography& geo,
                   std::vector<std::string>* problems) {
  std::set<std::string> rule_ids;
  for (int i = 0; i < config.rules_size(); ++i) {
    const auto& rule = config.rules(i);
    const std::string where = absl::StrCat("rules[", i, "] (rule '", rule.id(), "')");
    if (!IsWellFormedId(rule.id())) {
      problems->push_back(absl::StrCat(where, ": id must be lowercase letters, digits and '-'"));
    }
    if (!rule_ids.insert(rule.id()).second) {
      problems->push_back(absl::StrCat(where, ": id is used twice"));
    }
    if (!rule.has_when()) {
      problems->push_back(absl::StrCat(where, ": has no 'when' condition"));
    }
    if (rule.destinations().empty()) {
      problems->push_back(absl::StrCat(where, ": has no destinations"));
    }
    for (int j = 0; j < rule.destinations_size(); ++j) {
      const auto& dest = rule.destinations(j);
      const std::string dwhere =
          absl::StrCat("rules[", i, "].destinations[", j, "] (rule '", rule.id(), "')");
      if (!dest.agency().empty()) {
        if (geo.FindAgency(dest.agency()) == nullptr) {
          problems->push_back(absl::StrCat(dwhere, ": agency '", dest.agency(),
                                           "' is not defined"));
        }
      } else if (dest.kind() == v1::AGENCY_KIND_UNSPECIFIED) {
        problems->push_back(absl::StrCat(dwhere, ": needs a kind or an agency"));
      } else {
        for (const cfg::Town* town : geo.towns()) {
          auto agency = geo.AgencyFor(dest.kind(), *town);
          if (!agency.ok()) {
            problems->push_back(absl::StrCat(dwhere, ": ", agency.status().message()));
          }
        }
      }
      if (!dest.has_ack_deadline_normal() || !dest.has_ack_deadline_urgent()) {
        problems->push_back(absl::StrCat(
            dwhere, ": needs ack_deadline_normal and ack_deadline_urgent"));
      }
    }
  }
}

// Bounds that catch a typo (an extra zero) before it costs threads or memory.
constexpr uint32_t kMaxStoreExecutorThreads = 64;
constexpr uint32_t kMaxStoreExecutorQueue = 1u << 20;

void ValidateStoreOptions(const cfg::StoreOptions& store, std::vector<std::string>* problems) {
  if (store.executor_threads() > kMaxStoreExecutorThreads) {
    problems->push_back(absl::StrCat("store.executor_threads: ", store.executor_threads(),
                                     " is too many; use 1 to ", kMaxStoreExecutorThreads,
                                     " (default 4)"));
  }
  if (store.executor_queue_limit() > kMaxStoreExecutorQueue) {
    problems->push_back(absl::StrCat("store.executor_queue_limit: ", store.executor_queue_limit(),
                                     " is too large; use 1 to ", kMaxStoreExecutorQueue,
                                     " (default 4096)"));
  }
  if (store.has_ack_linger()) {
    const absl::Duration linger = FromProtoDuration(store.ack_linger());
    if (linger < absl::ZeroDuration() || linger > absl::Seconds(1)) {
      problems->push_back(absl::StrCat("store.ack_linger: ", absl::FormatDuration(linger),
                                       " is out of range; use 0s to 1s (default 5ms on "
                                       "postgres, 0s on sqlite)"));
    }
  }
  ValidatePostgresOptions(store, problems);
}

// A claim that ends at once is retaken by every pass: each delivery would be
// sent again and again, or (the guard does not send a claim that ran out)
// never.
void ValidateDispatchOptions(const cfg::DispatchOptions& dispatch,
                             std::vector<std::string>* problems) {
  const absl::Duration lease = FromProtoDuration(dispatch.claim_lease());
  if (lease <= absl::ZeroDuration()) {
    const std::string shown = lease == absl::ZeroDuration() ? "0s" : absl::FormatDuration(lease);
    problems->push_back(absl::StrCat(
        "dispatch.claim_lease: ", shown,
        " must be positive: how long a claimed delivery is this dispatcher's alone (default 60s)"));
  }
}

void ValidateFieldViews(const cfg::BrokerConfig& config,
                        std::vector<std::string>* problems) {
  std::set<int> kinds;
  for (int i = 0; i < config.field_views_size(); ++i) {
    const auto& view = config.field_views(i);
    if (!kinds.insert(view.kind()).second) {
      problems->push_back(absl::StrCat("field_views[", i, "]: kind ",
                                       v1::AgencyKind_Name(view.kind()),
                                       " has two views"));
    }
    for (const auto& path : view.include()) {
      google::protobuf::FieldMask mask;
      mask.add_paths(path);
      if (!google::protobuf::util::FieldMaskUtil::IsValidFieldMask<v1::Intake>(mask)) {
        problems->push_back(absl::StrCat("field_views[", i, "]: '", path,
                                         "' is not a field of the intake"));
      }
    }
  }
  for (const auto& agency : config.agencies()) {
    if (!kinds.count(agency.kind())) {
      problems->push_back(absl::StrCat("agency kind ", v1::AgencyKind_Name(agency.kind()),
                                       " (agency '", agency.id(),
                                       "') has no field view"));
      kinds.insert(agency.kind());  // report each kind once
    }
  }
}

}  // namespace

std::vector<std::string> ValidateConfig(const cfg::BrokerConfig& config,
                                        const AdapterRegistry& registry) {
  std::vector<std::string> problems;
  const Geography geo = Geography::Build(config, &problems);
  for (const auto& agency : config.agencies()) {
    const std::string where = absl::StrCat("agency '", agency.id(), "'");
    if (!IsWellFormedId(agency.id())) {
      problems.push_back(absl::StrCat(where, ": id must be lowercase letters, digits and '-'"));
    }
    if (agency.kind() == v1::AGENCY_KIND_UNSPECIFIED) {
      problems.push_back(absl::StrCat(where, ": has no kind"));
    }
    const AdapterFactory* factory = registry.Find(agency.adapter().type());
    if (factory == nullptr) {
      problems.push_back(absl::StrCat(where, ": adapter type '", agency.adapter().type(),
                                      "' is not one of: ",
                                      absl::StrJoin(registry.Types(), ", ")));
    } else if (auto status = factory->ValidateSettings(agency.adapter().settings());
               !status.ok()) {
      problems.push_back(absl::StrCat(where, ": adapter settings: ", status.message()));
    }
  }
  if (config.towns().empty()) problems.push_back("no towns are configured");
  if (config.rules().empty()) problems.push_back("no rules are configured");
  ValidateRules(config, geo, &problems);
  ValidateFieldViews(config, &problems);
  ValidateStoreOptions(config.store(), &problems);
  ValidateDispatchOptions(config.dispatch(), &problems);
  if (auto address = ParseListenAddress(config.server().listen_address()); !address.ok()) {
    problems.push_back(
        absl::StrCat("server.listen_address: ", address.status().message()));
  }
  ValidateOpsOptions(config.server().ops(), &problems);
  for (auto& p : EscalationLadders::Validate(config, geo)) problems.push_back(std::move(p));
  return problems;
}

absl::StatusOr<cfg::BrokerConfig> LoadConfig(const std::string& path,
                                             const AdapterRegistry& registry) {
  auto parsed = Parse(path);
  if (!parsed.ok()) return parsed.status();
  ApplyConfigDefaults(&parsed->config);
  const auto problems = ValidateConfig(parsed->config, registry);
  if (!problems.empty()) return ConfigProblems(path, parsed->sources, problems);
  return std::move(parsed->config);
}

}  // namespace hart
