// Issue #4: retention purge of the audit trail. Purging refuses anything younger than the
// retention period (at least 180 days), removes an old prefix so that the verifier still passes
// from the signed checkpoint of the last removed record, and leaves every other UPDATE/DELETE
// refused. Runs on every engine.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "platform/audit/audit.h"
#include "platform/audit/checkpoint.h"
#include "platform/audit/purge.h"
#include "platform/audit/verify.h"
#include "platform/config/config.h"
#include "platform/storage/migrations.h"
#include "test_db.h"

namespace custos::audit {
namespace {

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kNow = 1'800'000'000'000;

class AuditPurge : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    database = testing_db::open_fresh(GetParam(), 4);
    db::migrate(*database);
    key_dir = std::filesystem::temp_directory_path() /
              ("custos_purge_key_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(key_dir);
    signer = load_signer("intl", (key_dir / "audit.key").string(), true);
    // 30 records a year old, then 20 recent ones; a second organisation alongside.
    write(1, 30, kNow - 365 * kDay);
    write(2, 5, kNow - 365 * kDay);
    write(1, 20, kNow - 10 * kDay);
    write_checkpoints(*database, *signer, kNow - 5 * kDay, {}, true);
  }
  void TearDown() override {
    database->close();
    std::filesystem::remove_all(key_dir);
  }
  void write(int64_t org, int64_t n, int64_t at) {
    database->write([&](db::Tx& tx) {
      for (int64_t i = 0; i < n; ++i)
        record(tx, Actor{org, 7, 100, "10.0.0.1", "req"},
               Event{.action = "org.user.update", .object_type = "user"}, at + i);
    });
  }
  PurgeResult purge_before(int64_t before, int retention = 180) {
    return database->write([&](db::Tx& tx) {
      return purge(tx, *signer, Actor{1, 7, 100, "10.0.0.1", "req-purge"}, before, kNow, retention);
    });
  }
  VerifyReport verify_signed() {
    VerifyOptions o;
    o.signer = signer.get();
    return verify(*database, o);
  }
  int64_t count(int64_t org) {
    return database->read([&](db::Tx& tx) {
      return db::as_int(tx.one("SELECT COUNT(*) FROM audit_events WHERE org_id = ?", {org})->at(0));
    });
  }

  static inline int counter = 0;
  std::unique_ptr<db::Db> database;
  std::filesystem::path key_dir;
  std::unique_ptr<Signer> signer;
};

TEST_P(AuditPurge, RefusesUnderRetention) {
  EXPECT_THROW(purge_before(kNow - 179 * kDay), PurgeRefused);
  EXPECT_THROW(purge_before(kNow - 365 * kDay, 90), PurgeRefused);
  EXPECT_EQ(count(1), 50);
  ConfigSources src;
  src.overrides = {{"audit.retention_days", "179"}};
  try {
    load_config(src);
    FAIL() << "retention under 180 days accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("audit.retention_days"), std::string::npos) << e.what();
  }
  EXPECT_EQ(load_config({}).audit.retention_days, 180);
}

TEST_P(AuditPurge, PurgesOldPrefixAndVerifies) {
  ASSERT_TRUE(verify_signed().ok);
  PurgeResult r = purge_before(kNow - 200 * kDay);
  EXPECT_EQ(r.removed, 30);
  EXPECT_EQ(r.through_seq, 30);
  ASSERT_TRUE(r.checkpoint);
  EXPECT_TRUE(checkpoint_signature_ok(*signer, *r.checkpoint));
  EXPECT_EQ(count(1), 21);  // 20 kept + the audit.purge record
  EXPECT_EQ(count(2), 5);   // other organisations untouched
  VerifyReport v = verify_signed();
  EXPECT_TRUE(v.ok) << (v.first_bad() ? v.first_bad()->code + ": " + v.first_bad()->detail : "");
  EXPECT_EQ(v.records_checked, 21 + 5);
  // The purge flag does not outlive the purge transaction: a later delete is refused.
  EXPECT_THROW(database->write([](db::Tx& tx) {
    tx.exec("DELETE FROM audit_events WHERE org_id = 1 AND seq = 31");
  }),
               db::DbError);
  // A second purge with nothing older to remove still verifies.
  EXPECT_EQ(purge_before(kNow - 200 * kDay).removed, 0);
  EXPECT_TRUE(verify_signed().ok);
}

TEST_P(AuditPurge, PrefixDeletedWithoutPurgeIsMissing) {
  // Someone with database access removes records 1..30 behind the application's back, even
  // with a signed checkpoint at 30: no audit.purge record names it, so the verifier refuses.
  database->write([&](db::Tx& tx) {
    Checkpoint c = sign_checkpoint(
        *signer, 1, 30,
        db::as_text(tx.one("SELECT hash FROM audit_events WHERE org_id = 1 AND seq = 30")->at(0)),
        kNow);
    tx.exec(
        "INSERT INTO audit_checkpoints (org_id, seq, root, at, suite, key_id, signature) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        {c.org_id, c.seq, c.root, c.at, c.suite, c.key_id, c.signature});
    if (tx.engine() == db::Engine::sqlite)
      tx.exec_script("DROP TRIGGER audit_events_append_only_delete");
    else
      tx.exec_script("ALTER TABLE audit_events DISABLE TRIGGER USER");
    tx.exec("DELETE FROM audit_events WHERE org_id = 1 AND seq <= 30");
  });
  VerifyReport v = verify_signed();
  ASSERT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad()->org_id, 1);
  EXPECT_EQ(v.first_bad()->code, "missing");
}

TEST_P(AuditPurge, OrdinaryUpdateAndDeleteStillRefused) {
  purge_before(kNow - 200 * kDay);
  EXPECT_THROW(database->write([](db::Tx& tx) {
    tx.exec("UPDATE audit_events SET action = 'x' WHERE org_id = 1");
  }),
               db::DbError);
  EXPECT_THROW(
      database->write([](db::Tx& tx) { tx.exec("DELETE FROM audit_events WHERE org_id = 2"); }),
      db::DbError);
  EXPECT_THROW(database->write(
                   [](db::Tx& tx) { tx.exec("DELETE FROM audit_checkpoints WHERE org_id = 1"); }),
               db::DbError);
  // The flag alone (set outside a purge) does not let an UPDATE through either.
  EXPECT_THROW(database->write([](db::Tx& tx) {
    if (tx.engine() == db::Engine::sqlite)
      tx.exec("INSERT INTO audit_purge_allowed (org_id) VALUES (1)");
    else
      tx.query("SELECT set_config('custos.audit_purge', 'on', true)");
    tx.exec("UPDATE audit_events SET action = 'x' WHERE org_id = 1");
  }),
               db::DbError);
  EXPECT_EQ(count(2), 5);
  EXPECT_TRUE(verify_signed().ok);
}

INSTANTIATE_TEST_SUITE_P(Engines, AuditPurge, ::testing::ValuesIn(testing_db::engines()));

}  // namespace
}  // namespace custos::audit
