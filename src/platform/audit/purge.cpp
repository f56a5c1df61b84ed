#include "platform/audit/purge.h"

#include <string>

namespace custos::audit {

PurgeResult purge(db::Tx& tx, const Signer& signer, const Actor& actor, int64_t before_ms,
                  int64_t now_ms, int retention_days) {
  if (retention_days < kMinRetentionDays)
    throw PurgeRefused("audit.retention_days must be at least " +
                       std::to_string(kMinRetentionDays));
  const int64_t newest_allowed = now_ms - int64_t{retention_days} * 86'400'000;
  if (before_ms > newest_allowed)
    throw PurgeRefused("records younger than " + std::to_string(retention_days) +
                       " days cannot be purged");
  const int64_t org = actor.org_id;
  PurgeResult result;
  auto first = tx.one("SELECT MIN(seq) FROM audit_events WHERE org_id = ?", {org});
  auto keep =
      tx.one("SELECT MIN(seq) FROM audit_events WHERE org_id = ? AND at >= ?", {org, before_ms});
  auto last = tx.one("SELECT MAX(seq) FROM audit_events WHERE org_id = ?", {org});
  if (first && !db::is_null(first->at(0))) {
    const int64_t from = db::as_int(first->at(0));
    const int64_t k =
        keep && !db::is_null(keep->at(0)) ? db::as_int(keep->at(0)) - 1 : db::as_int(last->at(0));
    if (k >= from) {
      auto row = tx.one("SELECT hash FROM audit_events WHERE org_id = ? AND seq = ?", {org, k});
      Checkpoint c = sign_checkpoint(signer, org, k, db::as_text(row->at(0)), now_ms);
      tx.exec(
          "INSERT INTO audit_checkpoints (org_id, seq, root, at, suite, key_id, signature) "
          "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
          {c.org_id, c.seq, c.root, c.at, c.suite, c.key_id, c.signature});
      // The guard lets deletes through only while this flag is set, inside this transaction.
      if (tx.engine() == db::Engine::sqlite)
        tx.exec("INSERT INTO audit_purge_allowed (org_id) VALUES (?)", {org});
      else
        tx.query("SELECT set_config('custos.audit_purge', 'on', true)");
      result.removed = tx.exec("DELETE FROM audit_events WHERE org_id = ? AND seq <= ?", {org, k});
      if (tx.engine() == db::Engine::sqlite)
        tx.exec("DELETE FROM audit_purge_allowed WHERE org_id = ?", {org});
      else
        tx.query("SELECT set_config('custos.audit_purge', '', true)");
      result.through_seq = k;
      result.checkpoint = std::move(c);
    }
  }
  if (result.through_seq == 0) {
    // Nothing removed now: the trail may still start after an earlier purge.
    if (first && !db::is_null(first->at(0))) result.through_seq = db::as_int(first->at(0)) - 1;
  }
  record(tx, actor,
         {.action = kPurgeAction,
          .object_type = "audit_events",
          .object_id = std::to_string(result.through_seq),
          .changes = "{\"before\":" + std::to_string(before_ms) +
                     ",\"removed\":" + std::to_string(result.removed) +
                     ",\"through_seq\":" + std::to_string(result.through_seq) + "}"},
         now_ms);
  return result;
}

}  // namespace custos::audit
