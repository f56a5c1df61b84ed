// Notifications (issue #5 item 7): every message is an in-app notification (persistent,
// read/unread, optionally must-read) and, when the recipient has an e-mail address and mail is
// on, an entry in the mail outbox — both written in the caller's transaction, so a message is
// sent if and only if the change that caused it commits. The outbox is drained by the job
// `notify.mail` (mailer.h) with retries and back-off, so a mail server outage loses nothing.
// Texts come from templates in zh-CN and English; a mail goes out in the recipient's language.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "platform/storage/db.h"

namespace custos::notify {

// One message to one user. `kind` names a template ("workflow.task", …); `params` fill it.
struct Message {
  int64_t user_id = 0;
  std::string kind;
  std::map<std::string, std::string> params;
  std::string object_type, object_id;  // what the message is about (a link in the console)
  bool must_read = false;
  bool mail = true;
};

struct Notification {
  int64_t id = 0;
  std::string kind, title_zh, title_en, body_zh, body_en, object_type, object_id;
  bool must_read = false;
  int64_t created_at = 0;
  std::optional<int64_t> read_at;
};

struct Query {
  int limit = 50;
  std::optional<int64_t> after_id;  // newer-first keyset: ids below this
  bool unread_only = false;
  bool must_read_only = false;
};

struct Page {
  std::vector<Notification> items;
  std::optional<std::string> next_cursor;
  int64_t total = 0;
  int64_t unread = 0;
};

// The rendered texts of a template (unknown kinds render the kind itself).
struct Rendered {
  std::string title_zh, title_en, body_zh, body_en;
};
Rendered render(const std::string& kind, const std::map<std::string, std::string>& params);

class Notifier {
 public:
  explicit Notifier(bool mail_enabled) : mail_enabled_(mail_enabled) {}

  // Inside the caller's transaction.
  void send(db::Tx& tx, int64_t org_id, const Message& m, int64_t now) const;

  Page list(db::Db& db, int64_t org_id, int64_t user_id, const Query& q) const;
  // Not one's own: not_found.
  Notification mark_read(db::Db& db, int64_t org_id, int64_t user_id, int64_t id,
                         int64_t now) const;
  int64_t mark_all_read(db::Db& db, int64_t org_id, int64_t user_id, int64_t now) const;
  static int64_t unread_count(db::Tx& tx, int64_t org_id, int64_t user_id);
  static int64_t must_read_count(db::Tx& tx, int64_t org_id, int64_t user_id);

 private:
  bool mail_enabled_;
};

}  // namespace custos::notify
