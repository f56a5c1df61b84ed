// The PostgreSQL engine against a real server. Set TEST_PG_URL (scripts/pg-temp.sh start DIR
// prints one) to run these; without it they are skipped. Each test works in tables of its own,
// named uniquely and dropped at the end, so tests can share one database.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "platform/storage/db.h"

namespace custos::db {
namespace {

std::string test_pg_url() {
  const char* url = std::getenv("TEST_PG_URL");
  return url ? url : "";
}

// A TCP port on 127.0.0.1 that nothing listens on (bound, read, released).
int unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return 1;  // port 1: nothing listens there either
  }
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

class PostgresDb : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = test_pg_url();
    if (url_.empty()) GTEST_SKIP() << "TEST_PG_URL is not set; skipping PostgreSQL tests";
    db_ = open_pg(4);
  }

  void TearDown() override {
    if (db_) db_->close();
    if (tables_.empty()) return;
    // A fresh handle: the test may have closed or broken its own.
    auto cleanup = open_pg(1);
    cleanup->write([&](Tx& tx) {
      // Newest first: later tables may reference earlier ones.
      for (auto t = tables_.rbegin(); t != tables_.rend(); ++t) {
        tx.exec_script("DROP TABLE IF EXISTS " + *t);
      }
    });
  }

  std::unique_ptr<Db> open_pg(int pool_size) {
    Options options;
    options.url = url_;
    options.pool_size = pool_size;
    return open_postgres(options);
  }

  // Creates a table with a unique name and the given column list; returns the name.
  std::string make_table(const std::string& columns) {
    static std::atomic<int> counter{0};
    std::string name = "pgtest_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    db_->write([&](Tx& tx) { tx.exec_script("CREATE TABLE " + name + " (" + columns + ")"); });
    tables_.push_back(name);
    return name;
  }

  int64_t count(const std::string& table) {
    return db_->read(
        [&](Tx& tx) { return as_int(tx.one("SELECT COUNT(*) FROM " + table)->at(0)); });
  }

  std::string url_;
  std::unique_ptr<Db> db_;
  std::vector<std::string> tables_;
};

TEST_F(PostgresDb, ReportsItsEngine) {
  EXPECT_EQ(db_->engine(), Engine::postgres);
  db_->read([](Tx& tx) { EXPECT_EQ(tx.engine(), Engine::postgres); });
}

TEST_F(PostgresDb, RoundTripsEveryValueType) {
  const std::string t =
      make_table("id BIGINT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, s TEXT, b BYTEA");
  const std::string insert = "INSERT INTO " + t + " (id, i, d, s, b) VALUES (?, ?, ?, ?, ?)";
  const std::string chinese = "服务信息管理系统 — 中文测试 ✓ 𝄞";
  const std::string binary("\x00\xff\x00\x01\xfe\\x'\"?\x00", 11);

  std::vector<std::vector<Value>> rows = {
      {int64_t{1}, null(), null(), null(), null()},
      {int64_t{2}, std::numeric_limits<int64_t>::min(), 0.1, chinese, Blob{binary}},
      {int64_t{3}, std::numeric_limits<int64_t>::max(), -1.7976931348623157e308, std::string(),
       Blob{}},
      {int64_t{4}, int64_t{0}, 4.9406564584124654e-324, std::string("plain"),
       Blob{std::string(1, '\0')}},
      {int64_t{5}, int64_t{-1}, 3.141592653589793, std::string("line\nbreak\ttab"),
       Blob{std::string("\xff\xff", 2)}},
  };
  db_->write([&](Tx& tx) {
    for (const auto& row : rows) {
      EXPECT_EQ(tx.query(insert, std::span<const Value>(row)).affected, 1);
    }
  });

  Result r = db_->read(
      [&](Tx& tx) { return tx.query("SELECT id, i, d, s, b FROM " + t + " ORDER BY id"); });
  EXPECT_EQ(r.column_count, 5u);
  ASSERT_EQ(r.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t c = 0; c < rows[i].size(); ++c) {
      EXPECT_TRUE(r.rows[i][c] == rows[i][c]) << "row " << i << " column " << c;
    }
  }
  EXPECT_TRUE(is_null(r.rows[0][1]));
  EXPECT_EQ(as_int(r.rows[1][1]), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(as_int(r.rows[2][1]), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(as_text(r.rows[1][3]), chinese);
  EXPECT_EQ(std::get<Blob>(r.rows[1][4]).bytes, binary);
  EXPECT_EQ(std::get<Blob>(r.rows[1][4]).bytes.size(), 11u);
}

TEST_F(PostgresDb, ConvertsColumnTypesByOid) {
  Result r = db_->read([](Tx& tx) {
    return tx.query(
        "SELECT CAST(7 AS SMALLINT) AS i2, CAST(-8 AS INTEGER) AS i4, CAST(9 AS BIGINT) AS i8,"
        " TRUE AS yes, FALSE AS no, CAST(1.5 AS REAL) AS f4, CAST(2.25 AS DOUBLE PRECISION) AS f8,"
        " CAST(0.1 AS NUMERIC) AS num, CAST('NaN' AS DOUBLE PRECISION) AS nan,"
        " CAST('-Infinity' AS DOUBLE PRECISION) AS ninf, 'text' AS txt, CAST(NULL AS TEXT) AS nul,"
        " CAST('\\x00ff' AS BYTEA) AS bin, CAST('2024-01-02' AS DATE) AS day");
  });
  ASSERT_EQ(r.size(), 1u);
  const auto& row = r.rows[0];
  EXPECT_EQ(std::get<int64_t>(row[0]), 7);
  EXPECT_EQ(std::get<int64_t>(row[1]), -8);
  EXPECT_EQ(std::get<int64_t>(row[2]), 9);
  EXPECT_EQ(std::get<int64_t>(row[3]), 1);
  EXPECT_EQ(std::get<int64_t>(row[4]), 0);
  EXPECT_EQ(std::get<double>(row[5]), 1.5);
  EXPECT_EQ(std::get<double>(row[6]), 2.25);
  EXPECT_EQ(std::get<double>(row[7]), 0.1);
  EXPECT_TRUE(std::isnan(std::get<double>(row[8])));
  EXPECT_EQ(std::get<double>(row[9]), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(std::get<std::string>(row[10]), "text");
  EXPECT_TRUE(std::holds_alternative<Null>(row[11]));
  EXPECT_EQ(std::get<Blob>(row[12]).bytes, std::string("\x00\xff", 2));
  EXPECT_EQ(std::get<std::string>(row[13]), "2024-01-02");
  EXPECT_EQ(r.affected, 0);  // a SELECT changes nothing
}

TEST_F(PostgresDb, DoublesRoundTripExactlyIncludingSpecials) {
  const std::string t = make_table("id BIGINT PRIMARY KEY, d DOUBLE PRECISION, n NUMERIC");
  const std::vector<double> values = {0.1,
                                      1.0 / 3.0,
                                      -0.0,
                                      1e300,
                                      std::numeric_limits<double>::denorm_min(),
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity()};
  db_->write([&](Tx& tx) {
    for (size_t i = 0; i < values.size(); ++i) {
      tx.exec("INSERT INTO " + t + " (id, d) VALUES (?, ?)", {static_cast<int64_t>(i), values[i]});
    }
    tx.exec("INSERT INTO " + t + " (id, d, n) VALUES (100, ?, ?)",
            {std::numeric_limits<double>::quiet_NaN(), 0.1});
  });
  Result r = db_->read([&](Tx& tx) { return tx.query("SELECT d, n FROM " + t + " ORDER BY id"); });
  ASSERT_EQ(r.size(), values.size() + 1);
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(as_double(r.rows[i][0]), values[i]);
  EXPECT_TRUE(std::isnan(as_double(r.rows.back()[0])));
  EXPECT_EQ(as_double(r.rows.back()[1]), 0.1);  // not 0.10000000000000001
}

TEST_F(PostgresDb, TranslatesPlaceholdersOutsideLiteralsOnly) {
  const std::string t = make_table("id BIGINT PRIMARY KEY, s TEXT, n BIGINT");
  db_->write([&](Tx& tx) {
    // A literal '?' first, a parameter after it.
    EXPECT_EQ(
        tx.exec("INSERT INTO " + t + " (id, s, n) VALUES (?, 'a?b', ?)", {int64_t{1}, int64_t{42}}),
        1);
    EXPECT_EQ(tx.exec("INSERT INTO " + t + " (id, s, n) VALUES (?, 'it''s ?', ?)",
                      {int64_t{2}, int64_t{43}}),
              1);
  });
  auto row = db_->read(
      [&](Tx& tx) { return tx.one("SELECT s, n FROM " + t + " WHERE id = ?", {int64_t{1}}); });
  ASSERT_TRUE(row);
  EXPECT_EQ(as_text(row->at(0)), "a?b");
  EXPECT_EQ(as_int(row->at(1)), 42);
  row = db_->read(
      [&](Tx& tx) { return tx.one("SELECT s, n FROM " + t + " WHERE id = ?", {int64_t{2}}); });
  ASSERT_TRUE(row);
  EXPECT_EQ(as_text(row->at(0)), "it's ?");
  EXPECT_EQ(as_int(row->at(1)), 43);

  // Quoted identifiers, comments, E'' strings and dollar quotes keep their '?'.
  Result r = db_->read([](Tx& tx) {
    return tx.query(
        "SELECT CAST(? AS BIGINT) AS \"what?\", -- a comment? yes\n"
        " E'esc\\'?' AS e, /* block ? /* nested ? */ still ? */ $$dollar?$$ AS d,"
        " $q$tagged ? $$ ?$q$ AS q, CAST(? AS TEXT) AS last",
        {int64_t{5}, std::string("?")});
  });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r.column_count, 5u);
  EXPECT_EQ(as_int(r.rows[0][0]), 5);
  EXPECT_EQ(as_text(r.rows[0][1]), "esc'?");
  EXPECT_EQ(as_text(r.rows[0][2]), "dollar?");
  EXPECT_EQ(as_text(r.rows[0][3]), "tagged ? $$ ?");
  EXPECT_EQ(as_text(r.rows[0][4]), "?");
}

TEST_F(PostgresDb, WrongParameterCountIsAnError) {
  EXPECT_THROW(db_->read([](Tx& tx) { tx.query("SELECT CAST(? AS BIGINT)", {}); }), DbError);
  EXPECT_THROW(db_->read([](Tx& tx) { tx.query("SELECT 1", {int64_t{1}}); }), DbError);
}

TEST_F(PostgresDb, CommittedWritesAreVisibleToOtherTransactionsAndConnections) {
  const std::string t = make_table("id BIGINT PRIMARY KEY, s TEXT");
  db_->write([&](Tx& tx) {
    tx.exec("INSERT INTO " + t + " (id, s) VALUES (?, ?)", {int64_t{1}, std::string("one")});
  });
  EXPECT_EQ(count(t), 1);
  auto other = open_pg(1);
  auto s = other->read([&](Tx& tx) { return as_text(tx.one("SELECT s FROM " + t)->at(0)); });
  EXPECT_EQ(s, "one");
  other->close();
}

TEST_F(PostgresDb, WriteReturnsTheCallbacksValue) {
  const std::string t = make_table("id BIGSERIAL PRIMARY KEY, s TEXT");
  int64_t id = db_->write([&](Tx& tx) {
    Result r = tx.query("INSERT INTO " + t + " (s) VALUES (?) RETURNING id", {std::string("x")});
    EXPECT_EQ(r.affected, 1);
    return as_int(r.rows.at(0).at(0));
  });
  EXPECT_GE(id, 1);
  int64_t changed = db_->write([&](Tx& tx) {
    tx.exec("INSERT INTO " + t + " (s) VALUES ('y'), ('z')");
    return tx.exec("UPDATE " + t + " SET s = ?", {std::string("w")});
  });
  EXPECT_EQ(changed, 3);
}

TEST_F(PostgresDb, AnExceptionRollsBackEverything) {
  const std::string t = make_table("id BIGINT PRIMARY KEY");
  EXPECT_THROW(db_->write([&](Tx& tx) {
    tx.exec("INSERT INTO " + t + " (id) VALUES (?)", {int64_t{1}});
    tx.exec("INSERT INTO " + t + " (id) VALUES (?)", {int64_t{2}});
    throw std::runtime_error("changed my mind");
  }),
               std::runtime_error);
  EXPECT_EQ(count(t), 0);
  // The connection went back to the pool clean: the next transaction works.
  db_->write([&](Tx& tx) { tx.exec("INSERT INTO " + t + " (id) VALUES (?)", {int64_t{3}}); });
  EXPECT_EQ(count(t), 1);
}

TEST_F(PostgresDb, ASwallowedStatementErrorFailsTheCommit) {
  const std::string t = make_table("id BIGINT PRIMARY KEY");
  EXPECT_THROW(db_->write([&](Tx& tx) {
    tx.exec("INSERT INTO " + t + " (id) VALUES (?)", {int64_t{1}});
    try {
      tx.exec("INSERT INTO " + t + " (id) VALUES (?)", {int64_t{1}});
    } catch (const DbError&) {
      // ignored: the server has aborted the transaction anyway
    }
  }),
               DbError);
  EXPECT_EQ(count(t), 0);
}

TEST_F(PostgresDb, ConstraintViolationsMapToKinds) {
  const std::string parent = make_table("id BIGINT PRIMARY KEY, code TEXT UNIQUE");
  const std::string child = make_table("id BIGINT PRIMARY KEY, parent_id BIGINT REFERENCES " +
                                       parent + "(id), qty BIGINT CHECK (qty > 0)");
  db_->write([&](Tx& tx) {
    tx.exec("INSERT INTO " + parent + " (id, code) VALUES (?, ?)",
            {int64_t{1}, std::string("secret-code-value")});
  });
  auto kind_of = [&](auto&& fn) {
    try {
      db_->write(fn);
    } catch (const DbError& e) {
      EXPECT_EQ(std::string(e.what()).find("secret-code-value"), std::string::npos)
          << "parameter leaked into: " << e.what();
      return e.kind();
    }
    ADD_FAILURE() << "no DbError";
    return DbError::Kind::other;
  };
  EXPECT_EQ(kind_of([&](Tx& tx) {
              tx.exec("INSERT INTO " + parent + " (id, code) VALUES (?, ?)",
                      {int64_t{2}, std::string("secret-code-value")});
            }),
            DbError::Kind::unique_violation);
  EXPECT_EQ(kind_of([&](Tx& tx) {
              tx.exec("INSERT INTO " + parent + " (id, code) VALUES (?, ?)",
                      {int64_t{1}, std::string("other")});
            }),
            DbError::Kind::unique_violation);
  EXPECT_EQ(kind_of([&](Tx& tx) {
              tx.exec("INSERT INTO " + child + " (id, parent_id, qty) VALUES (?, ?, ?)",
                      {int64_t{1}, int64_t{99}, int64_t{1}});
            }),
            DbError::Kind::foreign_key_violation);
  EXPECT_EQ(kind_of([&](Tx& tx) {
              tx.exec("INSERT INTO " + child + " (id, parent_id, qty) VALUES (?, ?, ?)",
                      {int64_t{1}, int64_t{1}, int64_t{0}});
            }),
            DbError::Kind::check_violation);
  EXPECT_EQ(kind_of([&](Tx& tx) { tx.exec("SELECT * FROM no_such_table_at_all"); }),
            DbError::Kind::other);
  EXPECT_EQ(count(parent), 1);
  EXPECT_EQ(count(child), 0);
}

TEST_F(PostgresDb, SqlMetacharactersInParametersAreData) {
  const std::string t = make_table("id BIGINT PRIMARY KEY, s TEXT");
  const std::vector<std::string> nasty = {"'; DROP TABLE " + t + "; --",
                                          "Robert'); DROP TABLE students;--",
                                          "\" OR 1=1 --",
                                          "?",
                                          "$1",
                                          "\\x00",
                                          "/* ? */"};
  db_->write([&](Tx& tx) {
    for (size_t i = 0; i < nasty.size(); ++i) {
      tx.exec("INSERT INTO " + t + " (id, s) VALUES (?, ?)", {static_cast<int64_t>(i), nasty[i]});
    }
  });
  Result r = db_->read([&](Tx& tx) { return tx.query("SELECT s FROM " + t + " ORDER BY id"); });
  ASSERT_EQ(r.size(), nasty.size());
  for (size_t i = 0; i < nasty.size(); ++i) EXPECT_EQ(as_text(r.rows[i][0]), nasty[i]);
  auto found =
      db_->read([&](Tx& tx) { return tx.one("SELECT id FROM " + t + " WHERE s = ?", {nasty[0]}); });
  ASSERT_TRUE(found);
  EXPECT_EQ(as_int(found->at(0)), 0);
}

TEST_F(PostgresDb, TextWithANulByteIsRefusedNotTruncated) {
  const std::string t = make_table("id BIGINT PRIMARY KEY, s TEXT");
  EXPECT_THROW(db_->write([&](Tx& tx) {
    tx.exec("INSERT INTO " + t + " (id, s) VALUES (?, ?)", {int64_t{1}, std::string("ab\0cd", 5)});
  }),
               DbError);
  EXPECT_EQ(count(t), 0);
}

TEST_F(PostgresDb, ReadTransactionsAreReadOnly) {
  const std::string t = make_table("id BIGINT PRIMARY KEY");
  EXPECT_THROW(db_->read([&](Tx& tx) { tx.exec("INSERT INTO " + t + " (id) VALUES (1)"); }),
               DbError);
  EXPECT_EQ(count(t), 0);
}

TEST_F(PostgresDb, ExecScriptRunsSeveralStatements) {
  const std::string t = make_table("id BIGINT PRIMARY KEY, s TEXT");
  db_->write([&](Tx& tx) {
    tx.exec_script("INSERT INTO " + t + " VALUES (1, 'a?');\nINSERT INTO " + t +
                   " VALUES (2, 'b');\n-- done\n");
  });
  EXPECT_EQ(count(t), 2);
  EXPECT_THROW(db_->write([&](Tx& tx) {
    tx.exec_script("INSERT INTO " + t + " VALUES (3, 'c'); INSERT INTO " + t + " VALUES (1, 'x');");
  }),
               DbError);
  EXPECT_EQ(count(t), 2);
}

TEST_F(PostgresDb, SessionIsUtf8AndUtc) {
  auto row = db_->read([](Tx& tx) {
    return tx.one(
        "SELECT current_setting('client_encoding'), current_setting('TimeZone'),"
        " CAST(EXTRACT(EPOCH FROM CAST('1970-01-02 00:00:00' AS TIMESTAMPTZ)) AS BIGINT)");
  });
  ASSERT_TRUE(row);
  EXPECT_EQ(as_text(row->at(0)), "UTF8");
  EXPECT_EQ(as_text(row->at(1)), "UTC");
  EXPECT_EQ(as_int(row->at(2)), 86400);
}

TEST_F(PostgresDb, PoolServesManyThreads) {
  const std::string t = make_table("id BIGINT PRIMARY KEY, thread BIGINT, s TEXT");
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < kPerThread; ++i) {
        try {
          db_->write([&](Tx& tx) {
            tx.exec("INSERT INTO " + t + " (id, thread, s) VALUES (?, ?, ?)",
                    {int64_t{th} * 100000 + i, int64_t{th}, std::string("线程")});
          });
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(count(t), kThreads * kPerThread);
  Result per_thread = db_->read([&](Tx& tx) {
    return tx.query("SELECT thread, COUNT(*) FROM " + t + " GROUP BY thread ORDER BY thread");
  });
  ASSERT_EQ(per_thread.size(), static_cast<size_t>(kThreads));
  for (const auto& row : per_thread.rows) EXPECT_EQ(as_int(row[1]), kPerThread);

  PoolStats s = db_->stats();
  EXPECT_GE(s.size, 1);
  EXPECT_LE(s.size, 4);
  EXPECT_EQ(s.in_use, 0);
  EXPECT_GT(s.waits, 0);  // 8 threads on 4 connections
}

TEST_F(PostgresDb, StatsCountLentConnections) {
  auto db = open_pg(2);
  EXPECT_EQ(db->stats().size, 1);  // one opened eagerly
  EXPECT_EQ(db->stats().in_use, 0);
  db->read([&](Tx&) {
    EXPECT_EQ(db->stats().in_use, 1);
    db->read([&](Tx&) {
      PoolStats s = db->stats();
      EXPECT_EQ(s.in_use, 2);
      EXPECT_EQ(s.size, 2);
    });
  });
  PoolStats s = db->stats();
  EXPECT_EQ(s.in_use, 0);
  EXPECT_EQ(s.size, 2);
  EXPECT_EQ(s.waits, 0);
}

TEST_F(PostgresDb, ReconnectsAfterTheServerDropsAConnection) {
  auto db = open_pg(1);
  int64_t pid = db->read(
      [](Tx& tx) { return as_int(tx.one("SELECT CAST(pg_backend_pid() AS BIGINT)")->at(0)); });
  db_->write([&](Tx& tx) {
    auto killed = tx.one("SELECT CAST(pg_terminate_backend(CAST(? AS INTEGER)) AS INTEGER)", {pid});
    EXPECT_EQ(as_int(killed->at(0)), 1);
  });
  // Wait until the backend is really gone, so the pooled session is certainly dead.
  for (int attempt = 0; attempt < 100; ++attempt) {
    int64_t alive = db_->read([&](Tx& tx) {
      return as_int(tx.one("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?", {pid})->at(0));
    });
    if (alive == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // The next transaction must reconnect, not fail.
  int64_t pid2 = db->read(
      [](Tx& tx) { return as_int(tx.one("SELECT CAST(pg_backend_pid() AS BIGINT)")->at(0)); });
  EXPECT_NE(pid2, pid);
  EXPECT_NO_THROW(db->ping());
  EXPECT_EQ(db->stats().size, 1);
}

// Db::read_one has no BEGIN to find a dead session first: its SELECT does, and runs again on a
// new one.
TEST_F(PostgresDb, ReadOneReconnectsAfterTheServerDropsAConnection) {
  auto db = open_pg(1);
  const auto backend = [](Tx& tx) {
    return as_int(tx.one("SELECT CAST(pg_backend_pid() AS BIGINT)")->at(0));
  };
  const int64_t pid = db->read_one(backend);
  db_->write([&](Tx& tx) {
    tx.one("SELECT CAST(pg_terminate_backend(CAST(? AS INTEGER)) AS INTEGER)", {pid});
  });
  for (int attempt = 0; attempt < 100; ++attempt) {
    int64_t alive = db_->read([&](Tx& tx) {
      return as_int(tx.one("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?", {pid})->at(0));
    });
    if (alive == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  int64_t pid2 = 0;
  EXPECT_NO_THROW(pid2 = db->read_one(backend));
  EXPECT_NE(pid2, pid);
  EXPECT_EQ(db->stats().size, 1);
}

TEST_F(PostgresDb, StatementCacheSurvivesATableChangingShape) {
  const std::string t = make_table("id BIGINT PRIMARY KEY");
  auto db = open_pg(1);
  const std::string select = "SELECT * FROM " + t;
  db->read([&](Tx& tx) { EXPECT_EQ(tx.query(select).column_count, 1u); });
  db->write([&](Tx& tx) { tx.exec_script("ALTER TABLE " + t + " ADD COLUMN extra TEXT"); });
  // The cached plan may fail once ("cached plan must not change result type"); it must then be
  // prepared afresh.
  try {
    db->read([&](Tx& tx) { tx.query(select); });
  } catch (const DbError&) {
  }
  db->read([&](Tx& tx) { EXPECT_EQ(tx.query(select).column_count, 2u); });
}

TEST_F(PostgresDb, CloseIsIdempotentAndLaterCallsFail) {
  auto db = open_pg(2);
  db->ping();
  db->close();
  db->close();
  EXPECT_EQ(db->stats().size, 0);
  EXPECT_THROW(db->read([](Tx&) {}), DbError);
  EXPECT_THROW(db->ping(), DbError);
}

TEST_F(PostgresDb, CloseWhileAConnectionIsLentClosesItOnReturn) {
  auto db = open_pg(2);
  db->read([&](Tx& tx) {
    db->close();
    EXPECT_EQ(as_int(tx.one("SELECT 1")->at(0)), 1);  // the lent connection still works
  });
  EXPECT_EQ(db->stats().size, 0);
  EXPECT_EQ(db->stats().in_use, 0);
}

// No server needed: nothing listens on the port.
TEST(PostgresDbNoServer, UnreachableServerIsAConnectionErrorWithoutThePassword) {
  const std::string port = std::to_string(unused_port());
  for (const std::string& url :
       {"postgresql://custos:s3cretpw@127.0.0.1:" + port + "/custos_test",
        "postgres://custos:s3cretpw@127.0.0.1:" + port + "/custos_test?connect_timeout=5",
        "host=127.0.0.1 port=" + port + " user=custos password=s3cretpw dbname=custos_test"}) {
    Options options;
    options.url = url;
    options.pool_size = 2;
    try {
      auto db = open_postgres(options);
      db->ping();
      ADD_FAILURE() << "no error for " << url;
    } catch (const DbError& e) {
      EXPECT_EQ(e.kind(), DbError::Kind::connection);
      const std::string message = e.what();
      EXPECT_EQ(message.find("s3cretpw"), std::string::npos) << message;
      EXPECT_NE(message.find("127.0.0.1"), std::string::npos) << message;
    }
  }
}

TEST(PostgresDbNoServer, UnparsableUrlIsRejectedWithoutThePassword) {
  Options options;
  options.url = "postgresql://custos:s3cretpw@127.0.0.1:5432/db?no_such_option=1";
  try {
    open_postgres(options);
    ADD_FAILURE() << "no error";
  } catch (const std::exception& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cretpw"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace custos::db
