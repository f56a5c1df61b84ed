// Issue #4 item 1: configuration changes are audit records (MLPS 安全审计 a; checklist C13).
// Runs on every engine.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "platform/audit/configuration.h"
#include "platform/audit/verify.h"
#include "platform/storage/migrations.h"
#include "test_db.h"

namespace custos::audit {
namespace {

class ConfigAudit : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    database = testing_db::open_fresh(GetParam());
    db::migrate(*database);
  }
  void TearDown() override { database->close(); }
  int64_t records() {
    return database->read([](db::Tx& tx) {
      return db::as_int(tx.one("SELECT COUNT(*) FROM audit_events WHERE action = "
                               "'system.config.change'")
                            ->at(0));
    });
  }
  boost::json::object last_changes() {
    return database->read([](db::Tx& tx) {
      auto r = tx.one(
          "SELECT changes FROM audit_events WHERE action = 'system.config.change' ORDER BY seq "
          "DESC LIMIT 1");
      return boost::json::parse(db::as_text(r->at(0))).as_object();
    });
  }
  std::unique_ptr<db::Db> database;
};

TEST_P(ConfigAudit, AChangeBetweenStartsIsOneRecordNamingTheKeys) {
  Settings first{{"security.lockout_threshold", "5"},
                 {"database.url", "postgresql://custos:***@db/custos"},
                 {"log.level", "info"}};
  EXPECT_EQ(record_configuration(*database, first, "host-a:1", 1000).size(), 3u);
  EXPECT_EQ(records(), 1);
  // The same settings again (a restart, a second server): nothing.
  EXPECT_TRUE(record_configuration(*database, first, "host-b:2", 2000).empty());
  EXPECT_EQ(records(), 1);
  Settings second = first;
  second[0].second = "3";
  second.pop_back();  // log.level gone
  second.emplace_back("log.format", "text");
  auto changed = record_configuration(*database, second, "host-a:3", 3000);
  std::sort(changed.begin(), changed.end());
  EXPECT_EQ(changed,
            (std::vector<std::string>{"log.format", "log.level", "security.lockout_threshold"}));
  EXPECT_EQ(records(), 2);
  auto c = last_changes();
  EXPECT_EQ(c["security.lockout_threshold"].at("before"), "5");
  EXPECT_EQ(c["security.lockout_threshold"].at("after"), "3");
  EXPECT_TRUE(c["log.level"].at("after").is_null());
  EXPECT_TRUE(c["log.format"].at("before").is_null());
  EXPECT_FALSE(c.contains("database.url"));
  // The records are part of the chain like any other.
  EXPECT_TRUE(verify(*database).ok);
}

INSTANTIATE_TEST_SUITE_P(Engines, ConfigAudit, ::testing::ValuesIn(testing_db::engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace custos::audit
