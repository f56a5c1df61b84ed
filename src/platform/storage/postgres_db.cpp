// The PostgreSQL engine behind db.h, on libpq's C API.
//
// A pool of up to `pool_size` connections; each Db::read/write borrows one for the whole
// transaction. Statements are written with `?` placeholders, rewritten to `$1..$n`, prepared once
// per connection and executed with text-format parameters (binary for Blob, so bytea takes any
// bytes). Result cells are converted to Values by the column's type OID.
//
// Parameters are prepared without declared types, so the server infers each one from its context
// (the column it is compared with or assigned to). Where there is no context, as in `? IS NULL`,
// write `CAST(? AS BIGINT)` or `CAST(? AS TEXT)`, which SQLite accepts too.
#include "platform/storage/db.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "platform/storage/sql_map.h"

namespace custos::db {
namespace {

// Built-in type OIDs (catalog/pg_type_d.h is a server header, so they are spelled out here).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

// Prepared statements cached per connection before the cache is flushed (guards against SQL
// built with a varying shape, e.g. IN lists of every length).
constexpr size_t kMaxCachedStatements = 1000;

// ---------------------------------------------------------------------------------------------
// `?` → `$n`

struct Translated {
  std::string sql;
  int params = 0;
};

bool is_ident_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '_' || u >= 0x80;
}

// Rewrites each `?` placeholder to `$1..$n`, leaving alone any `?` inside a string literal
// ('...', E'...' with backslash escapes, $tag$...$tag$), a quoted identifier or a comment.
// (PostgreSQL's jsonb `?` operators are therefore unavailable; the portable subset has none.)
Translated translate_placeholders(std::string_view in) {
  Translated out;
  out.sql.reserve(in.size() + 16);
  const size_t n = in.size();
  size_t i = 0;
  // Copies in[i, end) verbatim and moves past it.
  auto copy_to = [&](size_t end) {
    end = std::min(end, n);
    out.sql.append(in.substr(i, end - i));
    i = end;
  };
  while (i < n) {
    const char c = in[i];
    const char next = i + 1 < n ? in[i + 1] : '\0';
    if (c == '\'') {
      const bool backslash_escapes =
          i > 0 && (in[i - 1] == 'E' || in[i - 1] == 'e') && (i < 2 || !is_ident_char(in[i - 2]));
      size_t j = i + 1;
      while (j < n) {
        if (backslash_escapes && in[j] == '\\') {
          j += 2;
        } else if (in[j] == '\'') {
          if (j + 1 < n && in[j + 1] == '\'') {
            j += 2;  // '' is an escaped quote
          } else {
            break;
          }
        } else {
          ++j;
        }
      }
      copy_to(j + 1);
    } else if (c == '"') {
      size_t end = in.find('"', i + 1);  // "" inside an identifier re-enters on the next pass
      copy_to(end == std::string_view::npos ? n : end + 1);
    } else if (c == '-' && next == '-') {
      size_t end = in.find('\n', i);
      copy_to(end == std::string_view::npos ? n : end + 1);
    } else if (c == '/' && next == '*') {
      // Block comments nest in PostgreSQL.
      size_t j = i + 2;
      int depth = 1;
      while (j < n && depth > 0) {
        if (in[j] == '/' && j + 1 < n && in[j + 1] == '*') {
          ++depth;
          j += 2;
        } else if (in[j] == '*' && j + 1 < n && in[j + 1] == '/') {
          --depth;
          j += 2;
        } else {
          ++j;
        }
      }
      copy_to(j);
    } else if (c == '$' && (i == 0 || !is_ident_char(in[i - 1])) &&
               (next == '$' || std::isalpha(static_cast<unsigned char>(next)) || next == '_')) {
      // Possibly a dollar-quoted string: $$...$$ or $tag$...$tag$.
      size_t j = i + 1;
      while (j < n && in[j] != '$' && is_ident_char(in[j])) ++j;
      if (j < n && in[j] == '$') {
        const std::string_view tag = in.substr(i, j - i + 1);
        size_t end = in.find(tag, j + 1);
        copy_to(end == std::string_view::npos ? n : end + tag.size());
      } else {
        copy_to(j);
      }
    } else if (c == '?') {
      out.sql += '$';
      out.sql += std::to_string(++out.params);
      ++i;
    } else {
      out.sql += c;
      ++i;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Errors

// Keeps credentials out of every message: error text is built from the parsed connection
// parameters, never the URL, and anything libpq says is scrubbed of the password as well.
class Redactor {
 public:
  explicit Redactor(std::string password = {}) : password_(std::move(password)) {}

  std::string clean(std::string_view message) const {
    std::string s(message);
    if (!password_.empty()) {
      for (size_t at = s.find(password_); at != std::string::npos; at = s.find(password_, at + 3)) {
        s.replace(at, password_.size(), "***");
      }
    }
    // libpq messages end in "\n" and continue on "\n\t" lines: flatten them into one line.
    std::string flat;
    flat.reserve(s.size());
    for (char ch : s) {
      if (ch == '\n' || ch == '\r' || ch == '\t') {
        if (!flat.empty() && flat.back() != ' ') flat += ' ';
      } else {
        flat += ch;
      }
    }
    while (!flat.empty() && flat.back() == ' ') flat.pop_back();
    return flat;
  }

 private:
  std::string password_;
};

DbError::Kind kind_for_sqlstate(std::string_view state) {
  using Kind = DbError::Kind;
  if (state == "23505") return Kind::unique_violation;
  if (state == "23503") return Kind::foreign_key_violation;
  if (state == "23514") return Kind::check_violation;
  if (state.starts_with("08")) return Kind::connection;
  // serialization_failure, deadlock_detected, lock_not_available (lock_timeout)
  if (state == "40001" || state == "40P01" || state == "55P03") return Kind::busy;
  return Kind::other;
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

bool succeeded(const PGresult* r) {
  if (!r) return false;
  switch (PQresultStatus(r)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:
      return true;
    default:
      return false;
  }
}

std::string_view field(const PGresult* r, int code) {
  const char* v = r ? PQresultErrorField(r, code) : nullptr;
  return v ? std::string_view(v) : std::string_view();
}

// Throws the DbError for a failed result (r may be null, e.g. when the connection dropped).
// The message is the server's primary message and SQLSTATE only: the detail line, which can
// quote row values, and the statement's parameters are never included.
[[noreturn]] void throw_error(PGconn* pg, const PGresult* r, const Redactor& redactor) {
  const std::string_view state = field(r, PG_DIAG_SQLSTATE);
  std::string message(field(r, PG_DIAG_MESSAGE_PRIMARY));
  if (message.empty()) message = PQerrorMessage(pg);
  if (message.empty()) message = "unknown error";
  DbError::Kind kind = kind_for_sqlstate(state);
  // A server that went away mid-statement leaves no SQLSTATE (or an admin-shutdown one).
  if (PQstatus(pg) != CONNECTION_OK) kind = DbError::Kind::connection;
  std::string text = "postgres: " + redactor.clean(message);
  if (!state.empty()) text += " [SQLSTATE " + std::string(state) + "]";
  throw DbError(kind, text);
}

// ---------------------------------------------------------------------------------------------
// Values

std::string format_double(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  // Shortest text that reads back as the same double (so 0.1 stays "0.1" in a NUMERIC column);
  // locale-independent, unlike printf.
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  (void)ec;  // 64 bytes always suffice for a double
  return std::string(buf, end);
}

// The parameter arrays PQexecPrepared takes; pointers refer into `params` and `owned`.
struct BoundParams {
  std::vector<std::string> owned;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;

  explicit BoundParams(std::span<const Value> params)
      : owned(params.size()),
        values(params.size(), nullptr),
        lengths(params.size(), 0),
        formats(params.size(), 0) {
    for (size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      if (std::holds_alternative<Null>(v)) {
        values[i] = nullptr;
      } else if (const auto* n = std::get_if<int64_t>(&v)) {
        owned[i] = std::to_string(*n);
        values[i] = owned[i].c_str();
      } else if (const auto* d = std::get_if<double>(&v)) {
        owned[i] = format_double(*d);
        values[i] = owned[i].c_str();
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        // Text parameters are NUL-terminated on the wire and PostgreSQL text cannot hold NUL:
        // refuse rather than silently truncate.
        if (s->find('\0') != std::string::npos) {
          throw DbError(DbError::Kind::other, "postgres: parameter " + std::to_string(i + 1) +
                                                  " is text containing a NUL byte; use a Blob");
        }
        values[i] = s->c_str();
      } else {
        const auto& b = std::get<Blob>(v);
        values[i] = b.bytes.data();
        lengths[i] = static_cast<int>(b.bytes.size());
        formats[i] = 1;  // binary: the bytes as they are, for a bytea column
      }
    }
  }
};

[[noreturn]] void throw_bad_cell(const char* type, const char* text) {
  throw DbError(DbError::Kind::other,
                std::string("postgres: cannot read ") + type + " value \"" + text + "\"");
}

Value decode_cell(Oid type, const char* text, int length) {
  switch (type) {
    case kBoolOid:
      return int64_t{text[0] == 't' ? 1 : 0};
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid: {
      int64_t n = 0;
      auto [end, ec] = std::from_chars(text, text + length, n);
      if (ec != std::errc() || end != text + length) throw_bad_cell("integer", text);
      return n;
    }
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid: {
      // from_chars reads "NaN", "Infinity" and "-Infinity" as the server writes them.
      double d = 0;
      auto [end, ec] = std::from_chars(text, text + length, d);
      if (ec != std::errc() || end != text + length) throw_bad_cell("numeric", text);
      return d;
    }
    case kByteaOid: {
      size_t size = 0;
      unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &size);
      if (!bytes) throw DbError(DbError::Kind::other, "postgres: out of memory decoding bytea");
      Blob blob{std::string(reinterpret_cast<const char*>(bytes), size)};
      PQfreemem(bytes);
      return blob;
    }
    default:
      return std::string(text, static_cast<size_t>(length));
  }
}

Result to_result(PGresult* r) {
  Result out;
  const int cols = PQnfields(r);
  const int rows = PQntuples(r);
  std::vector<Oid> types(static_cast<size_t>(cols));
  out.column_count = static_cast<size_t>(cols);
  for (int c = 0; c < cols; ++c) types[static_cast<size_t>(c)] = PQftype(r, c);
  out.rows.reserve(static_cast<size_t>(rows));
  for (int row = 0; row < rows; ++row) {
    std::vector<Value>& cells = out.rows.emplace_back();
    cells.reserve(static_cast<size_t>(cols));
    for (int c = 0; c < cols; ++c) {
      if (PQgetisnull(r, row, c)) {
        cells.emplace_back(Null{});
      } else {
        cells.push_back(decode_cell(types[static_cast<size_t>(c)], PQgetvalue(r, row, c),
                                    PQgetlength(r, row, c)));
      }
    }
  }
  // PQcmdTuples also counts the rows a SELECT returned; `affected` is for changes only.
  // (INSERT ... RETURNING and friends do count.)
  if (std::string_view(PQcmdStatus(r)).starts_with("SELECT")) return out;
  std::string_view tuples = PQcmdTuples(r);
  if (!tuples.empty()) std::from_chars(tuples.data(), tuples.data() + tuples.size(), out.affected);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Connections and transactions

struct Prepared {
  std::string name;
  int params = 0;
};

struct Conn {
  PGconn* pg = nullptr;
  // Statements prepared on this session, keyed by the SQL as the caller wrote it.
  SqlMap<Prepared> statements;
  uint64_t next_statement = 0;
  int open_cursors = 0;  // Tx::each nesting depth: names its cursor

  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() {
    if (pg) PQfinish(pg);
  }
};

// Runs a statement without parameters; throws DbError on failure.
void exec_simple(Conn& c, const char* sql, const Redactor& redactor) {
  PgResult r(PQexec(c.pg, sql));
  if (!succeeded(r.get())) throw_error(c.pg, r.get(), redactor);
}

// Best effort: ends whatever transaction is open. Never throws.
void rollback_quietly(Conn& c) noexcept {
  if (PQstatus(c.pg) != CONNECTION_OK) return;
  if (PQtransactionStatus(c.pg) == PQTRANS_IDLE) return;
  PQclear(PQexec(c.pg, "ROLLBACK"));
}

class PgTx final : public Tx {
 public:
  PgTx(Conn& conn, const Redactor& redactor) : conn_(conn), redactor_(redactor) {}

  Engine engine() const override { return Engine::postgres; }

  using Tx::query;
  Result query(std::string_view sql, std::span<const Value> params) override {
    statement_allowed(sql);
    const Prepared& prepared = prepare(sql);
    if (static_cast<size_t>(prepared.params) != params.size()) {
      throw DbError(DbError::Kind::other, "postgres: statement has " +
                                              std::to_string(prepared.params) +
                                              " placeholders but " + std::to_string(params.size()) +
                                              " parameters were given");
    }
    const std::string name = prepared.name;  // `prepared` may be evicted below
    BoundParams bound(params);
    PgResult r(PQexecPrepared(conn_.pg, name.c_str(), static_cast<int>(params.size()),
                              bound.values.data(), bound.lengths.data(), bound.formats.data(),
                              /*resultFormat=*/0));
    if (!succeeded(r.get())) {
      // 0A000 "cached plan must not change result type" (the table changed shape) and 26000
      // (the statement was deallocated behind our back) both mean: prepare afresh next time.
      const std::string_view state = field(r.get(), PG_DIAG_SQLSTATE);
      if (state == "0A000" || state == "26000")
        if (auto it = conn_.statements.find(sql); it != conn_.statements.end())
          conn_.statements.erase(it);
      throw_error(conn_.pg, r.get(), redactor_);
    }
    return to_result(r.get());
  }

  void each(std::string_view sql, std::span<const Value> params, size_t batch,
            const std::function<void(Result&)>& fn) override {
    batch = std::max<size_t>(batch, 1);
    // The cursor's name depends only on the nesting depth, so DECLARE and FETCH stay cached.
    struct Depth {
      int& n;
      ~Depth() { --n; }
    } depth{++conn_.open_cursors};
    const std::string cursor = "custos_each_" + std::to_string(depth.n);
    query("DECLARE " + cursor + " NO SCROLL CURSOR FOR " + std::string(sql), params);
    const std::string fetch = "FETCH " + std::to_string(batch) + " FROM " + cursor;
    for (;;) {
      Result chunk = query(fetch, std::span<const Value>());
      const bool last = chunk.rows.size() < batch;
      if (!chunk.rows.empty()) fn(chunk);
      if (last) break;
    }
    query("CLOSE " + cursor, std::span<const Value>());
  }

  // The script runs inside the surrounding transaction, so it must not contain BEGIN/COMMIT.
  void exec_script(std::string_view sql) override {
    const std::string script(sql);
    exec_simple(conn_, script.c_str(), redactor_);
  }

 private:
  const Prepared& prepare(std::string_view sql) {
    if (auto it = conn_.statements.find(sql); it != conn_.statements.end()) return it->second;
    if (conn_.statements.size() >= kMaxCachedStatements) {
      exec_simple(conn_, "DEALLOCATE ALL", redactor_);
      conn_.statements.clear();
    }
    Translated t = translate_placeholders(sql);
    Prepared p{"custos_" + std::to_string(++conn_.next_statement), t.params};
    PgResult r(PQprepare(conn_.pg, p.name.c_str(), t.sql.c_str(), t.params, nullptr));
    if (!succeeded(r.get())) throw_error(conn_.pg, r.get(), redactor_);
    return conn_.statements.emplace(std::string(sql), std::move(p)).first->second;
  }

  Conn& conn_;
  const Redactor& redactor_;
};

class PgDb;

// A connection borrowed from the pool; returns it on destruction.
class Lease {
 public:
  Lease(PgDb* db, std::unique_ptr<Conn> conn) : db_(db), conn_(std::move(conn)) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease();

  Conn& conn() { return *conn_; }

 private:
  PgDb* db_;
  std::unique_ptr<Conn> conn_;
};

class PgDb final : public Db {
 public:
  explicit PgDb(const Options& options)
      : url_(options.url),
        pool_size_(std::max(1, options.pool_size)),
        lock_timeout_ms_(options.busy_timeout.count()) {
    parse_url();
    // Open one connection now so that a wrong URL or an unreachable server fails at startup.
    Lease first = acquire();
  }

  ~PgDb() override { close(); }

  Engine engine() const override { return Engine::postgres; }

  void ping() override {
    Lease lease = acquire();
    Conn& c = lease.conn();
    PgResult r = exec_with_reconnect(c, "SELECT 1");
    if (!succeeded(r.get())) {
      try {
        throw_error(c.pg, r.get(), redactor_);
      } catch (const DbError& e) {
        throw DbError(DbError::Kind::connection, e.what());
      }
    }
  }

  PoolStats stats() const override {
    std::lock_guard lock(mutex_);
    return PoolStats{size_, in_use_, waits_};
  }

  void close() override {
    std::vector<std::unique_ptr<Conn>> doomed;  // finished after the lock is released
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      closed_ = true;
      doomed.swap(idle_);
      size_ -= static_cast<int>(doomed.size());
    }
    available_.notify_all();  // waiters wake up and fail; leased connections close on return
  }

  void release(std::unique_ptr<Conn> conn) noexcept {
    // Nothing half-done goes back into the pool: a connection still inside a transaction (the
    // ROLLBACK failed) is closed. A broken one is kept and reconnected when next acquired.
    if (PQstatus(conn->pg) == CONNECTION_OK && PQtransactionStatus(conn->pg) != PQTRANS_IDLE) {
      rollback_quietly(*conn);
      if (PQtransactionStatus(conn->pg) != PQTRANS_IDLE) conn.reset();
    }
    std::unique_ptr<Conn> doomed;  // declared before the lock: finished after it is released
    {
      std::lock_guard lock(mutex_);
      --in_use_;
      if (!conn || closed_) {
        --size_;
        doomed = std::move(conn);
      } else {
        idle_.push_back(std::move(conn));
      }
    }
    available_.notify_one();
  }

 protected:
  void run(Mode mode, const std::function<void(Tx&)>& fn) override {
    Lease lease = acquire();
    Conn& c = lease.conn();
    if (mode == Mode::single) {
      // No BEGIN to find a connection the server dropped meanwhile: its one SELECT does, and
      // runs again on a new session (it changed nothing).
      for (int attempt = 0;; ++attempt) {
        PgTx tx(c, redactor_);
        tx.begin_single();
        try {
          fn(tx);
          return;
        } catch (const DbError&) {
          if (attempt > 0 || PQstatus(c.pg) == CONNECTION_OK) throw;
        }
        reconnect(c);
      }
    }
    const bool write = mode == Mode::write;
    PgResult begun =
        exec_with_reconnect(c, write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    if (!succeeded(begun.get())) throw_error(c.pg, begun.get(), redactor_);

    PgTx tx(c, redactor_);
    try {
      fn(tx);
      tx.run_before_commit();
    } catch (...) {
      rollback_quietly(c);
      throw;
    }
    commit(c);
  }

 private:
  void parse_url() {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(url_.c_str(), &error);
    if (!options) {
      // libpq's message can quote part of the URL, password included: leave it out.
      if (error) PQfreemem(error);
      throw std::invalid_argument("postgres: the connection URL cannot be parsed");
    }
    std::string host, port, dbname, user, password;
    for (PQconninfoOption* o = options; o->keyword; ++o) {
      if (!o->val) continue;
      const std::string_view key = o->keyword;
      if (key == "password") password = o->val;
      if (key == "host" || (key == "hostaddr" && host.empty())) host = o->val;
      if (key == "port") port = o->val;
      if (key == "dbname") dbname = o->val;
      if (key == "user") user = o->val;
    }
    PQconninfoFree(options);
    redactor_ = Redactor(password);
    // e.g. "postgres@127.0.0.1:5432/custos", for messages.
    target_ = (user.empty() ? "" : user + "@") + (host.empty() ? "localhost" : host) +
              (port.empty() ? "" : ":" + port) + "/" + dbname;
    target_ = redactor_.clean(target_);
  }

  // Opens and sets up a new session; throws DbError(connection).
  std::unique_ptr<Conn> connect() {
    // Defaults come first so that the same keys in the URL (expanded from "dbname") win.
    const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
    const char* values[] = {"10", "custos", url_.c_str(), nullptr};
    auto conn = std::make_unique<Conn>();
    conn->pg = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (!conn->pg) throw DbError(DbError::Kind::connection, "postgres: out of memory");
    if (PQstatus(conn->pg) != CONNECTION_OK) throw connect_error(*conn);
    // Notices ("table does not exist, skipping", ...) would otherwise go to stderr.
    PQsetNoticeReceiver(
        conn->pg, [](void*, const PGresult*) {}, nullptr);
    setup_session(*conn);
    return conn;
  }

  // Re-establishes a broken session in place; server-side prepared statements are gone with it.
  void reconnect(Conn& conn) {
    conn.statements.clear();
    PQreset(conn.pg);
    if (PQstatus(conn.pg) != CONNECTION_OK) throw connect_error(conn);
    setup_session(conn);
  }

  DbError connect_error(Conn& conn) const {
    return DbError(DbError::Kind::connection, "postgres: cannot connect to " + target_ + ": " +
                                                  redactor_.clean(PQerrorMessage(conn.pg)));
  }

  void setup_session(Conn& conn) {
    // lock_timeout is the counterpart of SQLite's busy timeout: how long a statement waits for
    // a lock before failing with 55P03 (DbError busy).
    std::string sql = "SET client_encoding TO 'UTF8'; SET TIME ZONE 'UTC'";
    if (lock_timeout_ms_ > 0) sql += "; SET lock_timeout = " + std::to_string(lock_timeout_ms_);
    PgResult r(PQexec(conn.pg, sql.c_str()));
    if (!succeeded(r.get())) {
      try {
        throw_error(conn.pg, r.get(), redactor_);
      } catch (const DbError& e) {
        throw DbError(DbError::Kind::connection, e.what());
      }
    }
  }

  // Runs the first statement of a borrowed connection. A pooled session can go stale (server
  // restart, idle timeout) without libpq noticing until it is used; since nothing has run yet,
  // reconnecting and retrying once is safe.
  PgResult exec_with_reconnect(Conn& conn, const char* sql) {
    PgResult r(PQexec(conn.pg, sql));
    if (!succeeded(r.get()) && PQstatus(conn.pg) != CONNECTION_OK) {
      reconnect(conn);
      r.reset(PQexec(conn.pg, sql));
    }
    return r;
  }

  void commit(Conn& c) {
    // A statement failed and the callback swallowed the error: the server has aborted the
    // transaction and would answer COMMIT with ROLLBACK.
    if (PQtransactionStatus(c.pg) == PQTRANS_INERROR) {
      rollback_quietly(c);
      throw DbError(DbError::Kind::other,
                    "postgres: the transaction was rolled back because a statement in it failed");
    }
    PgResult r(PQexec(c.pg, "COMMIT"));
    if (!succeeded(r.get())) {
      if (PQstatus(c.pg) != CONNECTION_OK) {
        throw DbError(DbError::Kind::connection,
                      "postgres: connection lost during COMMIT; the outcome is unknown: " +
                          redactor_.clean(PQerrorMessage(c.pg)));
      }
      throw_error(c.pg, r.get(), redactor_);  // e.g. a deferred constraint, 40001
    }
    if (std::strcmp(PQcmdStatus(r.get()), "COMMIT") != 0) {
      throw DbError(DbError::Kind::other,
                    "postgres: COMMIT was answered with " + std::string(PQcmdStatus(r.get())));
    }
  }

  // Borrows a connection, opening one if the pool is below its size, else waiting for one.
  Lease acquire() {
    std::unique_lock lock(mutex_);
    bool counted_wait = false;
    for (;;) {
      if (closed_) throw DbError(DbError::Kind::connection, "postgres: the database is closed");
      if (!idle_.empty()) {
        std::unique_ptr<Conn> conn = std::move(idle_.back());
        idle_.pop_back();
        ++in_use_;
        lock.unlock();
        if (PQstatus(conn->pg) == CONNECTION_OK) return Lease(this, std::move(conn));
        try {
          reconnect(*conn);
        } catch (...) {
          forget_one();
          throw;  // conn is finished on the way out
        }
        return Lease(this, std::move(conn));
      }
      if (size_ < pool_size_) {
        ++size_;
        ++in_use_;
        lock.unlock();
        try {
          return Lease(this, connect());
        } catch (...) {
          forget_one();
          throw;
        }
      }
      if (!counted_wait) {
        ++waits_;
        counted_wait = true;
      }
      available_.wait(lock);
    }
  }

  // Takes back the counts of a lent connection that failed to (re)open.
  void forget_one() {
    {
      std::lock_guard lock(mutex_);
      --size_;
      --in_use_;
    }
    available_.notify_one();
  }

  const std::string url_;  // never put in a message: it may hold the password
  const int pool_size_;
  const int64_t lock_timeout_ms_;
  Redactor redactor_;
  std::string target_;  // user@host:port/dbname, for messages

  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Conn>> idle_;
  int size_ = 0;    // connections open or being opened
  int in_use_ = 0;  // connections lent out (or being opened)
  int64_t waits_ = 0;
  bool closed_ = false;
};

Lease::~Lease() {
  if (conn_) db_->release(std::move(conn_));
}

}  // namespace

std::unique_ptr<Db> open_postgres(const Options& options) {
  return std::make_unique<PgDb>(options);
}

}  // namespace custos::db
