// Background jobs (reminders, reviews, compliance scans, retention, deadlines): modules register
// named periodic jobs; one thread per process runs those that are due. Servers are stateless
// (architecture rule 4), so several may run against one PostgreSQL: before each run the runner
// takes the job's lease in `job_leases`, and only the lease holder runs it. A lease lasts one
// interval, so a job runs about once per interval across all servers; the holder renews its own
// lease, and when it stops (crash, shutdown) another server takes the lease once it expires.
// The same code runs on SQLite (one writer, so the lease is trivially exclusive).
//
// Jobs must be idempotent: a server that dies mid-run leaves the work half done for the next
// holder, and a run longer than the interval can overlap the next holder's run.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "platform/clock.h"
#include "platform/storage/db.h"

namespace custos::jobs {

using JobFn = std::function<void(int64_t now_ms)>;

// What happened to one due job in one pass.
enum class Outcome {
  ran,         // the lease was ours and the job returned normally
  failed,      // the lease was ours and the job threw (logged; retried next interval)
  lease_held,  // another holder has the lease: it runs the job, we do not
  lease_error  // the lease could not be taken (database unreachable, …); retried next interval
};
std::string_view outcome_name(Outcome o);

struct RunReport {
  std::string name;
  Outcome outcome;
  std::string error;  // failed / lease_error: the exception text (for the log, never the API)
};

class JobRunner {
 public:
  // `holder` names this process in job_leases; empty: host name, process id and a random part.
  JobRunner(db::Db& db, const Clock& clock, std::string holder = {});
  ~JobRunner();  // stops the thread
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Registers a job, first due at once. Names are unique (std::invalid_argument otherwise) and
  // shared by every server: the same name means the same job. interval_ms >= 1.
  void add(std::string name, int64_t interval_ms, JobFn fn);

  // Runs every job due at `now`, synchronously on the calling thread (tests; the background
  // thread calls it too). Never throws; the outcome of each due job is logged and returned.
  std::vector<RunReport> run_due_now(int64_t now);

  // The background thread: runs due jobs until stop(). stop() wakes it at once and joins it
  // (a job already running finishes first). Both are idempotent.
  void start();
  void stop();

  const std::string& holder() const { return holder_; }

 private:
  struct Job {
    std::string name;
    int64_t interval_ms;
    JobFn fn;
    int64_t next_due = 0;  // 0: due now
  };
  // Takes or renews the lease; returns true when this process holds it until now + interval.
  // When another holder has it, `held_until` is set to that lease's expiry.
  bool take_lease(const Job& job, int64_t now, int64_t& held_until);
  void loop();

  db::Db& db_;
  const Clock& clock_;
  std::string holder_;

  std::mutex run_mu_;  // one pass at a time; guards jobs_
  std::vector<Job> jobs_;

  std::mutex state_mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace custos::jobs
