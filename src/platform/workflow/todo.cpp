#include "platform/workflow/todo.h"

namespace custos::workflow {

int64_t Todo::assign(db::Tx& tx, int64_t org, int64_t user, const std::string& kind,
                     const std::string& title_zh, const std::string& title_en,
                     const std::string& object_type, const std::string& object_id,
                     std::optional<int64_t> due_at, int64_t now) const {
  auto r = tx.one(
      "INSERT INTO todo_items (org_id, user_id, kind, title_zh, title_en, object_type, object_id, "
      "due_at, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?) RETURNING id",
      {org, user, kind, title_zh, title_en, object_type, object_id, db::optional(due_at), now});
  notifier_.send(tx, org,
                 {.user_id = user,
                  .kind = "todo.assigned",
                  .params = {{"title", title_zh}},
                  .object_type = object_type,
                  .object_id = object_id},
                 now);
  return db::as_int(r->at(0));
}

int64_t Todo::close(db::Tx& tx, int64_t org, const std::string& object_type,
                    const std::string& object_id, const std::string& kind, int64_t now,
                    const std::string& status) const {
  std::string sql =
      "UPDATE todo_items SET status = ?, done_at = ? WHERE org_id = ? AND object_type = ? AND "
      "object_id = ? AND status = 'open'";
  std::vector<db::Value> params{status, now, org, object_type, object_id};
  if (!kind.empty()) {
    sql += " AND kind = ?";
    params.emplace_back(kind);
  }
  return tx.query(sql, std::span<const db::Value>(params)).affected;
}

TodoPage Todo::list(db::Db& db, int64_t org, int64_t user, const std::string& status, int limit,
                    std::optional<int64_t> after_id) const {
  return db.read([&](db::Tx& tx) {
    std::string where = " WHERE org_id = ? AND user_id = ?";
    std::vector<db::Value> params{org, user};
    if (!status.empty()) {
      where += " AND status = ?";
      params.emplace_back(status);
    }
    TodoPage page;
    page.total = db::as_int(
        tx.query("SELECT COUNT(*) FROM todo_items" + where, std::span<const db::Value>(params))
            .rows.at(0)
            .at(0));
    if (after_id) {
      where += " AND id < ?";
      params.emplace_back(*after_id);
    }
    params.emplace_back(int64_t{limit + 1});
    auto rows = tx.query(
                      "SELECT id, user_id, kind, title_zh, title_en, COALESCE(object_type, ''), "
                      "COALESCE(object_id, ''), status, due_at, done_at, created_at FROM "
                      "todo_items" +
                          where + " ORDER BY id DESC LIMIT ?",
                      std::span<const db::Value>(params))
                    .rows;
    for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(limit); ++i) {
      const auto& r = rows[i];
      page.items.push_back({db::as_int(r[0]), db::as_int(r[1]), db::as_text(r[2]),
                            db::as_text(r[3]), db::as_text(r[4]), db::as_text(r[5]),
                            db::as_text(r[6]), db::as_text(r[7]), db::as_opt_int(r[8]),
                            db::as_opt_int(r[9]), db::as_int(r[10])});
    }
    if (rows.size() > static_cast<size_t>(limit) && !page.items.empty())
      page.next_cursor = std::to_string(page.items.back().id);
    return page;
  });
}

}  // namespace custos::workflow
