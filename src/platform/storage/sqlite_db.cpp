// SQLite engine. One writer connection guarded by a mutex (SQLite admits one writer at a time;
// queueing in-process is cheaper than spinning on SQLITE_BUSY) and a pool of reader connections
// that see WAL snapshots while the writer works. Durability: WAL with synchronous=FULL, so a
// COMMIT that returned has been fsync'd to the WAL file (see docs/operations.md).
#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <unordered_map>

#include "platform/storage/db.h"
#include "platform/storage/sql_map.h"

namespace custos::db {
namespace {

DbError sqlite_error(sqlite3* h, int rc) {
  const int ext = h ? sqlite3_extended_errcode(h) : rc;
  std::string msg = std::string("sqlite: ") + (h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
  switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return DbError(DbError::Kind::unique_violation, msg);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return DbError(DbError::Kind::foreign_key_violation, msg);
    case SQLITE_CONSTRAINT_CHECK:
      return DbError(DbError::Kind::check_violation, msg);
    default:
      break;
  }
  switch (ext & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return DbError(DbError::Kind::busy, msg);
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB:
      return DbError(DbError::Kind::connection, msg);
    default:
      return DbError(DbError::Kind::other, msg);
  }
}

// Once per process, before the library's first use: no memory statistics. SQLite keeps them
// under a global mutex on every allocation, which every reader thread then contends for; nothing
// here reads them. (When the library was already initialised this is refused and changes nothing.)
void configure_library() {
  static std::once_flag once;
  std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

class Connection final : public Tx {
 public:
  Connection(const std::string& path, const Options& options, bool reader) {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path.c_str(), &h_, flags, nullptr);
    if (rc != SQLITE_OK) {
      DbError e = sqlite_error(h_, rc);
      sqlite3_close_v2(h_);
      h_ = nullptr;
      throw DbError(DbError::Kind::connection, e.what());
    }
    sqlite3_extended_result_codes(h_, 1);
    sqlite3_busy_timeout(h_, static_cast<int>(options.busy_timeout.count()));
    std::string pragmas =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=FULL;"
        "PRAGMA foreign_keys=ON;"
        "PRAGMA temp_store=MEMORY;"
        "PRAGMA cache_size=-" +
        std::to_string(options.sqlite_cache_mib * 1024) + ";";
    if (reader) pragmas += "PRAGMA query_only=ON;";
    exec_script(pragmas);
  }
  ~Connection() override {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    if (h_) sqlite3_close_v2(h_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Engine engine() const override { return Engine::sqlite; }

  Result query(std::string_view sql, std::span<const Value> params) override {
    statement_allowed(sql);
    sqlite3_stmt* stmt = prepare(sql);
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{stmt};
    const int expected = sqlite3_bind_parameter_count(stmt);
    if (expected != static_cast<int>(params.size()))
      throw DbError(DbError::Kind::other, "sqlite: statement expects " + std::to_string(expected) +
                                              " parameters, got " + std::to_string(params.size()));
    for (size_t i = 0; i < params.size(); ++i) bind(stmt, static_cast<int>(i + 1), params[i]);

    Result result = with_columns(stmt);
    while (step(stmt)) read_row(stmt, result);
    result.affected = sqlite3_stmt_readonly(stmt) ? 0 : sqlite3_changes64(h_);
    return result;
  }

  void each(std::string_view sql, std::span<const Value> params, size_t batch,
            const std::function<void(Result&)>& fn) override {
    batch = std::max<size_t>(batch, 1);
    // A statement of its own, not the cache's: `fn` may run the same SQL meanwhile.
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(h_, sql.data(), static_cast<int>(sql.size()), 0, &stmt, nullptr);
    if (rc != SQLITE_OK) throw sqlite_error(h_, rc);
    if (!stmt) throw DbError(DbError::Kind::other, "sqlite: empty statement");
    struct Finalize {
      sqlite3_stmt* s;
      ~Finalize() { sqlite3_finalize(s); }
    } finalize{stmt};
    if (sqlite3_bind_parameter_count(stmt) != static_cast<int>(params.size()))
      throw DbError(DbError::Kind::other, "sqlite: parameter count mismatch");
    for (size_t i = 0; i < params.size(); ++i) bind(stmt, static_cast<int>(i + 1), params[i]);
    Result chunk = with_columns(stmt);
    while (step(stmt)) {
      read_row(stmt, chunk);
      if (chunk.rows.size() < batch) continue;
      fn(chunk);
      chunk.rows.clear();
    }
    if (!chunk.rows.empty()) fn(chunk);
  }

  void exec_script(std::string_view sql) override {
    std::string s(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(h_, s.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      DbError e = sqlite_error(h_, rc);
      throw DbError(e.kind(), "sqlite: " + msg);
    }
  }

  // Runs fn between BEGIN and COMMIT; rolls back when fn or COMMIT throws. Mode::single runs
  // fn's one SELECT on its own (autocommit: the statement is its own read transaction).
  void transaction(Db::Mode mode, const std::function<void(Tx&)>& fn) {
    if (mode == Db::Mode::single) {
      struct Single {
        Tx& tx;
        ~Single() { tx.end_single(); }
      } single{*this};
      begin_single();
      fn(*this);
      return;
    }
    const bool write = mode == Db::Mode::write;
    // Through the statement cache: BEGIN and COMMIT are prepared once per connection.
    query(write ? "BEGIN IMMEDIATE" : "BEGIN", {});
    end_transaction();  // this connection is the Tx of each of its transactions in turn
    try {
      fn(*this);
      run_before_commit();
      query("COMMIT", {});
      end_transaction();
    } catch (...) {
      end_transaction();
      if (!sqlite3_get_autocommit(h_)) sqlite3_exec(h_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

 private:
  static Result with_columns(sqlite3_stmt* stmt) {
    Result result;
    result.column_count = static_cast<size_t>(sqlite3_column_count(stmt));
    return result;
  }
  // One step: true when it produced a row, false when the statement is done.
  bool step(sqlite3_stmt* stmt) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) return false;
    if (rc != SQLITE_ROW) throw sqlite_error(h_, rc);
    return true;
  }
  static void read_row(sqlite3_stmt* stmt, Result& into) {
    const int ncols = static_cast<int>(into.column_count);
    std::vector<Value>& row = into.rows.emplace_back();
    row.reserve(ncols);
    for (int c = 0; c < ncols; ++c) row.push_back(column(stmt, c));
  }

  sqlite3_stmt* prepare(std::string_view sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(h_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) throw sqlite_error(h_, rc);
    if (!stmt) throw DbError(DbError::Kind::other, "sqlite: empty statement");
    cache_.emplace(std::string(sql), stmt);
    return stmt;
  }

  static void bind(sqlite3_stmt* stmt, int i, const Value& v) {
    int rc = std::visit(
        [&](const auto& x) -> int {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, Null>) return sqlite3_bind_null(stmt, i);
          if constexpr (std::is_same_v<T, int64_t>) return sqlite3_bind_int64(stmt, i, x);
          if constexpr (std::is_same_v<T, double>) return sqlite3_bind_double(stmt, i, x);
          if constexpr (std::is_same_v<T, std::string>)
            return sqlite3_bind_text64(stmt, i, x.data(), x.size(), SQLITE_STATIC, SQLITE_UTF8);
          if constexpr (std::is_same_v<T, Blob>)
            return sqlite3_bind_blob64(stmt, i, x.bytes.data(), x.bytes.size(), SQLITE_STATIC);
        },
        v);
    if (rc != SQLITE_OK) throw DbError(DbError::Kind::other, "sqlite: bind failed");
  }

  static Value column(sqlite3_stmt* stmt, int c) {
    switch (sqlite3_column_type(stmt, c)) {
      case SQLITE_NULL:
        return Null{};
      case SQLITE_INTEGER:
        return static_cast<int64_t>(sqlite3_column_int64(stmt, c));
      case SQLITE_FLOAT:
        return sqlite3_column_double(stmt, c);
      case SQLITE_BLOB: {
        const void* p = sqlite3_column_blob(stmt, c);
        int n = sqlite3_column_bytes(stmt, c);
        return Blob{std::string(static_cast<const char*>(p), static_cast<size_t>(n))};
      }
      default: {
        const unsigned char* p = sqlite3_column_text(stmt, c);
        int n = sqlite3_column_bytes(stmt, c);
        return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
      }
    }
  }

  sqlite3* h_ = nullptr;
  SqlMap<sqlite3_stmt*> cache_;
};

class SqliteDb final : public Db {
 public:
  SqliteDb(const Options& options, std::string path) : path_(std::move(path)) {
    configure_library();
    memory_ = path_ == ":memory:";
    if (!memory_) {
      auto parent = std::filesystem::path(path_).parent_path();
      if (!parent.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(parent, ec);
      }
    }
    writer_ = std::make_unique<Connection>(path_, options, /*reader=*/false);
    // An in-memory database is private to its connection: everything goes through the writer.
    const int readers = memory_ ? 0 : std::max(1, options.pool_size);
    for (int i = 0; i < readers; ++i)
      free_.push_back(std::make_unique<Connection>(path_, options, /*reader=*/true));
    size_ = readers + 1;
  }

  Engine engine() const override { return Engine::sqlite; }

  void ping() override {
    read([](Tx& tx) { tx.query("SELECT 1"); });
  }

  PoolStats stats() const override {
    std::lock_guard lock(mu_);
    return PoolStats{size_, in_use_, waits_};
  }

  void close() override {
    std::unique_lock lock(mu_);
    closed_ = true;
    cv_.wait(lock, [&] { return in_use_ == 0; });
    free_.clear();
    std::lock_guard wlock(write_mu_);
    writer_.reset();
    size_ = 0;
  }

 protected:
  void run(Mode mode, const std::function<void(Tx&)>& fn) override {
    if (mode == Mode::write || memory_) {
      std::lock_guard wlock(write_mu_);
      {
        std::lock_guard lock(mu_);
        if (closed_ || !writer_)
          throw DbError(DbError::Kind::connection, "sqlite: database closed");
        ++in_use_;
      }
      struct Done {
        SqliteDb* self;
        ~Done() {
          std::lock_guard lock(self->mu_);
          --self->in_use_;
          self->cv_.notify_all();
        }
      } done{this};
      writer_->transaction(mode, fn);
      return;
    }
    std::unique_ptr<Connection> conn;
    {
      std::unique_lock lock(mu_);
      if (free_.empty() && !closed_) ++waits_;
      cv_.wait(lock, [&] { return closed_ || !free_.empty(); });
      if (closed_) throw DbError(DbError::Kind::connection, "sqlite: database closed");
      conn = std::move(free_.back());
      free_.pop_back();
      ++in_use_;
    }
    struct Return {
      SqliteDb* self;
      std::unique_ptr<Connection>& conn;
      ~Return() {
        std::lock_guard lock(self->mu_);
        self->free_.push_back(std::move(conn));
        --self->in_use_;
        self->cv_.notify_all();
      }
    } give_back{this, conn};
    conn->transaction(mode, fn);
  }

 private:
  std::string path_;
  bool memory_ = false;
  std::mutex write_mu_;  // serialises writers
  std::unique_ptr<Connection> writer_;
  mutable std::mutex mu_;  // guards the reader pool and the counters
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> free_;
  int size_ = 0;
  int in_use_ = 0;
  int64_t waits_ = 0;
  bool closed_ = false;
};

}  // namespace

std::unique_ptr<Db> open_sqlite(const Options& options, const std::string& path) {
  return std::make_unique<SqliteDb>(options, path);
}

}  // namespace custos::db
