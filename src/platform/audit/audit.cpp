#include "platform/audit/audit.h"

#include "platform/crypto/crypto.h"

namespace custos::audit {

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::success:
      return "success";
    case Outcome::denied:
      return "denied";
    case Outcome::failed:
      return "failed";
  }
  return "failed";
}

namespace {

// Length-prefixed fields: no two different records encode to the same bytes.
void put(std::string& out, std::string_view field) {
  const uint64_t n = field.size();
  for (int i = 7; i >= 0; --i) out += static_cast<char>((n >> (i * 8)) & 0xff);
  out.append(field);
}
void put(std::string& out, int64_t v) {
  put(out, std::to_string(v));
}
void put(std::string& out, const std::optional<int64_t>& v) {
  put(out, v ? std::to_string(*v) : std::string());
}

}  // namespace

std::string chain_hash(const std::string& prev_hash_hex, int64_t org_id, int64_t seq, int64_t at,
                       const Actor& actor, const Event& event) {
  return chain_hash(prev_hash_hex, org_id, seq, at, actor, event, outcome_name(event.outcome));
}

std::string chain_hash(const std::string& prev_hash_hex, int64_t org_id, int64_t seq, int64_t at,
                       const Actor& actor, const Event& event, std::string_view outcome_text) {
  std::string buf;
  buf.reserve(256 + event.changes.size());
  buf += '\x00';  // domain: audit record (0x01 is reserved for checkpoint nodes)
  put(buf, prev_hash_hex);
  put(buf, org_id);
  put(buf, seq);
  put(buf, at);
  put(buf, actor.user_id);
  put(buf, actor.session_id);
  put(buf, actor.ip);
  put(buf, actor.request_id);
  put(buf, event.action);
  put(buf, event.object_type);
  put(buf, event.object_id);
  put(buf, outcome_text);
  put(buf, event.error_code);
  put(buf, event.changes);
  put(buf, event.reason);
  return crypto::hex(crypto::sha256(buf));
}

Recorded record(db::Tx& tx, const Actor& actor, const Event& event, int64_t at_ms) {
  // The head row serialises writers of one organisation's chain: on PostgreSQL the UPDATE takes
  // its row lock until commit; SQLite has one writer at a time anyway.
  auto head = tx.one("UPDATE audit_heads SET seq = seq + 1 WHERE org_id = ? RETURNING seq, hash",
                     {actor.org_id});
  if (!head) {
    tx.exec("INSERT INTO audit_heads (org_id, seq, hash) VALUES (?, 1, '')", {actor.org_id});
    head = std::vector<db::Value>{int64_t{1}, std::string()};
  }
  const int64_t seq = db::as_int(head->at(0));
  const std::string prev = db::as_text(head->at(1));
  std::string hash = chain_hash(prev, actor.org_id, seq, at_ms, actor, event);
  auto opt_int = [](const std::optional<int64_t>& v) -> db::Value {
    return v ? db::Value{*v} : db::null();
  };
  auto opt_text = [](const std::string& s) -> db::Value {
    return s.empty() ? db::null() : db::Value{s};
  };
  tx.exec(
      "INSERT INTO audit_events (org_id, seq, at, actor_user_id, session_id, ip, request_id, "
      "action, object_type, object_id, outcome, error_code, changes, reason, prev_hash, hash) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {actor.org_id, seq, at_ms, opt_int(actor.user_id), opt_int(actor.session_id),
       opt_text(actor.ip), opt_text(actor.request_id), event.action, opt_text(event.object_type),
       opt_text(event.object_id), std::string(outcome_name(event.outcome)),
       opt_text(event.error_code), opt_text(event.changes), opt_text(event.reason), prev, hash});
  tx.exec("UPDATE audit_heads SET hash = ? WHERE org_id = ?", {hash, actor.org_id});
  return {seq, hash};
}

}  // namespace custos::audit
