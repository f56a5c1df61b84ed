// Test helper: fresh databases on every engine the run has. SQLite always; PostgreSQL when
// TEST_PG_URL names a server (make test starts one). Storage tests are parameterised over
// engines() so each runs on both.
#pragma once

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "platform/storage/db.h"

namespace custos::testing_db {

inline std::vector<std::string> engines() {
  std::vector<std::string> out{"sqlite"};
  if (const char* pg = std::getenv("TEST_PG_URL"); pg && *pg) out.push_back("postgres");
  return out;
}

// A URL of a new, empty database on the named engine.
inline std::string fresh_url(const std::string& engine) {
  static std::atomic<int> n{0};
  const std::string name = "custos_unit_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
  if (engine == "sqlite") {
    auto dir = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return "sqlite://" + (dir / "custos.db").string();
  }
  std::string admin = std::getenv("TEST_PG_URL");
  PGconn* c = PQconnectdb(admin.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    PQfinish(c);
    throw std::runtime_error("TEST_PG_URL unreachable");
  }
  PGresult* r = PQexec(c, ("CREATE DATABASE " + name).c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error("CREATE DATABASE failed");
  // Same server, other database: replace the path of the URL.
  auto slash = admin.find('/', admin.find("://") + 3);
  auto query = admin.find('?', slash);
  return admin.substr(0, slash) + "/" + name +
         (query == std::string::npos ? "" : admin.substr(query));
}

inline std::unique_ptr<db::Db> open_fresh(const std::string& engine, int pool = 4) {
  db::Options o;
  o.url = fresh_url(engine);
  o.pool_size = pool;
  return db::open(o);
}

}  // namespace custos::testing_db
