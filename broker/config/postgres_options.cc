#include "broker/config/postgres_options.h"

#include <libpq-fe.h>

#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "broker/common/secret_file.h"

namespace hart {
namespace {

namespace cfg = ::hart::config::v1;

constexpr uint32_t kMaxPoolSize = 256;
const std::set<std::string> kSslModes = {"disable", "require", "verify-ca", "verify-full"};
// Keywords store.postgres sets itself, or that must never be in the config.
const std::set<std::string> kReservedKeywords = {"password", "sslmode", "sslrootcert"};

std::string UnderKeyDir(const std::string& path, const std::string& key_dir) {
  if (path.empty() || path.front() == '/') return path;
  return absl::StrCat(key_dir, "/", path);
}

}  // namespace

void ValidatePostgresOptions(const cfg::StoreOptions& store, std::vector<std::string>* problems) {
  if (store.backend() != "postgres") return;
  const cfg::PostgresOptions& pg = store.postgres();
  if (store.broker_id().empty()) {
    // A shared default would let one replica release another's live claims
    // at start and let both hold the leader lease.
    problems->push_back(
        "store.broker_id: required with store.backend postgres, and unique per replica "
        "(e.g. its host name)");
  }
  if (pg.conninfo().empty()) {
    problems->push_back(
        "store.postgres.conninfo: required when store.backend is postgres, e.g. "
        "\"host=db.example port=5432 dbname=hart user=hart\"");
  } else {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> options(
        PQconninfoParse(pg.conninfo().c_str(), &error), &PQconninfoFree);
    if (options == nullptr) {
      std::string reason = error ? error : "does not parse";
      PQfreemem(error);
      while (!reason.empty() && reason.back() == '\n') reason.pop_back();
      problems->push_back(absl::StrCat("store.postgres.conninfo: ", reason));
    } else {
      for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
        if (o->val == nullptr || !kReservedKeywords.contains(o->keyword)) continue;
        const std::string keyword = o->keyword;
        problems->push_back(
            keyword == "password"
                ? "store.postgres.conninfo: must not hold the password; put it in a mode-600 "
                  "file named by store.postgres.password_file"
                : absl::StrCat("store.postgres.conninfo: set ", keyword, " with store.postgres.",
                               keyword == "sslmode" ? "sslmode" : "ca_file", " instead"));
      }
    }
  }
  if (pg.pool_size() > kMaxPoolSize) {
    problems->push_back(absl::StrCat("store.postgres.pool_size: ", pg.pool_size(),
                                     " is too many; use 1 to ", kMaxPoolSize, " (default 8)"));
  }
  if (!pg.sslmode().empty() && !kSslModes.contains(pg.sslmode())) {
    problems->push_back(absl::StrCat("store.postgres.sslmode: '", pg.sslmode(),
                                     "' is not one of: disable, require, verify-ca, verify-full"));
  }
  const std::string sslmode = pg.sslmode().empty() ? "verify-full" : pg.sslmode();
  if ((sslmode == "verify-ca" || sslmode == "verify-full") && pg.ca_file().empty()) {
    problems->push_back(absl::StrCat(
        "store.postgres.ca_file: required with sslmode ", sslmode,
        " (the CA that signed the database's certificate); or set store.postgres.sslmode"));
  }
  if (pg.has_statement_timeout() && pg.statement_timeout().seconds() <= 0 &&
      pg.statement_timeout().nanos() <= 0) {
    problems->push_back("store.postgres.statement_timeout: must be positive (default \"30s\")");
  }
  if (pg.has_idle_in_transaction_timeout() &&
      (pg.idle_in_transaction_timeout().seconds() < 0 ||
       (pg.idle_in_transaction_timeout().seconds() == 0 &&
        pg.idle_in_transaction_timeout().nanos() < 1'000'000))) {
    problems->push_back(
        "store.postgres.idle_in_transaction_timeout: must be at least 1ms (default \"2s\")");
  }
}

void ApplyPostgresDefaults(cfg::PostgresOptions* postgres) {
  if (postgres->pool_size() == 0) postgres->set_pool_size(8);
  if (!postgres->has_statement_timeout()) postgres->mutable_statement_timeout()->set_seconds(30);
  if (!postgres->has_idle_in_transaction_timeout()) {
    postgres->mutable_idle_in_transaction_timeout()->set_seconds(2);
  }
  if (postgres->sslmode().empty()) postgres->set_sslmode("verify-full");
}

absl::StatusOr<PostgresStoreOptions> ResolvePostgresOptions(const cfg::PostgresOptions& pg,
                                                            const std::string& key_dir) {
  PostgresStoreOptions out;
  out.conninfo = pg.conninfo();
  out.sslmode = pg.sslmode().empty() ? "verify-full" : pg.sslmode();
  out.sslrootcert = UnderKeyDir(pg.ca_file(), key_dir);
  if (!pg.password_file().empty()) {
    auto password = ReadSecretFile(UnderKeyDir(pg.password_file(), key_dir));
    if (!password.ok()) {
      return absl::Status(password.status().code(),
                          absl::StrCat("store.postgres.password_file: ", password.status().message()));
    }
    out.password = std::move(*password);
  }
  out.pool_size = static_cast<int>(pg.pool_size() == 0 ? 8 : pg.pool_size());
  if (pg.has_statement_timeout()) {
    out.statement_timeout = absl::Seconds(pg.statement_timeout().seconds()) +
                            absl::Nanoseconds(pg.statement_timeout().nanos());
  }
  if (pg.has_idle_in_transaction_timeout()) {
    out.idle_in_transaction_timeout =
        absl::Seconds(pg.idle_in_transaction_timeout().seconds()) +
        absl::Nanoseconds(pg.idle_in_transaction_timeout().nanos());
  }
  return out;
}

}  // namespace hart
