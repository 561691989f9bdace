#include "tests/e2e/e2e_store.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "tests/support/postgres_server.h"
#include "yaml-cpp/yaml.h"

namespace hart::testing {

bool E2eStoreIsPostgres() {
  const char* store = std::getenv("HART_E2E_STORE");
  return store != nullptr && std::string(store) == "postgres";
}

absl::StatusOr<std::string> ConfigForE2eStore(const std::string& config,
                                              const std::string& data_dir) {
  if (!E2eStoreIsPostgres()) return config;
  auto server = PostgresServer::Shared();
  if (!server.ok()) return server.status();
  static std::mutex mu;
  static std::map<std::string, std::string> database_of_data_dir;
  std::string database;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = database_of_data_dir.find(data_dir);
    if (it == database_of_data_dir.end()) {
      auto created = (*server)->CreateDatabase("e2e");
      if (!created.ok()) return created.status();
      it = database_of_data_dir.emplace(data_dir, *created).first;
    }
    database = it->second;
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(config);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", config, ": ", e.what()));
  }
  YAML::Node store = root["store"];
  store["backend"] = "postgres";
  store["broker_id"] = "e2e";
  // sslmode is the config's own key (store.postgres.sslmode).
  store["postgres"]["conninfo"] = absl::StrCat("host=", (*server)->host(), " port=", (*server)->port(),
                                               " user=", (*server)->user(), " dbname=", database);
  store["postgres"]["password_file"] = (*server)->password_file();
  // The test server listens on 127.0.0.1 only, without TLS.
  store["postgres"]["sslmode"] = "disable";
  const std::string copy = data_dir + ".postgres.yaml";
  std::ofstream out(copy);
  out << root << "\n";
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", copy));
  return copy;
}

}  // namespace hart::testing
