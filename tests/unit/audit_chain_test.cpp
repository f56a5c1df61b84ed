// Issue #3 (identity and access) and requirement SI-7: the audit trail. MLPS 安全审计 (records
// protected against deletion, modification and overwriting; a complete, ordered trail);
// ASVS 7.1.3 / 7.3.3 (security events logged, logs protected from tampering). Records are
// hash-chained per organisation, written in the caller's transaction, and the table is
// append-only on both engines.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "platform/audit/audit.h"
#include "platform/audit/verify.h"
#include "platform/storage/migrations.h"
#include "test_db.h"

namespace custos::audit {
namespace {

struct Row {
  int64_t org_id = 0, seq = 0, at = 0;
  Actor actor;
  Event event;
  std::string prev_hash, hash;
};

Outcome parse_outcome(const std::string& s) {
  if (s == "success") return Outcome::success;
  if (s == "denied") return Outcome::denied;
  EXPECT_EQ(s, "failed");
  return Outcome::failed;
}

class AuditChain : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    database = testing_db::open_fresh(GetParam(), 8);
    db::migrate(*database);
  }
  void TearDown() override { database->close(); }

  std::vector<Row> rows(int64_t org_id = 1) {
    return database->read([&](db::Tx& tx) {
      auto r = tx.query(
          "SELECT org_id, seq, at, actor_user_id, session_id, ip, request_id, action, "
          "object_type, object_id, outcome, error_code, changes, reason, prev_hash, hash "
          "FROM audit_events WHERE org_id = ? ORDER BY seq",
          {org_id});
      std::vector<Row> out;
      auto text = [](const db::Value& v) { return db::as_opt_text(v).value_or(""); };
      for (const auto& c : r.rows) {
        Row row;
        row.org_id = db::as_int(c[0]);
        row.seq = db::as_int(c[1]);
        row.at = db::as_int(c[2]);
        row.actor.org_id = row.org_id;
        row.actor.user_id = db::as_opt_int(c[3]);
        row.actor.session_id = db::as_opt_int(c[4]);
        row.actor.ip = text(c[5]);
        row.actor.request_id = text(c[6]);
        row.event.action = db::as_text(c[7]);
        row.event.object_type = text(c[8]);
        row.event.object_id = text(c[9]);
        row.event.outcome = parse_outcome(db::as_text(c[10]));
        row.event.error_code = text(c[11]);
        row.event.changes = text(c[12]);
        row.event.reason = text(c[13]);
        row.prev_hash = db::as_text(c[14]);
        row.hash = db::as_text(c[15]);
        out.push_back(std::move(row));
      }
      return out;
    });
  }

  // seq 1..n, each prev_hash the previous hash ("" first), each hash recomputed from the row.
  ::testing::AssertionResult chain_is_intact(const std::vector<Row>& chain, size_t n) {
    if (chain.size() != n)
      return ::testing::AssertionFailure() << chain.size() << " rows, expected " << n;
    std::string prev;
    for (size_t i = 0; i < chain.size(); ++i) {
      const Row& r = chain[i];
      if (r.seq != static_cast<int64_t>(i + 1))
        return ::testing::AssertionFailure() << "row " << i << " has seq " << r.seq;
      if (r.prev_hash != prev)
        return ::testing::AssertionFailure()
               << "seq " << r.seq << ": prev_hash " << r.prev_hash << " != previous hash " << prev;
      const std::string recomputed =
          chain_hash(r.prev_hash, r.org_id, r.seq, r.at, r.actor, r.event);
      if (r.hash != recomputed)
        return ::testing::AssertionFailure()
               << "seq " << r.seq << ": hash " << r.hash << " != recomputed " << recomputed;
      if (r.hash.size() != 64)
        return ::testing::AssertionFailure() << "seq " << r.seq << ": hash is not hex SHA-256";
      prev = r.hash;
    }
    return ::testing::AssertionSuccess();
  }

  int64_t count_events() {
    return database->read([](db::Tx& tx) {
      return db::as_int(tx.query("SELECT COUNT(*) FROM audit_events").rows.at(0).at(0));
    });
  }
  std::pair<int64_t, std::string> head(int64_t org_id = 1) {
    return database->read([&](db::Tx& tx) {
      auto r = tx.one("SELECT seq, hash FROM audit_heads WHERE org_id = ?", {org_id});
      return std::make_pair(db::as_int(r->at(0)), db::as_text(r->at(1)));
    });
  }

  Recorded record_one(const Actor& a, const Event& e, int64_t at) {
    return database->write([&](db::Tx& tx) { return record(tx, a, e, at); });
  }

  std::unique_ptr<db::Db> database;
};

Actor actor(std::optional<int64_t> user, std::string ip = "10.0.0.1", std::string req = "r-1") {
  Actor a;
  a.user_id = user;
  a.session_id = user ? std::optional<int64_t>(*user + 1000) : std::nullopt;
  a.ip = std::move(ip);
  a.request_id = std::move(req);
  return a;
}

TEST_P(AuditChain, SequentialRecordsFormAnUnbrokenChain) {
  std::vector<std::pair<Actor, Event>> input = {
      {actor(7), {.action = "auth.login", .object_type = "session", .object_id = "1"}},
      {actor(std::nullopt, "", ""),
       {.action = "auth.login",
        .object_type = "user",
        .outcome = Outcome::failed,
        .error_code = "invalid_credentials",
        .reason = "unknown_user"}},
      {actor(7, "2001:db8::1", "req-3"),
       {.action = "org.user.update",
        .object_type = "user",
        .object_id = "42",
        .changes = R"({"name":{"before":"张*","after":"李*"}})",
        .reason = "工单 #17"}},
      {actor(8),
       {.action = "audit.events.read", .outcome = Outcome::denied, .error_code = "forbidden"}},
      {actor(7), {.action = "auth.logout", .object_type = "session", .object_id = "1"}},
  };
  std::vector<Recorded> returned;
  int64_t at = 1'700'000'000'000;
  for (const auto& [a, e] : input) returned.push_back(record_one(a, e, at += 1000));

  const auto chain = rows();
  ASSERT_TRUE(chain_is_intact(chain, input.size()));
  for (size_t i = 0; i < input.size(); ++i) {
    EXPECT_EQ(returned[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(returned[i].hash, chain[i].hash);
    EXPECT_EQ(chain[i].event.action, input[i].second.action);
    EXPECT_EQ(chain[i].event.changes, input[i].second.changes);
    EXPECT_EQ(chain[i].actor.user_id, input[i].first.user_id);
    EXPECT_EQ(chain[i].at, 1'700'000'000'000 + 1000 * static_cast<int64_t>(i + 1));
  }
  // The head follows the last record.
  EXPECT_EQ(head(), std::make_pair(int64_t{5}, chain.back().hash));
}

TEST(AuditChainHash, EveryFieldIsCoveredByTheHash) {
  const Actor a = actor(7);
  const Event e{.action = "org.user.update",
                .object_type = "user",
                .object_id = "42",
                .error_code = "",
                .changes = "{}",
                .reason = "r"};
  const std::string base = chain_hash("ab", 1, 5, 1000, a, e);
  std::vector<std::string> variants;
  variants.push_back(chain_hash("ac", 1, 5, 1000, a, e));
  variants.push_back(chain_hash("ab", 2, 5, 1000, a, e));
  variants.push_back(chain_hash("ab", 1, 6, 1000, a, e));
  variants.push_back(chain_hash("ab", 1, 5, 1001, a, e));
  auto with_actor = [&](auto change) {
    Actor x = a;
    change(x);
    variants.push_back(chain_hash("ab", 1, 5, 1000, x, e));
  };
  with_actor([](Actor& x) { x.user_id = 8; });
  with_actor([](Actor& x) { x.user_id.reset(); });
  with_actor([](Actor& x) { x.session_id = 1; });
  with_actor([](Actor& x) { x.ip = "10.0.0.2"; });
  with_actor([](Actor& x) { x.request_id = "r-2"; });
  auto with_event = [&](auto change) {
    Event x = e;
    change(x);
    variants.push_back(chain_hash("ab", 1, 5, 1000, a, x));
  };
  with_event([](Event& x) { x.action = "org.user.delete"; });
  with_event([](Event& x) { x.object_type = "users"; });
  with_event([](Event& x) { x.object_id = "43"; });
  with_event([](Event& x) { x.outcome = Outcome::denied; });
  with_event([](Event& x) { x.error_code = "forbidden"; });
  with_event([](Event& x) { x.changes = "{ }"; });
  with_event([](Event& x) { x.reason = "s"; });
  // Moving bytes between adjacent fields changes the hash (length-prefixed encoding).
  with_event([](Event& x) {
    x.object_type = "user4";
    x.object_id = "2";
  });
  std::set<std::string> distinct(variants.begin(), variants.end());
  distinct.insert(base);
  EXPECT_EQ(distinct.size(), variants.size() + 1);
  EXPECT_EQ(chain_hash("ab", 1, 5, 1000, a, e), base);  // deterministic
}

TEST_P(AuditChain, RolledBackTransactionLeavesNoRecordAndDoesNotAdvanceSeq) {
  record_one(actor(7), {.action = "a.one"}, 1000);
  record_one(actor(7), {.action = "a.two"}, 2000);
  const auto before = head();
  EXPECT_THROW(database->write([&](db::Tx& tx) {
    record(tx, actor(7), {.action = "a.rolled_back"}, 3000);
    record(tx, actor(7), {.action = "a.rolled_back.too"}, 3000);
    throw std::runtime_error("the business change failed");
  }),
               std::runtime_error);
  EXPECT_EQ(count_events(), 2);
  EXPECT_EQ(head(), before);
  const Recorded next = record_one(actor(7), {.action = "a.three"}, 4000);
  EXPECT_EQ(next.seq, 3);
  const auto chain = rows();
  ASSERT_TRUE(chain_is_intact(chain, 3));
  EXPECT_EQ(chain[2].event.action, "a.three");
  EXPECT_EQ(chain[2].prev_hash, before.second);
}

TEST_P(AuditChain, SeveralRecordsInOneTransactionChainInOrder) {
  database->write([&](db::Tx& tx) {
    record(tx, actor(7), {.action = "org.user.create", .object_id = "1"}, 1000);
    record(tx, actor(7), {.action = "iam.user_role.grant", .object_id = "1"}, 1000);
  });
  record_one(actor(7), {.action = "auth.login"}, 2000);
  EXPECT_TRUE(chain_is_intact(rows(), 3));
}

TEST_P(AuditChain, ManyRecordsInOneTransactionLeaveTheHeadOnTheLast) {
  // An import's shape: hundreds of records in one transaction, two organisations interleaved;
  // the head rows are written once, before commit, and say where each chain ends.
  database->write([&](db::Tx& tx) {
    for (int i = 0; i < 300; ++i) {
      Actor a = actor(7);
      a.org_id = i % 3 == 0 ? 2 : 1;
      record(tx, a, {.action = "registry.customer.import", .object_id = std::to_string(i)},
             1000 + i);
    }
  });
  const auto one = rows(1), two = rows(2);
  ASSERT_TRUE(chain_is_intact(one, 200));
  ASSERT_TRUE(chain_is_intact(two, 100));
  EXPECT_EQ(head(1), std::make_pair(int64_t{200}, one.back().hash));
  EXPECT_EQ(head(2), std::make_pair(int64_t{100}, two.back().hash));
  // The next transaction chains on from there; one that fails part-way moves nothing.
  EXPECT_THROW(database->write([&](db::Tx& tx) {
    for (int i = 0; i < 5; ++i) record(tx, actor(7), {.action = "a.rolled_back"}, 5000);
    throw std::runtime_error("the import failed");
  }),
               std::runtime_error);
  EXPECT_EQ(head(1).first, 200);
  record_one(actor(7), {.action = "auth.login"}, 6000);
  EXPECT_TRUE(chain_is_intact(rows(1), 201));
  EXPECT_EQ(head(1), std::make_pair(int64_t{201}, rows(1).back().hash));
}

TEST_P(AuditChain, RecordsAreAppendOnly) {
  record_one(actor(7), {.action = "a.one", .object_id = "1"}, 1000);
  record_one(actor(7), {.action = "a.two", .object_id = "2"}, 2000);
  const auto original = rows();
  EXPECT_THROW(database->write([](db::Tx& tx) {
    tx.exec("UPDATE audit_events SET action = 'a.forged' WHERE seq = 1");
  }),
               db::DbError);
  EXPECT_THROW(
      database->write([](db::Tx& tx) { tx.exec("UPDATE audit_events SET hash = prev_hash"); }),
      db::DbError);
  EXPECT_THROW(
      database->write([](db::Tx& tx) { tx.exec("DELETE FROM audit_events WHERE seq = 2"); }),
      db::DbError);
  EXPECT_THROW(database->write([](db::Tx& tx) { tx.exec("DELETE FROM audit_events"); }),
               db::DbError);
  if (GetParam() == "postgres") {
    EXPECT_THROW(database->write([](db::Tx& tx) { tx.exec("TRUNCATE audit_events"); }),
                 db::DbError);
  }
  const auto after = rows();
  ASSERT_EQ(after.size(), original.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].event.action, original[i].event.action);
    EXPECT_EQ(after[i].hash, original[i].hash);
  }
  EXPECT_TRUE(chain_is_intact(after, 2));
  // Appending still works after the refused attempts.
  EXPECT_EQ(record_one(actor(7), {.action = "a.three"}, 3000).seq, 3);
}

// Migration 22 rebuilds the SQLite trail as a WITHOUT ROWID table: a trail written before the
// upgrade keeps every record and hash, stays append-only and goes on from its head.
TEST_P(AuditChain, UpgradeToTheKeyedTrailKeepsTheChain) {
  auto old = testing_db::open_fresh(GetParam());
  db::migrate(*old, 21);
  for (int i = 1; i <= 5; ++i)
    old->write([&](db::Tx& tx) {
      record(tx, actor(7), {.action = "before.upgrade", .object_id = std::to_string(i)}, i * 10);
    });
  auto hashes = [&] {
    return old->read([](db::Tx& tx) {
      std::vector<std::string> out;
      for (const auto& r : tx.query("SELECT hash FROM audit_events ORDER BY org_id, seq").rows)
        out.push_back(db::as_text(r[0]));
      return out;
    });
  };
  const auto before = hashes();
  ASSERT_EQ(before.size(), 5u);
  EXPECT_EQ(db::migrate(*old).to, db::all_migrations().back().version);
  EXPECT_EQ(hashes(), before);
  if (GetParam() == "sqlite") {
    EXPECT_THROW(old->read([](db::Tx& tx) { tx.query("SELECT rowid FROM audit_events"); }),
                 db::DbError);
  }
  EXPECT_THROW(old->write([](db::Tx& tx) {
    tx.exec("UPDATE audit_events SET action = 'forged' WHERE seq = 1");
  }),
               db::DbError);
  EXPECT_THROW(old->write([](db::Tx& tx) { tx.exec("DELETE FROM audit_events WHERE seq = 5"); }),
               db::DbError);
  const Recorded next =
      old->write([&](db::Tx& tx) { return record(tx, actor(7), {.action = "after"}, 60); });
  EXPECT_EQ(next.seq, 6);
  const VerifyReport report = verify(*old);
  EXPECT_TRUE(report.ok);
  EXPECT_EQ(report.records_checked, 6);
  old->close();
}

TEST_P(AuditChain, EachOrganisationHasItsOwnChain) {
  record_one(actor(7), {.action = "a.one"}, 1000);
  Actor other = actor(9);
  other.org_id = 2;
  const Recorded first = record_one(other, {.action = "b.one"}, 1500);
  EXPECT_EQ(first.seq, 1);
  record_one(other, {.action = "b.two"}, 1600);
  record_one(actor(7), {.action = "a.two"}, 2000);
  EXPECT_TRUE(chain_is_intact(rows(1), 2));
  EXPECT_TRUE(chain_is_intact(rows(2), 2));
  EXPECT_EQ(rows(2)[0].prev_hash, "");
}

TEST_P(AuditChain, ConcurrentWritersProduceOneGaplessChain) {
  constexpr int kThreads = 8, kEach = 25;
  std::vector<std::vector<Recorded>> returned(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        Actor a = actor(t + 1, "10.0.0." + std::to_string(t + 1),
                        std::to_string(t) + ":" + std::to_string(i));
        returned[t].push_back(database->write([&](db::Tx& tx) {
          return record(tx, a, {.action = "load.test", .object_id = std::to_string(i)},
                        1'700'000'000'000 + i);
        }));
      }
    });
  for (auto& th : threads) th.join();

  const auto chain = rows();
  ASSERT_TRUE(chain_is_intact(chain, kThreads * kEach));
  std::set<int64_t> seqs;
  for (const auto& per_thread : returned) {
    ASSERT_EQ(per_thread.size(), static_cast<size_t>(kEach));
    for (size_t i = 1; i < per_thread.size(); ++i)
      EXPECT_GT(per_thread[i].seq, per_thread[i - 1].seq);  // a thread's records stay in order
    for (const auto& r : per_thread) {
      seqs.insert(r.seq);
      EXPECT_EQ(chain.at(static_cast<size_t>(r.seq - 1)).hash, r.hash);
    }
  }
  EXPECT_EQ(seqs.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(*seqs.begin(), 1);
  EXPECT_EQ(*seqs.rbegin(), kThreads * kEach);
  std::set<std::string> request_ids;
  for (const auto& r : chain) request_ids.insert(r.actor.request_id);
  EXPECT_EQ(request_ids.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(head().first, kThreads * kEach);
}

INSTANTIATE_TEST_SUITE_P(Engines, AuditChain, ::testing::ValuesIn(testing_db::engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace custos::audit
