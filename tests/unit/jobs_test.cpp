// Background jobs with leases (architecture rule 4): with several servers on one database,
// exactly one runs a given job at a time; a holder that stops is replaced once its lease
// expires; a throwing job is logged and retried, and never stops the runner; stop() is prompt.
// Two runners on two connections pools to one database stand for two servers. Every case runs
// on SQLite and, when TEST_PG_URL is set, on PostgreSQL.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "platform/jobs/job_runner.h"
#include "platform/storage/migrations.h"
#include "test_db.h"

namespace custos::jobs {
namespace {

constexpr int64_t kStart = 1'700'000'000'000;
constexpr int64_t kInterval = 60'000;

class Jobs : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db::Options o;
    o.url = testing_db::fresh_url(GetParam());
    o.pool_size = 4;
    server_a = db::open(o);
    db::migrate(*server_a);
    server_b = db::open(o);  // a second server on the same database
  }
  void TearDown() override {
    server_a->close();
    server_b->close();
  }

  std::string lease_holder(const std::string& name) {
    return server_a->read([&](db::Tx& tx) {
      auto r = tx.one("SELECT holder FROM job_leases WHERE name = ?", {name});
      return r ? db::as_text(r->at(0)) : std::string();
    });
  }

  static Outcome outcome_of(const std::vector<RunReport>& reports, const std::string& name) {
    for (const auto& r : reports)
      if (r.name == name) return r.outcome;
    ADD_FAILURE() << name << " was not due";
    return Outcome::lease_error;
  }

  ManualClock clock{kStart};
  std::unique_ptr<db::Db> server_a, server_b;
};

TEST_P(Jobs, OnlyOneOfTwoServersRunsADueJob) {
  JobRunner a(*server_a, clock, "server-a"), b(*server_b, clock, "server-b");
  int runs_a = 0, runs_b = 0;
  a.add("reminders", kInterval, [&](int64_t) { ++runs_a; });
  b.add("reminders", kInterval, [&](int64_t) { ++runs_b; });

  EXPECT_EQ(outcome_of(a.run_due_now(kStart), "reminders"), Outcome::ran);
  EXPECT_EQ(outcome_of(b.run_due_now(kStart), "reminders"), Outcome::lease_held);
  EXPECT_EQ(runs_a, 1);
  EXPECT_EQ(runs_b, 0);
  EXPECT_EQ(lease_holder("reminders"), "server-a");

  // Within the interval nothing is due on either server.
  EXPECT_TRUE(a.run_due_now(kStart + kInterval - 1).empty());
  EXPECT_TRUE(b.run_due_now(kStart + kInterval - 1).empty());

  // The holder renews its lease when it ends; the other server, trying just after, finds it
  // renewed. Round after round the job runs once per interval, on one server.
  for (int round = 1; round <= 3; ++round) {
    const int64_t t = kStart + round * kInterval;
    EXPECT_EQ(outcome_of(a.run_due_now(t), "reminders"), Outcome::ran) << round;
    EXPECT_EQ(outcome_of(b.run_due_now(t + 1), "reminders"), Outcome::lease_held) << round;
  }
  EXPECT_EQ(runs_a, 4);
  EXPECT_EQ(runs_b, 0);
}

TEST_P(Jobs, ConcurrentServersRunEachJobOnce) {
  JobRunner a(*server_a, clock, "server-a"), b(*server_b, clock, "server-b");
  constexpr int kJobs = 20;
  std::atomic<int> runs[kJobs] = {};
  for (int i = 0; i < kJobs; ++i) {
    a.add("job" + std::to_string(i), kInterval, [&runs, i](int64_t) { ++runs[i]; });
    b.add("job" + std::to_string(i), kInterval, [&runs, i](int64_t) { ++runs[i]; });
  }
  std::thread ta([&] { a.run_due_now(kStart); });
  std::thread tb([&] { b.run_due_now(kStart); });
  ta.join();
  tb.join();
  for (int i = 0; i < kJobs; ++i) EXPECT_EQ(runs[i].load(), 1) << "job" << i;
}

TEST_P(Jobs, AnExpiredLeaseHandsOver) {
  JobRunner a(*server_a, clock, "server-a"), b(*server_b, clock, "server-b");
  int runs_a = 0, runs_b = 0;
  a.add("retention", kInterval, [&](int64_t) { ++runs_a; });
  b.add("retention", kInterval, [&](int64_t) { ++runs_b; });
  ASSERT_EQ(outcome_of(a.run_due_now(kStart), "retention"), Outcome::ran);
  ASSERT_EQ(outcome_of(b.run_due_now(kStart), "retention"), Outcome::lease_held);

  // Server a stops (never runs again). Up to the lease's end, b still may not run the job …
  EXPECT_TRUE(b.run_due_now(kStart + kInterval).empty());  // not even due before expiry + 1
  // … just after it, b takes over.
  EXPECT_EQ(outcome_of(b.run_due_now(kStart + kInterval + 1), "retention"), Outcome::ran);
  EXPECT_EQ(lease_holder("retention"), "server-b");
  EXPECT_EQ(runs_b, 1);

  // Server a comes back: b holds the lease now, so a does not run the job.
  EXPECT_EQ(outcome_of(a.run_due_now(kStart + kInterval + 2), "retention"), Outcome::lease_held);
  EXPECT_EQ(runs_a, 1);
}

TEST_P(Jobs, AThrowingJobIsRetriedAndOthersStillRun) {
  JobRunner r(*server_a, clock, "server-a");
  int bad_calls = 0, good_calls = 0;
  r.add("flaky", kInterval, [&](int64_t) {
    ++bad_calls;
    throw std::runtime_error("scan failed");
  });
  r.add("steady", kInterval, [&](int64_t) { ++good_calls; });
  auto first = r.run_due_now(kStart);
  EXPECT_EQ(outcome_of(first, "flaky"), Outcome::failed);
  EXPECT_EQ(outcome_of(first, "steady"), Outcome::ran);
  for (const auto& rep : first) {
    if (rep.name == "flaky") {
      EXPECT_EQ(rep.error, "scan failed");
    }
  }
  // Not retried at once (no hot loop), but at the next interval.
  EXPECT_TRUE(r.run_due_now(kStart + 1).empty());
  auto second = r.run_due_now(kStart + kInterval);
  EXPECT_EQ(outcome_of(second, "flaky"), Outcome::failed);
  EXPECT_EQ(outcome_of(second, "steady"), Outcome::ran);
  EXPECT_EQ(bad_calls, 2);
  EXPECT_EQ(good_calls, 2);
}

TEST_P(Jobs, TheThreadSurvivesAThrowingJob) {
  SystemClock wall;
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  JobRunner r(*server_a, wall);  // destroyed (stopped) before what its job uses
  r.add("sometimes-throws", 5, [&](int64_t) {
    int n = 0;
    {
      std::lock_guard lock(mu);
      n = ++calls;
    }
    cv.notify_all();
    if (n % 2 == 1) throw std::runtime_error("odd call");
  });
  r.start();
  {
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return calls >= 4; }))
        << "calls: " << calls;
  }
  r.stop();
}

TEST_P(Jobs, StopReturnsPromptly) {
  SystemClock wall;
  std::mutex mu;
  std::condition_variable cv;
  bool ran = false;
  JobRunner r(*server_a, wall);
  r.add("hourly", 3'600'000, [&](int64_t) {
    {
      std::lock_guard lock(mu);
      ran = true;
    }
    cv.notify_all();
  });
  r.start();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return ran; }));
  }
  // The thread now waits for the next due time; stop() wakes it instead of waiting that out.
  const auto t0 = std::chrono::steady_clock::now();
  r.stop();
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, std::chrono::milliseconds(200));
  r.stop();  // idempotent
}

TEST_P(Jobs, NamesAreUniqueAndIntervalsPositive) {
  JobRunner r(*server_a, clock);
  r.add("a", 1000, [](int64_t) {});
  EXPECT_THROW(r.add("a", 1000, [](int64_t) {}), std::invalid_argument);
  EXPECT_THROW(r.add("b", 0, [](int64_t) {}), std::invalid_argument);
  EXPECT_THROW(r.add("", 1000, [](int64_t) {}), std::invalid_argument);
  EXPECT_FALSE(r.holder().empty());
  JobRunner other(*server_a, clock);
  EXPECT_NE(r.holder(), other.holder());  // a random id per process (and per runner)
}

INSTANTIATE_TEST_SUITE_P(Engines, Jobs, ::testing::ValuesIn(testing_db::engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace custos::jobs
