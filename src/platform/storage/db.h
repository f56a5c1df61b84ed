// The storage interface every module uses. Two engines implement it: SQLite (the embedded
// default) and PostgreSQL (scale-out). SQL is written once, with `?` placeholders, against the
// portable subset both engines accept; the PostgreSQL engine rewrites `?` to `$n`. Every change
// runs inside `Db::write`, so a business row and its audit record commit together or not at all.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace custos::db {

enum class Engine { sqlite, postgres };

struct Null {
  bool operator==(const Null&) const = default;
};
struct Blob {
  std::string bytes;
  bool operator==(const Blob&) const = default;
};

// A parameter or a cell. Booleans travel as integers (0/1); times as integer milliseconds since
// the Unix epoch (UTC), which both engines store and compare exactly.
using Value = std::variant<Null, int64_t, double, std::string, Blob>;

inline Value null() {
  return Null{};
}
// NULL when empty.
inline Value optional(const std::optional<int64_t>& v) {
  Value out = Null{};
  if (v) out = *v;
  return out;
}
inline Value optional(const std::optional<std::string>& v) {
  Value out = Null{};
  if (v) out = *v;
  return out;
}

struct Result {
  size_t column_count = 0;  // the statement's columns (their names are not kept: hot reads
                            // would pay an allocation per name and nothing reads them)
  std::vector<std::vector<Value>> rows;
  int64_t affected = 0;  // rows changed by INSERT/UPDATE/DELETE

  bool empty() const { return rows.empty(); }
  size_t size() const { return rows.size(); }
};

// Typed access to a cell; throws std::runtime_error on a type mismatch (a programming error).
bool is_null(const Value& v);
int64_t as_int(const Value& v);
double as_double(const Value& v);
const std::string& as_text(const Value& v);
std::optional<int64_t> as_opt_int(const Value& v);
std::optional<std::string> as_opt_text(const Value& v);

// Thrown for storage failures. `kind` lets callers map a unique-key clash to 409 without
// parsing engine messages.
class DbError : public std::runtime_error {
 public:
  enum class Kind {
    unique_violation,
    foreign_key_violation,
    check_violation,
    busy,
    connection,
    other
  };
  DbError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

// One open transaction on one connection. Only valid inside the callback of Db::read/write.
class Tx {
 public:
  virtual ~Tx() = default;
  virtual Engine engine() const = 0;
  // Runs one statement (prepared and cached per connection) and returns its rows.
  virtual Result query(std::string_view sql, std::span<const Value> params) = 0;
  // Runs several statements with no parameters (migrations).
  virtual void exec_script(std::string_view sql) = 0;
  // Runs one query and hands its rows to `fn` in batches of at most `batch` rows, all from the
  // transaction's snapshot, in constant memory however many rows there are (exports). PostgreSQL
  // reads through a cursor, SQLite steps the statement; `fn` may run other queries on this Tx.
  virtual void each(std::string_view sql, std::span<const Value> params, size_t batch,
                    const std::function<void(Result&)>& fn) = 0;

  Result query(std::string_view sql, std::initializer_list<Value> params = {}) {
    return query(sql, std::span<const Value>(params.begin(), params.size()));
  }
  int64_t exec(std::string_view sql, std::initializer_list<Value> params = {}) {
    return query(sql, params).affected;
  }
  // The first row, if any.
  std::optional<std::vector<Value>> one(std::string_view sql,
                                        std::initializer_list<Value> params = {}) {
    Result r = query(sql, params);
    if (r.rows.empty()) return std::nullopt;
    return std::move(r.rows.front());
  }

  // Runs `fn` just before this transaction commits, in the order added; a throw rolls the
  // transaction back. Many statements of one transaction can so write a summary once (the audit
  // chain's head row, which PostgreSQL would otherwise keep a version of per record).
  void before_commit(std::function<void(Tx&)> fn) { before_commit_.push_back(std::move(fn)); }
  // State that lives as long as this transaction, kept under its owner's address (empty at first).
  std::shared_ptr<void>& local(const void* key);

  // For the engines: run the before-commit functions (just before COMMIT); forget them and the
  // transaction's state (when it ends, either way).
  void run_before_commit();
  void end_transaction();
  // For the engines, in Db::read_one: allow one SELECT (statement_allowed throws on any other).
  void begin_single() { single_ = true, statements_ = 0; }
  void end_single() { single_ = false; }
  void statement_allowed(std::string_view sql) {
    if (single_) check_single(sql);
  }

 private:
  void check_single(std::string_view sql);
  bool single_ = false;
  int statements_ = 0;
  std::vector<std::function<void(Tx&)>> before_commit_;
  std::vector<std::pair<const void*, std::shared_ptr<void>>> locals_;
};

// A count that stops: how many rows `from_where` (" FROM ... WHERE ...") yields, reading at most
// limit + 1 of them. More than `limit`: n is limit and exact is false (a list's total on a large
// register costs a bounded number of row reads, like its page).
struct Count {
  int64_t n = 0;
  bool exact = true;
};
// How far the registers' lists count their totals (docs/operations.md, "list totals").
inline constexpr int64_t kListCountLimit = 1000;
Count bounded_count(Tx& tx, const std::string& from_where, std::span<const Value> params,
                    int64_t limit);

// A scalar subquery: the integer `column` of the rows `from_where` (" FROM ... WHERE ...") names,
// as one comma-separated text (NULL when there are none), so a record and its few linked ids come
// in one statement. parse_id_list reads it back, ascending.
std::string id_list(Engine engine, std::string_view column, std::string_view from_where);
std::vector<int64_t> parse_id_list(const Value& v);

// The id for a new row of `table` (whose `id` is an identity or AUTOINCREMENT column), for an
// INSERT that names it: a row whose other columns depend on its id (sealed personal fields are
// bound to it) is then written whole, in one statement. PostgreSQL draws it from the column's
// sequence; SQLite, whose write transactions exclude each other, takes the next one after every id
// the table has used. Call it in the write transaction that inserts the row.
int64_t next_id(Tx& tx, std::string_view table);

// A LIKE pattern for "contains q", LIKE's own wildcards in q escaped: the statement must say
// ESCAPE '\'.
std::string like_contains(const std::string& q);

struct PoolStats {
  int size = 0;       // connections open
  int in_use = 0;     // connections lent out now
  int64_t waits = 0;  // acquisitions that had to wait for a free connection
};

struct Options {
  std::string url;  // sqlite:///path/to/file.db, sqlite::memory:, postgresql://...
  int pool_size = 8;
  std::chrono::milliseconds busy_timeout{5000};
  int sqlite_cache_mib = 64;
};

class Db {
 public:
  enum class Mode { read, write, single };  // how run() wraps its callback

  virtual ~Db() = default;
  virtual Engine engine() const = 0;

  // Runs fn in a transaction that may write; commits when fn returns normally (the commit is
  // durable when this returns), rolls back and rethrows when fn throws.
  template <class F>
  auto write(F&& fn) {
    return run_typed(Mode::write, std::forward<F>(fn));
  }
  // Runs fn in a read-only transaction (a consistent snapshot on both engines).
  template <class F>
  auto read(F&& fn) {
    return run_typed(Mode::read, std::forward<F>(fn));
  }
  // Runs fn, which issues exactly one SELECT, without BEGIN and COMMIT: one statement is a
  // consistent snapshot by itself, and a hot read (a record by id) so saves two statements on
  // SQLite and two round trips on PostgreSQL. A second statement, or one that is not a SELECT,
  // throws std::logic_error (a programming error).
  template <class F>
  auto read_one(F&& fn) {
    return run_typed(Mode::single, std::forward<F>(fn));
  }

  // Throws DbError when the database cannot be reached.
  virtual void ping() = 0;
  virtual PoolStats stats() const = 0;
  // Closes every connection; later calls fail. Called once on shutdown.
  virtual void close() = 0;

 protected:
  virtual void run(Mode mode, const std::function<void(Tx&)>& fn) = 0;

 private:
  template <class F>
  auto run_typed(Mode mode, F&& fn) {
    using R = std::invoke_result_t<F, Tx&>;
    if constexpr (std::is_void_v<R>) {
      run(mode, [&](Tx& tx) { fn(tx); });
    } else {
      std::optional<R> out;
      run(mode, [&](Tx& tx) { out.emplace(fn(tx)); });
      return std::move(*out);
    }
  }
};

// Opens the engine the URL names. Throws DbError(connection) or std::invalid_argument.
std::unique_ptr<Db> open(const Options& options);

// Engine-specific factories (used by open()).
std::unique_ptr<Db> open_sqlite(const Options& options, const std::string& path);
std::unique_ptr<Db> open_postgres(const Options& options);

}  // namespace custos::db
