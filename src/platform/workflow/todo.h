// Assigned tasks of the to-do centre (待办中心) that are not approvals: review this record,
// hand over that asset, process this form. Modules assign them inside their own transaction
// (the assignee is notified) and close them when the work is done; the console lists them
// beside pending approvals, overdue items and must-read notifications.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/notify/notifier.h"
#include "platform/storage/db.h"

namespace custos::workflow {

struct TodoItem {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string kind, title_zh, title_en, object_type, object_id, status;
  std::optional<int64_t> due_at, done_at;
  int64_t created_at = 0;
};

struct TodoPage {
  std::vector<TodoItem> items;
  std::optional<std::string> next_cursor;
  int64_t total = 0;
};

class Todo {
 public:
  explicit Todo(const notify::Notifier& notifier) : notifier_(notifier) {}

  int64_t assign(db::Tx& tx, int64_t org, int64_t user, const std::string& kind,
                 const std::string& title_zh, const std::string& title_en,
                 const std::string& object_type, const std::string& object_id,
                 std::optional<int64_t> due_at, int64_t now) const;
  // Closes the open items about an object (of one kind, when given); returns how many.
  int64_t close(db::Tx& tx, int64_t org, const std::string& object_type,
                const std::string& object_id, const std::string& kind, int64_t now,
                const std::string& status = "done") const;
  // status: "open" (default), "done", or "" for all.
  TodoPage list(db::Db& db, int64_t org, int64_t user, const std::string& status, int limit,
                std::optional<int64_t> after_id) const;

 private:
  const notify::Notifier& notifier_;
};

}  // namespace custos::workflow
