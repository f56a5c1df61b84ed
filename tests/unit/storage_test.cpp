// Issue #2 item 4: one Db interface, two engines, numbered migrations, transactions that
// commit the change and its audit record together or neither. Every case runs on SQLite and,
// when the run has one, on PostgreSQL.
#include <gtest/gtest.h>

#include <thread>

#include "platform/storage/migrations.h"
#include "test_db.h"

namespace custos::db {
namespace {

class Storage : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    database = testing_db::open_fresh(GetParam());
    migrate(*database);
  }
  void TearDown() override { database->close(); }
  int64_t count(const std::string& table) {
    return database->read(
        [&](Tx& tx) { return as_int(tx.query("SELECT COUNT(*) FROM " + table).rows.at(0).at(0)); });
  }
  std::unique_ptr<Db> database;
};

TEST_P(Storage, MigrationsApplyOnceAndRecordTheirVersion) {
  const int newest = all_migrations().back().version;
  EXPECT_EQ(schema_version(*database), newest);
  MigrateReport again = migrate(*database);
  EXPECT_TRUE(again.applied.empty());
  EXPECT_EQ(again.from, newest);
  EXPECT_EQ(count("schema_migrations"), static_cast<int64_t>(all_migrations().size()));
  EXPECT_EQ(count("organizations"), 1);  // the default organisation, org_id 1
}

TEST_P(Storage, MigrationVersionsAreStrictlyIncreasing) {
  int last = 0;
  for (const Migration& m : all_migrations()) {
    EXPECT_GT(m.version, last);
    last = m.version;
  }
}

TEST_P(Storage, CommitKeepsBothRowsAndAThrowKeepsNeither) {
  database->write([](Tx& tx) {
    tx.exec("INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (1, ?, ?)",
            {std::string("business row"), int64_t{1}});
    tx.exec("INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (1, ?, ?)",
            {std::string("its audit record"), int64_t{2}});
  });
  EXPECT_EQ(count("diagnostic_writes"), 2);
  EXPECT_THROW(database->write([](Tx& tx) {
    tx.exec("INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (1, ?, ?)",
            {std::string("half"), int64_t{3}});
    throw std::runtime_error("the audit write failed");
  }),
               std::runtime_error);
  EXPECT_EQ(count("diagnostic_writes"), 2);
}

TEST_P(Storage, ConstraintViolationsHaveKinds) {
  try {
    database->write([](Tx& tx) {
      tx.exec("INSERT INTO organizations (code, name, created_at) VALUES ('default', 'x', 0)");
    });
    FAIL() << "expected a unique violation";
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), DbError::Kind::unique_violation);
  }
  try {
    database->write([](Tx& tx) {
      tx.exec("INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (999, 'x', 0)");
    });
    FAIL() << "expected a foreign key violation";
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), DbError::Kind::foreign_key_violation);
  }
}

TEST_P(Storage, ParametersAreDataNeverSql) {
  const std::string hostile = "'; DROP TABLE diagnostic_writes; --";
  database->write([&](Tx& tx) {
    tx.exec("INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (1, ?, 0)",
            {hostile});
  });
  auto row = database->read([](Tx& tx) {
    return tx.one("SELECT payload FROM diagnostic_writes WHERE payload LIKE '%DROP%'");
  });
  ASSERT_TRUE(row);
  EXPECT_EQ(as_text(row->at(0)), hostile);
}

TEST_P(Storage, ValuesRoundTrip) {
  database->write([](Tx& tx) {
    tx.exec_script(render_sql(tx.engine(),
                              "CREATE TABLE t_values (id {{ID}}, i BIGINT, d DOUBLE PRECISION, "
                              "s TEXT, b {{BLOB}})"));
    tx.exec("INSERT INTO t_values (i, d, s, b) VALUES (?, ?, ?, ?)",
            {int64_t{INT64_MIN}, 0.25, std::string("楼上卫生间漏水"),
             Blob{std::string("\0\xff\x01", 3)}});
    tx.exec("INSERT INTO t_values (i, d, s, b) VALUES (?, ?, ?, ?)",
            {null(), null(), null(), null()});
  });
  auto r = database->read(
      [](Tx& tx) { return tx.query("SELECT i, d, s, b FROM t_values ORDER BY id"); });
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(as_int(r.rows[0][0]), INT64_MIN);
  EXPECT_DOUBLE_EQ(as_double(r.rows[0][1]), 0.25);
  EXPECT_EQ(as_text(r.rows[0][2]), "楼上卫生间漏水");
  EXPECT_EQ(std::get<Blob>(r.rows[0][3]).bytes, std::string("\0\xff\x01", 3));
  for (const Value& v : r.rows[1]) EXPECT_TRUE(is_null(v));
}

TEST_P(Storage, ConcurrentWritersAllLand) {
  constexpr int kThreads = 6, kEach = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        database->write([&](Tx& tx) {
          tx.exec("INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (1, ?, 0)",
                  {std::to_string(t) + ":" + std::to_string(i)});
        });
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(count("diagnostic_writes"), kThreads * kEach);
  PoolStats s = database->stats();
  EXPECT_GE(s.size, 1);
  EXPECT_EQ(s.in_use, 0);
}

TEST_P(Storage, ReadsDoNotSeeUncommittedWrites) {
  std::atomic<bool> inside{false}, release{false};
  std::thread writer([&] {
    database->write([&](Tx& tx) {
      tx.exec("INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (1, 'x', 0)");
      inside = true;
      while (!release) std::this_thread::yield();
    });
  });
  while (!inside) std::this_thread::yield();
  EXPECT_EQ(count("diagnostic_writes"), 0);
  release = true;
  writer.join();
  EXPECT_EQ(count("diagnostic_writes"), 1);
}

TEST_P(Storage, EachReadsEveryRowInBatchesFromOneSnapshot) {
  database->write([](Tx& tx) {
    for (int64_t i = 1; i <= 2501; ++i)
      tx.exec("INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (1, ?, ?)",
              {"row " + std::to_string(i), i});
  });
  const std::string sql =
      "SELECT created_at, payload FROM diagnostic_writes WHERE org_id = ? AND created_at > ? "
      "ORDER BY created_at DESC";
  std::vector<size_t> batches;
  int64_t expect = 2501, inner_total = 0;
  database->read([&](Tx& tx) {
    const Value params[] = {int64_t{1}, int64_t{0}};
    tx.each(sql, params, 1000, [&](Result& chunk) {
      batches.push_back(chunk.rows.size());
      for (const auto& row : chunk.rows) EXPECT_EQ(as_int(row.at(0)), expect--);
      // A write committed meanwhile is not in this read's snapshot; the callback may query
      // (even the same SQL, even another each) on the same transaction.
      if (batches.size() == 1) {
        std::thread([&] {
          database->write([](Tx& w) {
            w.exec("INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (1, ?, ?)",
                   {std::string("late"), int64_t{9999}});
          });
        }).join();
        inner_total = as_int(tx.query("SELECT COUNT(*) FROM diagnostic_writes").rows.at(0).at(0));
        const Value inner_params[] = {int64_t{1}, int64_t{2500}};
        size_t inner = 0;
        tx.each(sql, inner_params, 1, [&](Result& c) { inner += c.rows.size(); });
        EXPECT_EQ(inner, 1u);
      }
    });
  });
  EXPECT_EQ(batches, (std::vector<size_t>{1000, 1000, 501}));
  EXPECT_EQ(expect, 0);
  EXPECT_EQ(inner_total, 2501);  // the late row is invisible to the snapshot
  EXPECT_EQ(count("diagnostic_writes"), 2502);
  // An empty result calls nothing; a bad statement is an error, and the Tx stays usable after.
  database->read([&](Tx& tx) {
    const Value none[] = {int64_t{2}, int64_t{0}};
    int calls = 0;
    tx.each(sql, none, 10, [&](Result&) { ++calls; });
    EXPECT_EQ(calls, 0);
  });
  EXPECT_THROW(database->read([&](Tx& tx) {
    tx.each("SELECT nonsense FROM nowhere", {}, 10, [](Result&) {});
  }),
               DbError);
  EXPECT_EQ(count("diagnostic_writes"), 2502);
}

TEST_P(Storage, BoundedCountStopsAtItsLimit) {
  database->write([](Tx& tx) {
    for (int64_t i = 1; i <= 5; ++i)
      tx.exec("INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (1, ?, ?)",
              {std::string("row"), i});
  });
  database->read([](Tx& tx) {
    const std::string from = " FROM diagnostic_writes WHERE org_id = ? AND created_at > ?";
    const Value above_one[] = {int64_t{1}, int64_t{1}};
    auto c = bounded_count(tx, from, above_one, 4);  // exactly the limit: still exact
    EXPECT_EQ(c.n, 4);
    EXPECT_TRUE(c.exact);
    c = bounded_count(tx, from, above_one, 3);  // more than the limit: the limit, not exact
    EXPECT_EQ(c.n, 3);
    EXPECT_FALSE(c.exact);
    const Value none[] = {int64_t{2}, int64_t{0}};
    c = bounded_count(tx, from, none, 3);
    EXPECT_EQ(c.n, 0);
    EXPECT_TRUE(c.exact);
  });
}

// Db::read_one: one SELECT without BEGIN/COMMIT, and nothing else.
TEST_P(Storage, ReadOneRunsExactlyOneSelect) {
  database->write([](Tx& tx) {
    tx.exec("INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (1, 'a', 7)");
  });
  const int64_t n = database->read_one([](Tx& tx) {
    return as_int(
        tx.one("SELECT COUNT(*) FROM diagnostic_writes WHERE created_at = ?", {int64_t{7}})->at(0));
  });
  EXPECT_EQ(n, 1);
  // A second statement is a programming error, and so is a write.
  EXPECT_THROW(database->read_one([](Tx& tx) {
    tx.query("SELECT 1");
    tx.query("SELECT 2");
  }),
               std::logic_error);
  EXPECT_THROW(database->read_one([](Tx& tx) {
    tx.exec("INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (1, 'b', 8)");
  }),
               std::logic_error);
  EXPECT_THROW(database->read_one([](Tx& tx) { tx.query("  delete FROM diagnostic_writes"); }),
               std::logic_error);
  EXPECT_EQ(count("diagnostic_writes"), 1);
  // The guard ends with the call: a pooled connection's next transaction runs as usual.
  for (int i = 0; i < 10; ++i)
    database->read([](Tx& tx) {
      tx.query("SELECT 1");
      tx.query("SELECT 2");
    });
  // A statement that fails inside read_one fails as in a transaction, and leaves nothing open.
  EXPECT_THROW(database->read_one([](Tx& tx) { tx.query("SELECT nonsense FROM nowhere"); }),
               DbError);
  database->write([](Tx& tx) {
    tx.exec("INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (1, 'c', 9)");
  });
  EXPECT_EQ(count("diagnostic_writes"), 2);
}

// A record and its linked ids in one statement (id_list), read back in ascending order.
TEST_P(Storage, IdListGathersLinkedIds) {
  database->write([](Tx& tx) {
    for (int64_t t : {30, 4, 12})
      tx.exec("INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (1, 'x', ?)",
              {t});
  });
  database->read([](Tx& tx) {
    const std::string sql =
        "SELECT o.id, " +
        id_list(tx.engine(), "w.created_at",
                " FROM diagnostic_writes w WHERE w.org_id = o.id AND w.payload = ?") +
        " FROM organizations o WHERE o.id = 1";
    auto some = tx.one(sql, {std::string("x")});
    EXPECT_EQ(parse_id_list(some->at(1)), (std::vector<int64_t>{4, 12, 30}));
    auto none = tx.one(sql, {std::string("y")});
    EXPECT_TRUE(is_null(none->at(1)));
    EXPECT_TRUE(parse_id_list(none->at(1)).empty());
  });
  EXPECT_EQ(parse_id_list(Value{std::string("7")}), (std::vector<int64_t>{7}));
  EXPECT_THROW(parse_id_list(Value{std::string("1,,2")}), std::runtime_error);
  EXPECT_THROW(parse_id_list(Value{std::string("1,x")}), std::runtime_error);
}

// A row inserted whole with the id next_id gave it; the next id follows every id the table used
// (an SQLite AUTOINCREMENT table never gives a deleted row's id again), and a later INSERT that
// leaves the id to the engine does not collide with it.
TEST_P(Storage, NextIdIsFreshAndFollowsEveryIdUsed) {
  const int64_t first = database->write([](Tx& tx) {
    const int64_t id = next_id(tx, "diagnostic_writes");
    tx.exec("INSERT INTO diagnostic_writes (org_id, id, payload, created_at) VALUES (1, ?, 'a', 1)",
            {id});
    return id;
  });
  database->write([&](Tx& tx) {
    EXPECT_EQ(as_int(tx.query("SELECT MAX(id) FROM diagnostic_writes").rows.at(0).at(0)), first);
    tx.exec("DELETE FROM diagnostic_writes WHERE id = ?", {first});
  });
  const int64_t second = database->write([](Tx& tx) { return next_id(tx, "diagnostic_writes"); });
  EXPECT_GT(second, first);
  const int64_t automatic = database->write([](Tx& tx) {
    return as_int(
        tx.one("INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (1, 'b', 2) "
               "RETURNING id")
            ->at(0));
  });
  EXPECT_GT(automatic, first);
  database->write([&](Tx& tx) {
    const int64_t id = next_id(tx, "diagnostic_writes");
    EXPECT_GT(id, automatic);
    tx.exec("INSERT INTO diagnostic_writes (org_id, id, payload, created_at) VALUES (1, ?, 'c', 3)",
            {id});
  });
  EXPECT_EQ(count("diagnostic_writes"), 2);
  database->write([](Tx& tx) {
    EXPECT_THROW(next_id(tx, "diagnostic_writes; DROP TABLE users"), std::logic_error);
    EXPECT_THROW(next_id(tx, ""), std::logic_error);
  });
}

TEST_P(Storage, PingAndClose) {
  EXPECT_NO_THROW(database->ping());
  database->close();
  EXPECT_THROW(database->ping(), DbError);
}

INSTANTIATE_TEST_SUITE_P(Engines, Storage, ::testing::ValuesIn(testing_db::engines()),
                         [](const auto& info) { return info.param; });

TEST(StorageUrl, RejectsUnknownSchemes) {
  Options o;
  o.url = "mysql://x";
  EXPECT_THROW(open(o), std::invalid_argument);
}

TEST(StorageSqlite, RendersDialectTokens) {
  EXPECT_EQ(render_sql(Engine::sqlite, "id {{ID}}, b {{BLOB}}"),
            "id INTEGER PRIMARY KEY AUTOINCREMENT, b BLOB");
  EXPECT_EQ(render_sql(Engine::postgres, "id {{ID}}, b {{BLOB}}"),
            "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, b BYTEA");
}

}  // namespace
}  // namespace custos::db
