// Small, independent write transactions that share one commit. A read of a 敏感 or 机密 record
// writes its audit record before the read is answered (SI-7); alone, each such write waits for its
// own durable commit (SQLite: one fsync of the WAL) behind the single writer. Here callers that
// arrive while a commit is under way are written together in the next transaction, so many reads
// cost one commit, and each caller still returns only once its own write is durable.
#pragma once

#include <exception>
#include <functional>
#include <memory>

#include "platform/storage/db.h"

namespace custos::db {

class GroupCommit {
 public:
  explicit GroupCommit(Db& db, size_t max_batch = 256);
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Runs `fn` in a write transaction, perhaps with other callers' functions; returns when that
  // transaction committed. `fn` must only write what it was given (it may run twice: when a
  // shared transaction fails, each function is retried alone so that one failure is its own).
  // Rethrows what `fn` (or its commit) threw. Never call it inside a transaction of the same
  // database: on SQLite the shared transaction would wait for that one's writer lock.
  void write(std::function<void(Tx&)> fn);

  // The same without waiting: `fn` is queued and this returns at once; `done` is called, on the
  // thread that committed it, once that transaction committed (with nullptr) or failed (with
  // what was thrown). Pending functions are committed before the GroupCommit is destroyed.
  void write_async(std::function<void(Tx&)> fn, std::function<void(std::exception_ptr)> done);

  // Transactions committed so far (for tests and diagnostics).
  int64_t commits() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace custos::db
