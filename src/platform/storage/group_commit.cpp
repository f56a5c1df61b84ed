#include "platform/storage/group_commit.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace custos::db {

struct GroupCommit::Impl {
  struct Job {
    std::function<void(Tx&)> fn;
    std::function<void(std::exception_ptr)> then;  // write_async's callback
    bool done = false;
    std::exception_ptr error;
  };

  Db& db;
  const size_t max_batch;
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<Job>> queue;
  bool leading = false;
  bool stopping = false;
  int64_t commits = 0;
  std::thread committer;  // leads batches of write_async, started with the first one

  // Takes what is queued (up to max_batch), commits it in one transaction, marks it done.
  void lead(std::unique_lock<std::mutex>& lock) {
    leading = true;
    std::vector<std::shared_ptr<Job>> batch;
    while (!queue.empty() && batch.size() < max_batch) {
      batch.push_back(std::move(queue.front()));
      queue.pop_front();
    }
    lock.unlock();
    int64_t n = 0;
    try {
      db.write([&](Tx& tx) {
        for (auto& j : batch) j->fn(tx);
      });
      ++n;
    } catch (...) {
      // Each alone, so that each caller hears of its own failure only.
      for (auto& j : batch) {
        try {
          db.write([&](Tx& tx) { j->fn(tx); });
          ++n;
        } catch (...) {
          j->error = std::current_exception();
        }
      }
    }
    for (auto& j : batch) {
      if (!j->then) continue;
      try {
        j->then(j->error);  // outside the lock: a callback may queue again
      } catch (...) {
        // A callback's own failure is its caller's; the batch goes on.
      }
    }
    lock.lock();
    commits += n;
    for (auto& j : batch) j->done = true;
    leading = false;
    cv.notify_all();
  }

  // The committer: leads whenever something is queued and nobody leads; at destruction it
  // commits what is left, then ends.
  void run() {
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return (!queue.empty() && !leading) || (stopping && queue.empty()); });
      if (!queue.empty() && !leading)
        lead(lock);
      else
        return;
    }
  }
};

GroupCommit::GroupCommit(Db& db, size_t max_batch)
    : impl_(new Impl{db, std::max<size_t>(max_batch, 1), {}, {}, {}, false, false, 0, {}}) {}

GroupCommit::~GroupCommit() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->committer.joinable()) impl_->committer.join();
}

void GroupCommit::write(std::function<void(Tx&)> fn) {
  auto job = std::make_shared<Impl::Job>();
  job->fn = std::move(fn);
  Impl& im = *impl_;
  std::unique_lock lock(im.mu);
  im.queue.push_back(job);
  // One caller at a time leads: it commits what is queued; the others wait for their job to be
  // done, and one of them leads the next batch.
  while (!job->done) {
    if (!im.leading)
      im.lead(lock);
    else
      im.cv.wait(lock);
  }
  if (job->error) std::rethrow_exception(job->error);
}

void GroupCommit::write_async(std::function<void(Tx&)> fn,
                              std::function<void(std::exception_ptr)> done) {
  auto job = std::make_shared<Impl::Job>();
  job->fn = std::move(fn);
  job->then = std::move(done);
  Impl& im = *impl_;
  {
    std::lock_guard lock(im.mu);
    im.queue.push_back(std::move(job));
    if (!im.committer.joinable()) im.committer = std::thread([&im] { im.run(); });
  }
  im.cv.notify_all();
}

int64_t GroupCommit::commits() const {
  std::lock_guard lock(impl_->mu);
  return impl_->commits;
}

}  // namespace custos::db
