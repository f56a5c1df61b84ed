// Numbered schema migrations that run on both engines. Each migration is portable SQL with a
// few dialect tokens (see render_sql); the runner records what it applied in
// schema_migrations, refuses to run against a database newer than the binary, and takes a lock
// so two servers starting at once do not both migrate.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "platform/storage/db.h"

namespace custos::db {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;              // portable, with dialect tokens
  std::string_view sqlite_sql = {};  // then this, on SQLite only (triggers and the like)
  std::string_view postgres_sql = {};
};

// Every migration the binary knows, in version order.
std::span<const Migration> all_migrations();

// Replaces the dialect tokens: {{ID}} (an auto-generated 64-bit primary key), {{BLOB}},
// {{BIGINT}}.
std::string render_sql(Engine engine, std::string_view sql);

struct MigrateReport {
  int from = 0;
  int to = 0;
  std::vector<int> applied;
};

// Brings the schema up to date (or up to version `up_to` when it is positive: tests of an
// upgrade). Throws DbError when the database is newer than this binary.
MigrateReport migrate(Db& db, int up_to = 0);
int schema_version(Db& db);

}  // namespace custos::db
