// Issue #4: the audit verifier against an attacker with database access (MLPS 安全审计 c,
// 数据完整性 b). Each case writes a trail, tampers with it the way such an attacker would
// (append-only triggers dropped or disabled first), and checks that the verifier names the
// organisation, the first bad record and what is wrong. Runs on every engine, with each suite:
// intl (SHA-256 chain, Ed25519 checkpoints) and gm (SM3 chain, SM2 checkpoints).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "platform/audit/audit.h"
#include "platform/audit/checkpoint.h"
#include "platform/audit/verify.h"
#include "platform/crypto/crypto.h"
#include "platform/storage/migrations.h"
#include "test_db.h"

namespace custos::audit {
namespace {

constexpr int64_t kN = 50;
constexpr int64_t kT0 = 1'780'000'000'000;

class AuditVerify : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {
 protected:
  void SetUp() override {
    database = testing_db::open_fresh(engine(), 4);
    db::migrate(*database);
    alg = std::get<1>(GetParam()) == "gm" ? crypto::Hash::sm3 : crypto::Hash::sha256;
    set_chain_algorithm(*database, alg);
    key_dir = std::filesystem::temp_directory_path() /
              ("custos_audit_key_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(key_dir);
    signer = load_signer(std::get<1>(GetParam()), (key_dir / "audit.key").string(), true);
    write(1, kN);
    write(2, 5);  // a second organisation's chain must not disturb the first
  }
  void TearDown() override {
    database->close();
    std::filesystem::remove_all(key_dir);
  }

  // n records in org, batched in one transaction.
  void write(int64_t org, int64_t n) {
    database->write([&](db::Tx& tx) {
      for (int64_t i = 0; i < n; ++i) {
        Actor a{org, 7 + i % 3, 100, "10.0.0." + std::to_string(i % 250),
                "req-" + std::to_string(i)};
        Event e{.action = "org.user.update",
                .object_type = "user",
                .object_id = std::to_string(i),
                .changes = R"({"name":{"before":"a","after":"b"}})"};
        record(tx, a, e, kT0 + i);
      }
    });
  }

  // What an attacker does first: switch the append-only protection off.
  void tamper(const std::string& sql) {
    database->write([&](db::Tx& tx) {
      if (tx.engine() == db::Engine::sqlite) {
        tx.exec_script(
            "DROP TRIGGER IF EXISTS audit_events_append_only_update;"
            "DROP TRIGGER IF EXISTS audit_events_append_only_delete;"
            "DROP TRIGGER IF EXISTS audit_checkpoints_append_only_update;"
            "DROP TRIGGER IF EXISTS audit_checkpoints_append_only_delete;");
      } else {
        tx.exec_script(
            "ALTER TABLE audit_events DISABLE TRIGGER USER;"
            "ALTER TABLE audit_checkpoints DISABLE TRIGGER USER;");
      }
      tx.exec_script(sql);
    });
  }

  std::string hash_at(int64_t org, int64_t seq) {
    return database->read([&](db::Tx& tx) {
      return db::as_text(
          tx.one("SELECT hash FROM audit_events WHERE org_id = ? AND seq = ?", {org, seq})->at(0));
    });
  }

  // Moves records seq >= from by `by` (two steps, so the primary key never clashes).
  std::string shift_sql(int64_t from, int64_t by) {
    return "UPDATE audit_events SET seq = seq + 100000 WHERE org_id = 1 AND seq >= " +
           std::to_string(from) + "; UPDATE audit_events SET seq = seq - 100000 + " +
           std::to_string(by) + " WHERE org_id = 1 AND seq >= 100000;";
  }

  // Rewrites every record of org 1 from `from` on with correct hashes, and the head: what an
  // attacker who knows the (public) chain format can do. Only signatures catch this.
  void rehash_from(int64_t from) {
    database->write([&](db::Tx& tx) {
      std::string prev = from > 1 ? db::as_text(tx.one("SELECT hash FROM audit_events WHERE "
                                                       "org_id = 1 AND seq = ?",
                                                       {from - 1})
                                                    ->at(0))
                                  : std::string();
      auto rows = tx.query(
          "SELECT seq, at, actor_user_id, session_id, ip, request_id, action, object_type, "
          "object_id, error_code, changes, reason FROM audit_events WHERE org_id = 1 AND seq >= ? "
          "ORDER BY seq",
          {from});
      auto text = [](const db::Value& v) { return db::as_opt_text(v).value_or(""); };
      for (const auto& r : rows.rows) {
        Actor a{1, db::as_opt_int(r[2]), db::as_opt_int(r[3]), text(r[4]), text(r[5])};
        Event e{.action = text(r[6]),
                .object_type = text(r[7]),
                .object_id = text(r[8]),
                .error_code = text(r[9]),
                .changes = text(r[10]),
                .reason = text(r[11])};
        const std::string h = chain_hash(prev, 1, db::as_int(r[0]), db::as_int(r[1]), a, e, alg);
        tx.exec("UPDATE audit_events SET prev_hash = ?, hash = ? WHERE org_id = 1 AND seq = ?",
                {prev, h, r[0]});
        prev = h;
      }
      tx.exec(
          "UPDATE audit_heads SET seq = (SELECT MAX(seq) FROM audit_events WHERE org_id = 1), "
          "hash = ? WHERE org_id = 1",
          {prev});
    });
  }

  VerifyReport run(std::vector<Checkpoint> anchor = {}) {
    VerifyOptions o;
    o.page_size = 7;  // several pages even for a short trail
    o.signer = signer.get();
    o.anchor = std::move(anchor);
    return verify(*database, o);
  }

  ::testing::AssertionResult names(const VerifyReport& r, int64_t seq, const std::string& code) {
    if (r.ok) return ::testing::AssertionFailure() << "verifier found nothing";
    const Finding f = *r.first_bad();
    if (f.org_id != 1 || f.seq != seq || f.code != code)
      return ::testing::AssertionFailure() << "got org " << f.org_id << " seq " << f.seq << " "
                                           << f.code << " (" << f.detail << ")";
    if (r.findings.size() != 1)
      return ::testing::AssertionFailure() << "org 2 was flagged too: " << r.findings[1].code;
    return ::testing::AssertionSuccess();
  }

  const std::string& engine() const { return std::get<0>(GetParam()); }

  static inline int counter = 0;
  crypto::Hash alg = crypto::Hash::sha256;
  std::unique_ptr<db::Db> database;
  std::filesystem::path key_dir;
  std::unique_ptr<Signer> signer;
};

TEST_P(AuditVerify, IntactTrailPasses) {
  auto r = run();
  EXPECT_TRUE(r.ok) << r.first_bad()->detail;
  EXPECT_EQ(r.records_checked, kN + 5);
  EXPECT_EQ(r.organisations, 2);
  write_checkpoints(*database, *signer, kT0 + 1000, {}, true);
  write(1, 3);  // records after the last checkpoint are fine
  EXPECT_TRUE(run().ok);
}

TEST_P(AuditVerify, ModifiedFieldIsNamed) {
  tamper("UPDATE audit_events SET object_id = '999' WHERE org_id = 1 AND seq = 17");
  EXPECT_TRUE(names(run(), 17, "modified"));
}

TEST_P(AuditVerify, ModifiedOutcomeIsNamed) {
  tamper(
      "UPDATE audit_events SET outcome = 'success', error_code = NULL WHERE org_id = 1 AND "
      "seq = 3; UPDATE audit_events SET outcome = 'denied' WHERE org_id = 1 AND seq = 4");
  EXPECT_TRUE(names(run(), 4, "modified"));
}

TEST_P(AuditVerify, DeletedRecordIsNamed) {
  tamper("DELETE FROM audit_events WHERE org_id = 1 AND seq = 23");
  EXPECT_TRUE(names(run(), 23, "missing"));
}

TEST_P(AuditVerify, DeletedAndRenumberedIsNamed) {
  tamper("DELETE FROM audit_events WHERE org_id = 1 AND seq = 23;" + shift_sql(24, -1) +
         "UPDATE audit_heads SET seq = seq - 1 WHERE org_id = 1");
  EXPECT_TRUE(names(run(), 23, "chain_broken"));
}

TEST_P(AuditVerify, InsertedRecordIsNamed) {
  // A fabricated record slid in at seq 30 (later records renumbered, head moved on).
  const std::string prev = hash_at(1, 29);
  tamper(shift_sql(30, 1) +
         "INSERT INTO audit_events (org_id, seq, at, action, outcome, prev_hash, hash) VALUES "
         "(1, 30, " +
         std::to_string(kT0 + 29) + ", 'auth.login', 'success', '" + prev + "', '" +
         std::string(64, 'a') + "'); UPDATE audit_heads SET seq = seq + 1 WHERE org_id = 1");
  EXPECT_TRUE(names(run(), 30, "modified"));
}

TEST_P(AuditVerify, InsertedRecordWithValidHashIsNamedAtTheNextRecord) {
  // The attacker hashes the inserted record correctly; the record it displaced no longer links.
  const std::string prev = hash_at(1, 29);
  Actor a{1, 99, std::nullopt, "", ""};
  Event e{.action = "auth.login"};
  const std::string h = chain_hash(prev, 1, 30, kT0 + 29, a, e, alg);
  tamper(shift_sql(30, 1) +
         "INSERT INTO audit_events (org_id, seq, at, actor_user_id, action, outcome, prev_hash, "
         "hash) VALUES (1, 30, " +
         std::to_string(kT0 + 29) + ", 99, 'auth.login', 'success', '" + prev + "', '" + h +
         "'); UPDATE audit_heads SET seq = seq + 1 WHERE org_id = 1");
  EXPECT_TRUE(names(run(), 31, "chain_broken"));
}

TEST_P(AuditVerify, SwappedPairIsNamed) {
  tamper(
      "UPDATE audit_events SET seq = -10 WHERE org_id = 1 AND seq = 10;"
      "UPDATE audit_events SET seq = 10 WHERE org_id = 1 AND seq = 11;"
      "UPDATE audit_events SET seq = 11 WHERE org_id = 1 AND seq = -10;");
  EXPECT_TRUE(names(run(), 10, "chain_broken"));
}

TEST_P(AuditVerify, TruncatedTailIsCaughtByTheHead) {
  tamper("DELETE FROM audit_events WHERE org_id = 1 AND seq > 45");
  EXPECT_TRUE(names(run(), 46, "truncated"));
}

TEST_P(AuditVerify, TruncatedTailWithHeadRewrittenIsCaughtByTheCheckpoint) {
  write_checkpoints(*database, *signer, kT0 + 1000, {}, true);  // signs seq 50
  const std::string h45 = hash_at(1, 45);
  tamper(
      "DELETE FROM audit_events WHERE org_id = 1 AND seq > 45;"
      "UPDATE audit_heads SET seq = 45, hash = '" +
      h45 + "' WHERE org_id = 1");
  EXPECT_TRUE(names(run(), 46, "truncated"));
}

TEST_P(AuditVerify, RewrittenSuffixIsCaughtByTheCheckpoint) {
  write_checkpoints(*database, *signer, kT0 + 1000, {}, true);  // signs seq 50
  tamper("UPDATE audit_events SET object_id = '999' WHERE org_id = 1 AND seq = 40");
  rehash_from(40);
  EXPECT_TRUE(names(run(), 50, "checkpoint_mismatch"));
}

TEST_P(AuditVerify, ForgedCheckpointIsRefused) {
  write_checkpoints(*database, *signer, kT0 + 1000, {}, true);
  auto other = load_signer(std::get<1>(GetParam()), (key_dir / "attacker.key").string(), true);
  tamper("DELETE FROM audit_checkpoints WHERE org_id = 1");
  write_checkpoints(*database, *other, kT0 + 2000, {}, true);
  EXPECT_TRUE(names(run(), 50, "bad_signature"));
}

TEST_P(AuditVerify, RollbackBelowTheAnchorIsCaught) {
  write_checkpoints(*database, *signer, kT0 + 1000, {}, true);
  auto anchor = parse_anchor(
      format_anchor(database->read([](db::Tx& tx) { return latest_checkpoints(tx); })));
  ASSERT_EQ(anchor.size(), 2u);
  // An older copy of the database: 40 records, consistent head, no later checkpoints.
  const std::string h40 = hash_at(1, 40);
  tamper(
      "DELETE FROM audit_events WHERE org_id = 1 AND seq > 40;"
      "DELETE FROM audit_checkpoints WHERE org_id = 1;"
      "UPDATE audit_heads SET seq = 40, hash = '" +
      h40 + "' WHERE org_id = 1");
  EXPECT_TRUE(run().ok);                            // consistent in itself…
  EXPECT_TRUE(names(run(anchor), 41, "rollback"));  // …but older than the anchor
}

TEST_P(AuditVerify, RewriteBelowTheAnchorIsCaught) {
  write_checkpoints(*database, *signer, kT0 + 1000, {}, true);
  auto anchor = database->read([](db::Tx& tx) { return latest_checkpoints(tx); });
  tamper(
      "DELETE FROM audit_checkpoints WHERE org_id = 1;"
      "UPDATE audit_events SET reason = 'x' WHERE org_id = 1 AND seq = 2");
  rehash_from(2);
  EXPECT_TRUE(run().ok);
  EXPECT_TRUE(names(run(anchor), 50, "anchor_mismatch"));
}

TEST_P(AuditVerify, AnchorWithBadSignatureIsRefused) {
  write_checkpoints(*database, *signer, kT0 + 1000, {}, true);
  auto anchor = database->read([](db::Tx& tx) { return latest_checkpoints(tx); });
  anchor[0].seq = 49;  // signature no longer matches
  EXPECT_TRUE(names(run(anchor), 49, "bad_signature"));
}

TEST_P(AuditVerify, ChainIsAppendOnlyForCheckpointsToo) {
  write_checkpoints(*database, *signer, kT0 + 1000, {}, true);
  EXPECT_THROW(database->write([](db::Tx& tx) { tx.exec("DELETE FROM audit_checkpoints"); }),
               db::DbError);
}

// Throughput on a larger trail; run with --gtest_also_run_disabled_tests.
TEST_P(AuditVerify, DISABLED_Throughput) {
  const int64_t n = engine() == "sqlite" ? 1'000'000 : 300'000;
  for (int64_t done = 0; done < n; done += 10'000) write(3, 10'000);
  VerifyOptions o;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = verify(*database, o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(r.ok);
  std::printf("[%s] verified %lld records in %.3f s: %.0f records/s\n",
              (engine() + "/" + std::get<1>(GetParam())).c_str(),
              static_cast<long long>(r.records_checked), s, r.records_checked / s);
}

TEST(AuditKey, GeneratedWith0600AndReloadable) {
  auto dir = std::filesystem::temp_directory_path() /
             ("custos_audit_key_mode_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const std::string path = (dir / "k" / "audit.key").string();
  auto s1 = load_signer("intl", path, true);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto s2 = load_signer("intl", path, false);
  EXPECT_EQ(s1->key_id(), s2->key_id());
  Checkpoint c = sign_checkpoint(*s1, 1, 5, std::string(64, 'b'), 1);
  EXPECT_TRUE(checkpoint_signature_ok(*s2, c));
  EXPECT_THROW(load_signer("intl", (dir / "missing").string(), false), std::runtime_error);
  EXPECT_THROW(load_signer("gm", path, false), std::runtime_error);
  std::filesystem::remove_all(dir);
}

TEST(AuditKey, Sm2KeysForTheGmSuite) {
  auto dir = std::filesystem::temp_directory_path() /
             ("custos_audit_key_gm_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const std::string path = (dir / "audit.key").string();
  auto s1 = load_signer("gm", path, true);
  EXPECT_EQ(s1->suite(), "gm");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto s2 = load_signer("gm", path, false);
  EXPECT_EQ(s1->key_id(), s2->key_id());
  EXPECT_EQ(s1->key_id().size(), 16u);
  // SM2 signatures are randomised; each verifies, and nothing else does.
  Checkpoint c = sign_checkpoint(*s1, 1, 5, std::string(64, 'b'), 1);
  Checkpoint c2 = sign_checkpoint(*s1, 1, 5, std::string(64, 'b'), 1);
  EXPECT_NE(c.signature, c2.signature);
  EXPECT_TRUE(checkpoint_signature_ok(*s2, c));
  EXPECT_TRUE(checkpoint_signature_ok(*s2, c2));
  Checkpoint moved = c;
  moved.seq = 6;
  EXPECT_FALSE(checkpoint_signature_ok(*s2, moved));
  Checkpoint flipped = c;
  flipped.signature[10] = flipped.signature[10] == '0' ? '1' : '0';
  EXPECT_FALSE(checkpoint_signature_ok(*s2, flipped));
  // A gm anchor line parses and verifies.
  auto parsed = parse_anchor(format_anchor({c}));
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_TRUE(checkpoint_signature_ok(*s2, parsed[0]));
  // An Ed25519 signer neither accepts it nor loads this key file.
  auto intl = load_signer("intl", (dir / "intl.key").string(), true);
  EXPECT_FALSE(checkpoint_signature_ok(*intl, c));
  EXPECT_THROW(load_signer("intl", path, false), std::runtime_error);
  // A damaged key file is refused, naming the file.
  {
    std::ofstream out(dir / "bad.key");
    out << "gm:3082deadbeef\n";
  }
  try {
    load_signer("gm", (dir / "bad.key").string(), false);
    ADD_FAILURE() << "a malformed key loaded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.key"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(AuditAnchor, ParserRefusesMalformedFiles) {
  EXPECT_THROW(parse_anchor(""), std::invalid_argument);
  EXPECT_THROW(parse_anchor("hello\n"), std::invalid_argument);
  const std::string ok = "custos-audit-anchor v1\ncheckpoint 1 5 " + std::string(64, 'a') +
                         " 7 intl 0123456789abcdef " + std::string(128, 'c') + "\n";
  EXPECT_EQ(parse_anchor(ok).size(), 1u);
  EXPECT_THROW(parse_anchor(ok + ok.substr(ok.find('\n') + 1)), std::invalid_argument);
  std::string bad = ok;
  bad[bad.find(" 5 ") + 1] = 'x';
  EXPECT_THROW(parse_anchor(bad), std::invalid_argument);
  EXPECT_THROW(parse_anchor("custos-audit-anchor v1\ncheckpoint 1 5\n"), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(EnginesAndSuites, AuditVerify,
                         ::testing::Combine(::testing::ValuesIn(testing_db::engines()),
                                            ::testing::Values("intl", "gm")),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + std::get<1>(info.param);
                         });

}  // namespace
}  // namespace custos::audit
