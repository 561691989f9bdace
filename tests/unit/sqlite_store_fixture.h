// A SQLite store in a fresh directory with a referral factory on it: the
// fixture of sqlite_store_test.cc and sqlite_upgrade_test.cc.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "broker/store/store_factory.h"
#include "tests/support/referral_factory.h"
#include "tests/support/test_support.h"

namespace hart {

class SqliteStoreTest : public ::testing::Test {
 protected:
  SqliteStoreTest() : clock_(testing::TestNow()) {
    store_ = std::move(OpenSqliteStore(dir_.path()).value());
    factory_ = std::make_unique<testing::ReferralFactory>(*store_, clock_);
  }
  testing::TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<testing::ReferralFactory> factory_;
};

}  // namespace hart
