#include "platform/jobs/job_runner.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "platform/crypto/crypto.h"
#include "platform/log/log.h"

namespace custos::jobs {

namespace {

// The background thread looks at the clock at least this often, so a wall-clock step (NTP) or
// a job added while it sleeps is noticed soon.
constexpr int64_t kMaxSleepMs = 1000;

// Takes the lease when it is free, expired, or already ours; then reads who holds it. Portable:
// SQLite 3.24+ and PostgreSQL both accept this upsert. On PostgreSQL two servers racing for one
// row serialise on its row lock, and the second re-evaluates the WHERE against the first's row.
constexpr const char* kTakeLease =
    "INSERT INTO job_leases (name, holder, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
    "WHERE job_leases.expires_at < ? OR job_leases.holder = ?";
constexpr const char* kReadLease = "SELECT holder, expires_at FROM job_leases WHERE name = ?";

std::string default_holder() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + crypto::random_token(9);
}

}  // namespace

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::ran:
      return "ran";
    case Outcome::failed:
      return "failed";
    case Outcome::lease_held:
      return "lease_held";
    case Outcome::lease_error:
      return "lease_error";
  }
  return "unknown";
}

JobRunner::JobRunner(db::Db& db, const Clock& clock, std::string holder)
    : db_(db), clock_(clock), holder_(holder.empty() ? default_holder() : std::move(holder)) {}

JobRunner::~JobRunner() {
  stop();
}

void JobRunner::add(std::string name, int64_t interval_ms, JobFn fn) {
  if (name.empty() || name.size() > 100) throw std::invalid_argument("jobs: bad job name");
  if (interval_ms < 1) throw std::invalid_argument("jobs: interval must be positive: " + name);
  if (!fn) throw std::invalid_argument("jobs: no function for " + name);
  {
    std::lock_guard lock(run_mu_);
    for (const Job& j : jobs_)
      if (j.name == name) throw std::invalid_argument("jobs: duplicate job " + name);
    jobs_.push_back({std::move(name), interval_ms, std::move(fn), 0});
  }
  // A running thread sees the new job within kMaxSleepMs.
}

bool JobRunner::take_lease(const Job& job, int64_t now, int64_t& held_until) {
  const int64_t until = now + job.interval_ms;
  return db_.write([&](db::Tx& tx) {
    tx.exec(kTakeLease, {job.name, holder_, until, now, holder_});
    auto r = tx.one(kReadLease, {job.name});
    if (!r) return false;  // cannot happen: the upsert inserted or kept a row
    held_until = db::as_int(r->at(1));
    return db::as_text(r->at(0)) == holder_;
  });
}

std::vector<RunReport> JobRunner::run_due_now(int64_t now) {
  std::vector<RunReport> reports;
  std::lock_guard lock(run_mu_);
  for (Job& job : jobs_) {
    if (job.next_due > now) continue;
    RunReport report{job.name, Outcome::ran, {}};
    int64_t held_until = 0;
    bool ours = false;
    try {
      ours = take_lease(job, now, held_until);
    } catch (const std::exception& e) {
      report.outcome = Outcome::lease_error;
      report.error = e.what();
      log::app().warn("job {}: lease not taken, retrying in {} ms: {}", job.name, job.interval_ms,
                      e.what());
      job.next_due = now + job.interval_ms;
      reports.push_back(std::move(report));
      continue;
    }
    if (!ours) {
      // The holder's renewal is due when its lease ends; we try just after, so a live holder
      // keeps the job and a dead one is replaced within one interval.
      report.outcome = Outcome::lease_held;
      job.next_due = std::max(held_until + 1, now + 1);
      log::app().debug("job {}: lease held by another server until {}", job.name, held_until);
      reports.push_back(std::move(report));
      continue;
    }
    job.next_due = now + job.interval_ms;
    const auto started = std::chrono::steady_clock::now();
    try {
      job.fn(now);
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
      log::app().info("job {} ran in {} ms", job.name, ms);
    } catch (const std::exception& e) {
      report.outcome = Outcome::failed;
      report.error = e.what();
      log::app().error("job {} failed, retrying in {} ms: {}", job.name, job.interval_ms, e.what());
    } catch (...) {
      report.outcome = Outcome::failed;
      report.error = "unknown exception";
      log::app().error("job {} failed, retrying in {} ms: unknown exception", job.name,
                       job.interval_ms);
    }
    reports.push_back(std::move(report));
  }
  return reports;
}

void JobRunner::start() {
  std::lock_guard lock(state_mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void JobRunner::stop() {
  {
    std::lock_guard lock(state_mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  thread_ = std::thread();
}

void JobRunner::loop() {
  log::app().info("job runner started as {}", holder_);
  while (true) {
    {
      std::lock_guard lock(state_mu_);
      if (stopping_) break;
    }
    run_due_now(clock_.now_ms());
    int64_t next = clock_.now_ms() + kMaxSleepMs;
    {
      std::lock_guard lock(run_mu_);
      for (const Job& j : jobs_) next = std::min(next, j.next_due);
    }
    const int64_t sleep_ms = std::clamp<int64_t>(next - clock_.now_ms(), 1, kMaxSleepMs);
    std::unique_lock lock(state_mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(sleep_ms), [this] { return stopping_; });
    if (stopping_) break;
  }
  log::app().info("job runner stopped");
}

}  // namespace custos::jobs
