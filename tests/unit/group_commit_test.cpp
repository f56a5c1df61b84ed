// db::GroupCommit (SI-7: the audit records of reads): concurrent writers share commits, each
// returns only once its own row is committed, and a failing writer fails alone. Runs on SQLite
// and, when TEST_PG_URL is set, on PostgreSQL.
#include "platform/storage/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "test_db.h"

namespace custos::db {
namespace {

class GroupCommitTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db = testing_db::open_fresh(GetParam());
    db->write([](Tx& tx) { tx.exec_script("CREATE TABLE gc_rows (n BIGINT NOT NULL UNIQUE)"); });
  }
  void TearDown() override { db->close(); }
  int64_t count() {
    return db->read(
        [](Tx& tx) { return as_int(tx.query("SELECT COUNT(*) FROM gc_rows").rows.at(0).at(0)); });
  }
  std::unique_ptr<Db> db;
};

TEST_P(GroupCommitTest, ConcurrentWritersShareCommitsAndSeeTheirRowCommitted) {
  GroupCommit group(*db);
  constexpr int kThreads = 8, kEach = 40;
  std::atomic<int> missing{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const int64_t n = t * 1000 + i;
        group.write([n](Tx& tx) { tx.exec("INSERT INTO gc_rows (n) VALUES (?)", {n}); });
        // Back from write: the row is committed, visible to another transaction.
        const bool seen = db->read([n](Tx& tx) {
          return !tx.query("SELECT 1 FROM gc_rows WHERE n = ?", {n}).rows.empty();
        });
        if (!seen) ++missing;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(missing.load(), 0);
  EXPECT_EQ(count(), kThreads * kEach);
  EXPECT_GE(group.commits(), 1);
  EXPECT_LE(group.commits(), kThreads * kEach);
}

TEST_P(GroupCommitTest, AFailingWriterFailsAloneAndTheOthersCommit) {
  GroupCommit group(*db);
  db->write([](Tx& tx) { tx.exec("INSERT INTO gc_rows (n) VALUES (7)"); });
  std::atomic<int> failed{0}, ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      try {
        // Thread 0 repeats a taken number (the unique index refuses it); the others do not.
        const int64_t n = t == 0 ? 7 : 100 + t;
        group.write([n](Tx& tx) { tx.exec("INSERT INTO gc_rows (n) VALUES (?)", {n}); });
        ++ok;
      } catch (const std::exception&) {
        ++failed;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 1);
  EXPECT_EQ(ok.load(), 5);
  EXPECT_EQ(count(), 6);
  // What the function throws reaches its caller as it was.
  EXPECT_THROW(group.write([](Tx&) { throw std::invalid_argument("no"); }), std::invalid_argument);
  EXPECT_EQ(count(), 6);
}

// write_async returns at once; each callback runs once its row is committed (visible to another
// transaction), a failing function's callback hears its own error, the others commit, and what
// is still queued at destruction is committed first.
TEST_P(GroupCommitTest, AsyncWritersAreCalledBackOnceTheirRowIsCommitted) {
  db->write([](Tx& tx) { tx.exec("INSERT INTO gc_rows (n) VALUES (7)"); });
  std::atomic<int> ok{0}, failed{0}, missing{0}, wrong_error{0};
  {
    GroupCommit group(*db);
    constexpr int kThreads = 4, kEach = 50;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          // One function repeats a taken number: the unique index refuses it.
          const int64_t n = t == 0 && i == 10 ? 7 : 1000 + t * 100 + i;
          group.write_async(
              [n](Tx& tx) { tx.exec("INSERT INTO gc_rows (n) VALUES (?)", {n}); },
              [&, n](std::exception_ptr e) {
                if (e) {
                  ++failed;
                  try {
                    std::rethrow_exception(e);
                  } catch (const DbError& err) {
                    if (err.kind() != DbError::Kind::unique_violation) ++wrong_error;
                  } catch (...) {
                    ++wrong_error;
                  }
                  return;
                }
                const bool seen = db->read([n](Tx& tx) {
                  return !tx.query("SELECT 1 FROM gc_rows WHERE n = ?", {n}).rows.empty();
                });
                if (!seen) ++missing;
                ++ok;
              });
        }
      });
    for (auto& th : threads) th.join();
    // Some are still queued here; the destructor commits them before it returns.
  }
  EXPECT_EQ(ok.load(), 4 * 50 - 1);
  EXPECT_EQ(failed.load(), 1);
  EXPECT_EQ(wrong_error.load(), 0);
  EXPECT_EQ(missing.load(), 0);
  EXPECT_EQ(count(), 4 * 50);  // 199 new rows and the 7
}

// Synchronous and asynchronous writers share the queue and its commits.
TEST_P(GroupCommitTest, SyncAndAsyncWritersMix) {
  std::atomic<int> called{0};
  {
    GroupCommit group(*db);
    std::thread async([&] {
      for (int i = 0; i < 40; ++i)
        group.write_async([i](Tx& tx) { tx.exec("INSERT INTO gc_rows (n) VALUES (?)", {i}); },
                          [&](std::exception_ptr e) {
                            if (!e) ++called;
                          });
    });
    for (int i = 0; i < 40; ++i)
      group.write(
          [i](Tx& tx) { tx.exec("INSERT INTO gc_rows (n) VALUES (?)", {int64_t{500 + i}}); });
    async.join();
  }
  EXPECT_EQ(called.load(), 40);
  EXPECT_EQ(count(), 80);
}

INSTANTIATE_TEST_SUITE_P(Engines, GroupCommitTest, ::testing::ValuesIn(testing_db::engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace custos::db
