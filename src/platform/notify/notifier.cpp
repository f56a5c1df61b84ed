#include "platform/notify/notifier.h"

#include "platform/errors/error.h"

namespace custos::notify {

namespace {

struct Template {
  const char* kind;
  const char* title_zh;
  const char* title_en;
  const char* body_zh;
  const char* body_en;
};

// {name} placeholders come from Message::params.
constexpr Template kTemplates[] = {
    {"workflow.task", "待审批：{summary}", "Waiting for your approval: {summary}",
     "{initiator} 提交的「{process}」等待您审批（{node}）。",
     "{initiator} submitted \"{process}\"; it waits for your approval ({node})."},
    {"workflow.approved", "已通过：{summary}", "Approved: {summary}",
     "您提交的「{process}」已审批通过。", "Your \"{process}\" has been approved."},
    {"workflow.rejected", "未通过：{summary}", "Rejected: {summary}",
     "您提交的「{process}」未获通过。理由：{reason}",
     "Your \"{process}\" was rejected. Reason: {reason}"},
    {"workflow.returned", "已退回：{summary}", "Sent back: {summary}",
     "您提交的「{process}」被退回修改。理由：{reason}",
     "Your \"{process}\" was sent back to you. Reason: {reason}"},
    {"workflow.withdrawn", "已撤销：{summary}", "Withdrawn: {summary}",
     "「{process}」已由发起人撤销。", "\"{process}\" was withdrawn by its initiator."},
    {"workflow.terminated", "已终止：{summary}", "Terminated: {summary}",
     "「{process}」已被管理员终止。理由：{reason}",
     "\"{process}\" was terminated by an administrator. Reason: {reason}"},
    {"workflow.cc", "抄送：{summary}", "For your information: {summary}",
     "{initiator} 提交的「{process}」抄送给您。",
     "\"{process}\" submitted by {initiator} is copied to you."},
    {"workflow.reminder", "催办：{summary}", "Reminder: {summary}",
     "「{process}」已超过审批时限，请尽快处理。",
     "\"{process}\" is past its time limit; please act on it."},
    {"workflow.escalated", "超时转交：{summary}", "Escalated to you: {summary}",
     "{from} 未在时限内审批「{process}」，已转交给您。",
     "{from} did not act on \"{process}\" in time; it has been passed to you."},
    {"workflow.delegated", "委派：{summary}", "Delegated to you: {summary}",
     "{from} 请您协助处理「{process}」。", "{from} asks you to handle \"{process}\"."},
    {"todo.assigned", "新任务：{title}", "New task: {title}", "{title}", "{title}"},
};

std::string fill(const char* text, const std::map<std::string, std::string>& params) {
  std::string out;
  for (const char* p = text; *p;) {
    if (*p == '{') {
      const char* end = p + 1;
      while (*end && *end != '}') ++end;
      if (*end == '}') {
        auto it = params.find(std::string(p + 1, end));
        if (it != params.end()) out += it->second;
        p = end + 1;
        continue;
      }
    }
    out += *p++;
  }
  return out;
}

constexpr const char* kColumns =
    "id, kind, title_zh, title_en, body_zh, body_en, COALESCE(object_type, ''), "
    "COALESCE(object_id, ''), must_read, created_at, read_at";

Notification from_row(const std::vector<db::Value>& r) {
  Notification n;
  n.id = db::as_int(r[0]);
  n.kind = db::as_text(r[1]);
  n.title_zh = db::as_text(r[2]);
  n.title_en = db::as_text(r[3]);
  n.body_zh = db::as_text(r[4]);
  n.body_en = db::as_text(r[5]);
  n.object_type = db::as_text(r[6]);
  n.object_id = db::as_text(r[7]);
  n.must_read = db::as_int(r[8]) != 0;
  n.created_at = db::as_int(r[9]);
  n.read_at = db::as_opt_int(r[10]);
  return n;
}

}  // namespace

Rendered render(const std::string& kind, const std::map<std::string, std::string>& params) {
  for (const Template& t : kTemplates)
    if (kind == t.kind)
      return {fill(t.title_zh, params), fill(t.title_en, params), fill(t.body_zh, params),
              fill(t.body_en, params)};
  return {kind, kind, "", ""};
}

void Notifier::send(db::Tx& tx, int64_t org_id, const Message& m, int64_t now) const {
  const Rendered r = render(m.kind, m.params);
  tx.exec(
      "INSERT INTO notifications (org_id, user_id, kind, title_zh, title_en, body_zh, body_en, "
      "object_type, object_id, must_read, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {org_id, m.user_id, m.kind, r.title_zh, r.title_en, r.body_zh, r.body_en,
       m.object_type.empty() ? db::null() : db::Value{m.object_type},
       m.object_id.empty() ? db::null() : db::Value{m.object_id}, int64_t{m.must_read}, now});
  if (!mail_enabled_ || !m.mail) return;
  auto u =
      tx.one("SELECT email, locale FROM users WHERE org_id = ? AND id = ? AND status = 'active'",
             {org_id, m.user_id});
  if (!u || db::is_null(u->at(0)) || db::as_text(u->at(0)).empty()) return;
  const bool en = db::as_text(u->at(1)) == "en";
  const std::string subject = en ? r.title_en : r.title_zh;
  const std::string body =
      (en ? r.body_en : r.body_zh) + "\n\n" +
      (en ? "— Custos service information management" : "—— Custos 服务信息管理系统");
  tx.exec(
      "INSERT INTO mail_outbox (org_id, to_addr, subject, body, status, attempts, "
      "next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)",
      {org_id, db::as_text(u->at(0)), subject, body, now, now});
}

Page Notifier::list(db::Db& db, int64_t org_id, int64_t user_id, const Query& q) const {
  return db.read([&](db::Tx& tx) {
    std::string where = " WHERE org_id = ? AND user_id = ?";
    std::vector<db::Value> params{org_id, user_id};
    if (q.unread_only) where += " AND read_at IS NULL";
    if (q.must_read_only) where += " AND must_read = 1";
    Page page;
    page.total = db::as_int(
        tx.query("SELECT COUNT(*) FROM notifications" + where, std::span<const db::Value>(params))
            .rows.at(0)
            .at(0));
    page.unread = unread_count(tx, org_id, user_id);
    if (q.after_id) {
      where += " AND id < ?";
      params.emplace_back(*q.after_id);
    }
    params.emplace_back(int64_t{q.limit + 1});
    auto rows = tx.query(std::string("SELECT ") + kColumns + " FROM notifications" + where +
                             " ORDER BY id DESC LIMIT ?",
                         std::span<const db::Value>(params))
                    .rows;
    for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(q.limit); ++i)
      page.items.push_back(from_row(rows[i]));
    if (rows.size() > static_cast<size_t>(q.limit) && !page.items.empty())
      page.next_cursor = std::to_string(page.items.back().id);
    return page;
  });
}

Notification Notifier::mark_read(db::Db& db, int64_t org_id, int64_t user_id, int64_t id,
                                 int64_t now) const {
  return db.write([&](db::Tx& tx) {
    tx.exec(
        "UPDATE notifications SET read_at = ? WHERE org_id = ? AND user_id = ? AND id = ? AND "
        "read_at IS NULL",
        {now, org_id, user_id, id});
    auto r = tx.one(std::string("SELECT ") + kColumns +
                        " FROM notifications WHERE org_id = ? AND user_id = ? AND id = ?",
                    {org_id, user_id, id});
    if (!r) throw Error(ErrorCode::not_found, "path.id");
    return from_row(*r);
  });
}

int64_t Notifier::mark_all_read(db::Db& db, int64_t org_id, int64_t user_id, int64_t now) const {
  return db.write([&](db::Tx& tx) {
    return tx.exec(
        "UPDATE notifications SET read_at = ? WHERE org_id = ? AND user_id = ? AND read_at IS "
        "NULL AND must_read = 0",
        {now, org_id, user_id});
  });
}

int64_t Notifier::unread_count(db::Tx& tx, int64_t org_id, int64_t user_id) {
  return db::as_int(tx.one("SELECT COUNT(*) FROM notifications WHERE org_id = ? AND user_id = ? "
                           "AND read_at IS NULL",
                           {org_id, user_id})
                        ->at(0));
}

int64_t Notifier::must_read_count(db::Tx& tx, int64_t org_id, int64_t user_id) {
  return db::as_int(tx.one("SELECT COUNT(*) FROM notifications WHERE org_id = ? AND user_id = ? "
                           "AND read_at IS NULL AND must_read = 1",
                           {org_id, user_id})
                        ->at(0));
}

}  // namespace custos::notify
