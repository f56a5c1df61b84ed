// Google Benchmark, storage level (issue #4): what an audit record adds to a business write, on
// SQLite (a temporary file) and on PostgreSQL when TEST_PG_URL names a server (a fresh database
// is created there), and how fast the verifier walks a trail.
//   BM_InsertBusinessRow/<engine>           one transaction inserting one diagnostic_writes row
//   BM_InsertBusinessRowWithAudit/<engine>  the same plus audit::record in that transaction
//   BM_AuditInsertPairs/<engine>            the two alternating, each timed: the issue's ratio
//   BM_Verify/sqlite/<suite>                audit::verify over 200,000 records (items = records),
//                                           intl (SHA-256 chain) and gm (SM3 chain)
#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>

#include "platform/audit/audit.h"
#include "platform/audit/verify.h"
#include "platform/storage/db.h"
#include "platform/storage/migrations.h"

namespace {

using namespace custos;

constexpr int64_t kVerifyRecords = 200'000;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Temporary SQLite files live here; removed at exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "custos-audit-bench.XXXXXX");
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

TempDir& temp_dir() {
  static TempDir d;
  return d;
}

// A new database on the PostgreSQL server TEST_PG_URL names (dropped by nobody: the bench run
// uses a throwaway cluster).
std::string fresh_pg_url(const std::string& name) {
  const std::string admin = std::getenv("TEST_PG_URL");
  PGconn* c = PQconnectdb(admin.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    PQfinish(c);
    throw std::runtime_error("TEST_PG_URL unreachable");
  }
  PGresult* r = PQexec(c, ("DROP DATABASE IF EXISTS " + name).c_str());
  PQclear(r);
  r = PQexec(c, ("CREATE DATABASE " + name).c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error("CREATE DATABASE " + name + " failed");
  auto slash = admin.find('/', admin.find("://") + 3);
  auto query = admin.find('?', slash);
  return admin.substr(0, slash) + "/" + name +
         (query == std::string::npos ? "" : admin.substr(query));
}

// One migrated database per (engine, purpose), opened on first use.
db::Db& database(const std::string& engine, const std::string& purpose) {
  static std::map<std::string, std::unique_ptr<db::Db>> open;
  auto& slot = open[engine + "/" + purpose];
  if (!slot) {
    db::Options o;
    o.pool_size = 2;
    const std::string name =
        "custos_audit_bench_" + purpose + "_" + std::to_string(static_cast<long>(::getpid()));
    o.url = engine == "sqlite" ? "sqlite://" + (temp_dir().path / (name + ".db")).string()
                               : fresh_pg_url(name);
    slot = db::open(o);
    db::migrate(*slot);
  }
  return *slot;
}

audit::Actor bench_actor() {
  audit::Actor a;
  a.org_id = 1;
  a.user_id = 42;
  a.session_id = 7;
  a.ip = "192.0.2.10";
  a.request_id = "req-0123456789abcdef";
  return a;
}

audit::Event bench_event(int64_t id) {
  audit::Event e;
  e.action = "diagnostic.write";
  e.object_type = "diagnostic_write";
  e.object_id = std::to_string(id);
  e.changes = R"({"payload":{"before":null,"after":"benchmark payload"}})";
  return e;
}

int64_t insert_row(db::Tx& tx, int64_t at) {
  auto row = tx.one(
      "INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (1, ?, ?) "
      "RETURNING id",
      {std::string("benchmark payload"), at});
  return db::as_int(row->at(0));
}

void BM_InsertBusinessRow(benchmark::State& state, const std::string& engine) {
  db::Db& db = database(engine, "insert");
  for (auto _ : state) {
    db.write([&](db::Tx& tx) { benchmark::DoNotOptimize(insert_row(tx, now_ms())); });
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_InsertBusinessRowWithAudit(benchmark::State& state, const std::string& engine) {
  db::Db& db = database(engine, "insert");
  const audit::Actor actor = bench_actor();
  for (auto _ : state) {
    db.write([&](db::Tx& tx) {
      const int64_t at = now_ms();
      const int64_t id = insert_row(tx, at);
      benchmark::DoNotOptimize(audit::record(tx, actor, bench_event(id), at));
    });
  }
  state.SetItemsProcessed(state.iterations());
}

// The ratio the issue names, robust to a disk whose speed drifts and stalls: plain and audited
// transactions alternate, each timed on its own, so both kinds meet the same disk. `ratio` is
// median plain / median audited (the rate of audited transactions over the rate of plain ones);
// `mean_ratio` the same of the means, which a single stall of the disk can swing either way.
void BM_AuditInsertPairs(benchmark::State& state, const std::string& engine) {
  db::Db& db = database(engine, "pairs");
  const audit::Actor actor = bench_actor();
  using clock = std::chrono::steady_clock;
  std::vector<double> plain, audited;
  for (auto _ : state) {
    auto t0 = clock::now();
    db.write([&](db::Tx& tx) { benchmark::DoNotOptimize(insert_row(tx, now_ms())); });
    auto t1 = clock::now();
    db.write([&](db::Tx& tx) {
      const int64_t at = now_ms();
      const int64_t id = insert_row(tx, at);
      benchmark::DoNotOptimize(audit::record(tx, actor, bench_event(id), at));
    });
    auto t2 = clock::now();
    plain.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    audited.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
  }
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  auto mean = [](const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  };
  if (plain.empty()) return;
  state.counters["plain_us"] = median(plain);
  state.counters["audited_us"] = median(audited);
  state.counters["ratio"] = median(plain) / median(audited);
  state.counters["mean_ratio"] = mean(plain) / mean(audited);
}

// suite: "intl" (SHA-256 chain) or "gm" (SM3 chain); checkpoint signatures are not part of it.
void BM_Verify(benchmark::State& state, const std::string& engine, const std::string& suite) {
  db::Db& db = database(engine, "verify_" + suite);
  static std::map<std::string, bool> filled;
  if (!filled[engine + suite]) {
    audit::set_chain_algorithm(db, suite == "gm" ? crypto::Hash::sm3 : crypto::Hash::sha256);
    const audit::Actor actor = bench_actor();
    const int64_t at = now_ms();
    for (int64_t done = 0; done < kVerifyRecords;) {
      db.write([&](db::Tx& tx) {
        for (int i = 0; i < 10'000 && done < kVerifyRecords; ++i, ++done)
          audit::record(tx, actor, bench_event(done + 1), at + done);
      });
    }
    filled[engine + suite] = true;
  }
  int64_t records = 0;
  for (auto _ : state) {
    auto report = audit::verify(db);
    if (!report.ok || report.records_checked != kVerifyRecords) {
      state.SkipWithError("verify did not pass over the pre-written trail");
      break;
    }
    records += report.records_checked;
  }
  state.SetItemsProcessed(records);
}

int register_audit_benchmarks() {
  std::vector<std::string> engines{"sqlite"};
  if (const char* pg = std::getenv("TEST_PG_URL"); pg && *pg) engines.push_back("postgres");
  for (const auto& e : engines) {
    benchmark::RegisterBenchmark(("BM_InsertBusinessRow/" + e).c_str(), BM_InsertBusinessRow, e)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("BM_InsertBusinessRowWithAudit/" + e).c_str(),
                                 BM_InsertBusinessRowWithAudit, e)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("BM_AuditInsertPairs/" + e).c_str(), BM_AuditInsertPairs, e)
        ->UseRealTime();
  }
  for (const std::string suite : {"intl", "gm"})
    benchmark::RegisterBenchmark(("BM_Verify/sqlite/" + suite).c_str(), BM_Verify,
                                 std::string("sqlite"), suite)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  return 0;
}

[[maybe_unused]] const int registered = register_audit_benchmarks();

}  // namespace
