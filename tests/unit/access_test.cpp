// Issue #3 items 2 and 3: the organisation's sensitivity classes (SI-1, configurable; default
// 公开/内部/敏感/机密) and explicit, time-boxed grants on one record (SI-3 "or an explicit grant",
// SI-4). Every case runs on SQLite and, when TEST_PG_URL is set, on PostgreSQL.
#include <gtest/gtest.h>

#include "expect_error.h"
#include "platform/authz/classification.h"
#include "platform/authz/grants.h"
#include "platform/storage/migrations.h"
#include "test_db.h"

namespace custos::authz {
namespace {

using testing_err::throws_code;

constexpr int64_t kStart = 1'700'000'000'000;
constexpr int64_t kDay = 86'400'000;

class Access : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    database = testing_db::open_fresh(GetParam());
    db::migrate(*database);
    classes = std::make_unique<ClassificationService>(*database, clock);
    grants = std::make_unique<GrantService>(*database, clock, 90, [this] { ++changes; });
    grants->register_type("rec", {"mod:recs:read", "mod:recs:write"},
                          [](db::Tx&, int64_t org, int64_t id) { return org == 1 && id < 100; });
    security_id = add_user("sec", 1);
    alice = add_user("alice", 1);
    security.user_id = security_id;
    security.kind = "session";
    security.grants = {{perm::classifications_write, Scope::all, {}, {}},
                       {perm::grants_read, Scope::all, {}, {}},
                       {perm::grants_write, Scope::all, {}, {}}};
    nobody.user_id = alice;
    nobody.kind = "session";
  }
  void TearDown() override { database->close(); }

  int64_t add_user(const std::string& name, int clearance) {
    return database->write([&](db::Tx& tx) {
      return db::as_int(tx.one("INSERT INTO users (org_id, username, name, clearance, created_at, "
                               "updated_at) VALUES (1, ?, ?, ?, ?, ?) RETURNING id",
                               {name, name, int64_t{clearance}, kStart, kStart})
                            ->at(0));
    });
  }
  int64_t scalar(const std::string& sql) {
    return database->read([&](db::Tx& tx) { return db::as_int(tx.query(sql).rows.at(0).at(0)); });
  }
  audit::Actor actor(int64_t user) { return {1, user, std::nullopt, "10.0.0.1", "req-1"}; }

  ManualClock clock{kStart};
  std::unique_ptr<db::Db> database;
  std::unique_ptr<ClassificationService> classes;
  std::unique_ptr<GrantService> grants;
  int changes = 0;
  int64_t security_id = 0, alice = 0;
  Principal security, nobody;
};

// ---- classification levels ------------------------------------------------------------------

TEST_P(Access, DefaultFourLevelsAreSeeded) {
  auto levels = classes->list(security);
  ASSERT_EQ(levels.size(), 4u);
  EXPECT_EQ(levels[0].name_zh, "公开");
  EXPECT_EQ(levels[3].code, "confidential");
  EXPECT_EQ(levels[3].name_zh, "机密");
  EXPECT_FALSE(levels[1].audit_reads);
  EXPECT_TRUE(levels[2].audit_reads);
  EXPECT_TRUE(levels[3].reason_required);
  EXPECT_FALSE(levels[2].reason_required);
  database->read([&](db::Tx& tx) { EXPECT_EQ(top_level(tx, 1), 3); });
}

TEST_P(Access, ReplaceWithFiveLevelsIsAuditedAndRaisesTheTop) {
  auto levels = default_levels();
  levels.push_back({4, "top_secret", "绝密", "Top secret", true, true});
  const int64_t audits = scalar("SELECT COUNT(*) FROM audit_events");
  classes->replace(security, actor(security_id), levels);
  EXPECT_EQ(classes->list(security).size(), 5u);
  database->read([&](db::Tx& tx) { EXPECT_EQ(top_level(tx, 1), 4); });
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = "
                   "'iam.classification.change'"),
            1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events"), audits + 1);
}

TEST_P(Access, WhetherReadsAreAuditedFollowsTheLevelsAsConfigured) {
  // The defaults (seeded): 敏感 and 机密 audited; a level above the top reads as the top.
  database->read([&](db::Tx& tx) {
    EXPECT_FALSE(audits_reads(tx, 1, 0));
    EXPECT_FALSE(audits_reads(tx, 1, 1));
    EXPECT_TRUE(audits_reads(tx, 1, 2));
    EXPECT_TRUE(audits_reads(tx, 1, 9));
    // An organisation that never configured any: the defaults.
    EXPECT_TRUE(audits_reads(tx, 99, 3));
    EXPECT_FALSE(audits_reads(tx, 99, 1));
  });
  // Three levels, reads audited from 内部 up: each level as configured, the top above it.
  auto levels = default_levels();
  levels.pop_back();
  levels[1].audit_reads = true;
  classes->replace(security, actor(security_id), levels);
  database->read([&](db::Tx& tx) {
    for (int l = 0; l <= 4; ++l)
      EXPECT_EQ(audits_reads(tx, 1, l), level_of(load_levels(tx, 1), l).audit_reads) << l;
    EXPECT_FALSE(audits_reads(tx, 1, 0));
    EXPECT_TRUE(audits_reads(tx, 1, 1));
    EXPECT_TRUE(audits_reads(tx, 1, 3));
  });
}

TEST_P(Access, ALevelInUseCannotBeRemoved) {
  database->write(
      [&](db::Tx& tx) { tx.exec("UPDATE users SET clearance = 3 WHERE id = ?", {alice}); });
  auto two = default_levels();
  two.resize(2);
  EXPECT_TRUE(throws_code([&] { classes->replace(security, actor(security_id), two); },
                          ErrorCode::conflict, "body.levels"));
  EXPECT_EQ(classes->list(security).size(), 4u) << "nothing changed";
  // Registered usages count too.
  database->write([&](db::Tx& tx) {
    tx.exec("UPDATE users SET clearance = 1 WHERE id = ?", {alice});
    tx.exec_script("CREATE TABLE recs (org_id BIGINT, classification INTEGER)");
    tx.exec("INSERT INTO recs VALUES (1, 2)");
  });
  classes->register_usage("recs.classification",
                          "SELECT MAX(classification) FROM recs WHERE org_id = ?");
  auto three = default_levels();
  three.resize(3);
  classes->replace(security, actor(security_id), three);  // level 2 still exists
  EXPECT_TRUE(throws_code([&] { classes->replace(security, actor(security_id), two); },
                          ErrorCode::conflict));
}

TEST_P(Access, BadLevelListsAreRefusedNamingTheEntry) {
  auto levels = default_levels();
  EXPECT_TRUE(
      throws_code([&] { classes->replace(nobody, actor(alice), levels); }, ErrorCode::forbidden));
  std::vector<Level> one(levels.begin(), levels.begin() + 1);
  EXPECT_TRUE(throws_code([&] { classes->replace(security, actor(security_id), one); },
                          ErrorCode::validation_failed, "body.levels"));
  auto gap = levels;
  gap[2].level = 5;
  EXPECT_TRUE(throws_code([&] { classes->replace(security, actor(security_id), gap); },
                          ErrorCode::validation_failed, "body.levels[2].level"));
  auto dup = levels;
  dup[3].code = "public";
  EXPECT_TRUE(throws_code([&] { classes->replace(security, actor(security_id), dup); },
                          ErrorCode::validation_failed, "body.levels[3].code"));
  auto bad_code = levels;
  bad_code[1].code = "Internal'; DROP TABLE users;--";
  EXPECT_TRUE(throws_code([&] { classes->replace(security, actor(security_id), bad_code); },
                          ErrorCode::validation_failed, "body.levels[1].code"));
  auto no_name = levels;
  no_name[0].name_zh.clear();
  EXPECT_TRUE(throws_code([&] { classes->replace(security, actor(security_id), no_name); },
                          ErrorCode::validation_failed, "body.levels[0].name_zh"));
  auto weaker = levels;
  weaker[3].audit_reads = false;  // 敏感 audited, 机密 not: refused
  EXPECT_TRUE(throws_code([&] { classes->replace(security, actor(security_id), weaker); },
                          ErrorCode::validation_failed, "body.levels[3].audit_reads"));
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events"), 0) << "refusals change nothing";
}

// ---- explicit grants ------------------------------------------------------------------------

GrantInput input(int64_t user, int64_t object_id, int64_t expires_at) {
  GrantInput in;
  in.user_id = user;
  in.permission = "mod:recs:read";
  in.object_type = "rec";
  in.object_id = object_id;
  in.expires_at = expires_at;
  in.reason = "客户投诉调查 (case 12)";
  return in;
}

TEST_P(Access, GrantIsLoadedAuditedAndBumpsTheGranteesVersion) {
  const int64_t v0 = scalar("SELECT authz_version FROM users WHERE id = " + std::to_string(alice));
  auto g = grants->create(security, actor(security_id), input(alice, 7, kStart + 7 * kDay));
  EXPECT_EQ(g.user_id, alice);
  EXPECT_EQ(g.granted_by, std::optional<int64_t>(security_id));
  EXPECT_EQ(changes, 1) << "the session cache is told";
  EXPECT_EQ(scalar("SELECT authz_version FROM users WHERE id = " + std::to_string(alice)), v0 + 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'iam.grant.create'"), 1);
  auto loaded = database->read([&](db::Tx& tx) { return GrantService::load_for(tx, 1, alice); });
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].object_id, 7);
  EXPECT_EQ(loaded[0].expires_at, kStart + 7 * kDay);

  grants->revoke(security, actor(security_id), g.id, "调查结束");
  EXPECT_EQ(changes, 2);
  EXPECT_TRUE(
      database->read([&](db::Tx& tx) { return GrantService::load_for(tx, 1, alice); }).empty());
  EXPECT_TRUE(throws_code([&] { grants->revoke(security, actor(security_id), g.id, "again"); },
                          ErrorCode::conflict));
  auto page = grants->list(security, {.user_id = alice});
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_TRUE(page.items[0].revoked_at.has_value());
  EXPECT_EQ(page.items[0].revoke_reason, "调查结束");
  EXPECT_EQ(grants->list(security, {.active_only = true}).total, 0);
}

TEST_P(Access, GrantsAreBoundedAndNeverGiveAdministrativePowers) {
  const int64_t week = kStart + 7 * kDay;
  EXPECT_TRUE(
      throws_code([&] { grants->create(nobody, actor(alice), input(security_id, 7, week)); },
                  ErrorCode::forbidden));
  EXPECT_TRUE(throws_code(
      [&] { grants->create(security, actor(security_id), input(security_id, 7, week)); },
      ErrorCode::forbidden, "body.user_id"));
  auto in = input(alice, 7, week);
  in.permission = "iam:user_roles:write";
  EXPECT_TRUE(throws_code([&] { grants->create(security, actor(security_id), in); },
                          ErrorCode::validation_failed, "body.permission"));
  in.permission = "mod:recs:*";
  EXPECT_TRUE(throws_code([&] { grants->create(security, actor(security_id), in); },
                          ErrorCode::validation_failed, "body.permission"));
  in = input(alice, 7, week);
  in.object_type = "audit_event";
  EXPECT_TRUE(throws_code([&] { grants->create(security, actor(security_id), in); },
                          ErrorCode::validation_failed, "body.object_type"));
  EXPECT_TRUE(
      throws_code([&] { grants->create(security, actor(security_id), input(alice, 500, week)); },
                  ErrorCode::validation_failed, "body.object_id"));
  EXPECT_TRUE(throws_code(
      [&] { grants->create(security, actor(security_id), input(alice, 7, kStart - 1)); },
      ErrorCode::validation_failed, "body.expires_at"));
  EXPECT_TRUE(throws_code(
      [&] { grants->create(security, actor(security_id), input(alice, 7, kStart + 91 * kDay)); },
      ErrorCode::validation_failed, "body.expires_at"));
  EXPECT_TRUE(
      throws_code([&] { grants->create(security, actor(security_id), input(99999, 7, week)); },
                  ErrorCode::validation_failed, "body.user_id"));
  in = input(alice, 7, week);
  in.reason.clear();
  EXPECT_TRUE(throws_code([&] { grants->create(security, actor(security_id), in); },
                          ErrorCode::validation_failed, "body.reason"));
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM access_grants"), 0);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events"), 0);
  EXPECT_EQ(changes, 0);
}

TEST_P(Access, OtherOrganisationsGrantsAreNotFound) {
  auto g = grants->create(security, actor(security_id), input(alice, 7, kStart + kDay));
  Principal elsewhere = security;
  elsewhere.org_id = 2;
  EXPECT_TRUE(throws_code([&] { grants->get(elsewhere, g.id); }, ErrorCode::not_found));
  EXPECT_EQ(grants->list(elsewhere, {}).total, 0);
  EXPECT_TRUE(throws_code([&] { grants->get(nobody, g.id); }, ErrorCode::not_found));
}

INSTANTIATE_TEST_SUITE_P(Engines, Access, ::testing::ValuesIn(testing_db::engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace custos::authz
