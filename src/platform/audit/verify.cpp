#include "platform/audit/verify.h"

#include <algorithm>
#include <set>
#include <variant>

#include "platform/audit/audit.h"
#include "platform/audit/purge.h"

namespace custos::audit {

namespace {

// A state some signed statement says the chain passed through.
struct SignedPoint {
  int64_t seq;
  std::string root;
  bool from_anchor;
};

Finding finding(int64_t org, int64_t seq, std::string code, std::string detail) {
  return {org, seq, std::move(code), std::move(detail)};
}

// Every organisation with a head, a checkpoint, an anchor entry or a record. Records are found
// with a skip scan over the primary key (one probe per organisation), so an organisation whose
// head row was deleted is still verified.
std::vector<int64_t> organisations(db::Tx& tx, const VerifyOptions& o) {
  std::set<int64_t> orgs;
  for (const auto& r : tx.query("SELECT org_id FROM audit_heads").rows)
    orgs.insert(db::as_int(r[0]));
  for (const auto& r : tx.query("SELECT DISTINCT org_id FROM audit_checkpoints").rows)
    orgs.insert(db::as_int(r[0]));
  for (const auto& c : o.anchor) orgs.insert(c.org_id);
  int64_t after = INT64_MIN;
  for (;;) {
    auto r = tx.one("SELECT MIN(org_id) FROM audit_events WHERE org_id > ?", {after});
    if (!r || db::is_null(r->at(0))) break;
    after = db::as_int(r->at(0));
    orgs.insert(after);
  }
  return {orgs.begin(), orgs.end()};
}

// The stored checkpoints and the anchor entry of one organisation, by seq; a bad signature is a
// finding (someone wrote a checkpoint without the key).
std::optional<Finding> signed_points(db::Tx& tx, int64_t org, const VerifyOptions& o,
                                     std::vector<SignedPoint>& out) {
  for (const Checkpoint& c : org_checkpoints(tx, org)) {
    if (o.signer && !checkpoint_signature_ok(*o.signer, c))
      return finding(org, c.seq, "bad_signature",
                     "stored checkpoint at seq " + std::to_string(c.seq) +
                         " is not signed by this deployment's audit key");
    out.push_back({c.seq, c.root, false});
  }
  for (const Checkpoint& c : o.anchor) {
    if (c.org_id != org) continue;
    if (!o.signer || !checkpoint_signature_ok(*o.signer, c))
      return finding(org, c.seq, "bad_signature",
                     "anchor entry at seq " + std::to_string(c.seq) +
                         " is not signed by this deployment's audit key");
    out.push_back({c.seq, c.root, true});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const SignedPoint& a, const SignedPoint& b) { return a.seq < b.seq; });
  return std::nullopt;
}

constexpr const char* kPageSql =
    "SELECT seq, at, actor_user_id, session_id, ip, request_id, action, object_type, object_id, "
    "outcome, error_code, changes, reason, prev_hash, hash FROM audit_events "
    "WHERE org_id = ? AND seq > ? ORDER BY seq LIMIT ?";

// Where the walk of one organisation's records got to.
struct Walk {
  crypto::Hash alg = crypto::Hash::sha256;  // the chain's (audit_heads.alg)
  int64_t last_seq = 0;
  std::string last_hash;
  size_t next_point = 0;        // first signed point not yet reached
  int64_t purged_to = 0;        // records 1..purged_to were purged (audit/purge.h)
  bool purge_recorded = false;  // the trail holds the audit.purge record naming purged_to
};

// Moves the text out of a cell the walk no longer needs (NULL reads as "", as record() wrote).
std::string take_text(db::Value& v) {
  auto* s = std::get_if<std::string>(&v);
  return s ? std::move(*s) : std::string();
}

// Checks one stored record against the walk so far; advances the walk when it is good.
std::optional<Finding> check_record(int64_t org, std::vector<db::Value>& r, Walk& w,
                                    const std::vector<SignedPoint>& points) {
  const int64_t seq = db::as_int(r[0]);
  const int64_t expected = w.last_seq + 1;
  if (seq != expected)
    return finding(org, expected, "missing",
                   "record " + std::to_string(expected) + " is missing (next stored is " +
                       std::to_string(seq) + ")");
  if (db::as_text(r[13]) != w.last_hash)
    return finding(org, seq, "chain_broken",
                   "prev_hash is not the hash of record " + std::to_string(seq - 1) +
                       " (inserted, reordered or renumbered record)");
  Actor a;
  a.org_id = org;
  a.user_id = db::as_opt_int(r[2]);
  a.session_id = db::as_opt_int(r[3]);
  a.ip = take_text(r[4]);
  a.request_id = take_text(r[5]);
  Event e;
  e.action = take_text(r[6]);
  e.object_type = take_text(r[7]);
  e.object_id = take_text(r[8]);
  e.error_code = take_text(r[10]);
  e.changes = take_text(r[11]);
  e.reason = take_text(r[12]);
  const std::string& stored = db::as_text(r[14]);
  if (chain_hash(w.alg, w.last_hash, org, seq, db::as_int(r[1]), a, e, db::as_text(r[9])) != stored)
    return finding(org, seq, "modified", "recomputed hash differs: a field was changed");
  if (w.purged_to > 0 && e.action == kPurgeAction && e.object_id == std::to_string(w.purged_to))
    w.purge_recorded = true;
  w.last_seq = seq;
  w.last_hash = std::move(std::get<std::string>(r[14]));
  for (; w.next_point < points.size() && points[w.next_point].seq == seq; ++w.next_point) {
    const SignedPoint& p = points[w.next_point];
    if (p.root != w.last_hash)
      return finding(org, seq, p.from_anchor ? "anchor_mismatch" : "checkpoint_mismatch",
                     std::string("chain differs from the signed ") +
                         (p.from_anchor ? "anchor" : "checkpoint") + " at seq " +
                         std::to_string(seq) + ": records up to here were rewritten");
  }
  return std::nullopt;
}

// After the last record: the head row and every signed point must not be ahead of it.
std::optional<Finding> check_tail(db::Tx& tx, int64_t org, const Walk& w,
                                  const std::vector<SignedPoint>& points) {
  auto head = tx.one("SELECT seq, hash FROM audit_heads WHERE org_id = ?", {org});
  const int64_t head_seq = head ? db::as_int(head->at(0)) : 0;
  if (head_seq > w.last_seq)
    return finding(org, w.last_seq + 1, "truncated",
                   "audit_heads records seq " + std::to_string(head_seq) +
                       " but the trail ends at " + std::to_string(w.last_seq));
  if (head_seq < w.last_seq)
    return finding(org, head_seq + 1, "unexpected",
                   "record beyond the head (audit_heads seq " + std::to_string(head_seq) + ")");
  if (head && db::as_text(head->at(1)) != w.last_hash)
    return finding(org, w.last_seq, "head_mismatch",
                   "audit_heads hash differs from the last record");
  if (w.next_point < points.size()) {
    const SignedPoint& p = points.back();
    return finding(org, w.last_seq + 1, p.from_anchor ? "rollback" : "truncated",
                   std::string(p.from_anchor ? "anchor" : "signed checkpoint") + " covers seq " +
                       std::to_string(p.seq) + " but the trail ends at " +
                       std::to_string(w.last_seq));
  }
  return std::nullopt;
}

std::optional<Finding> verify_org(db::Tx& tx, int64_t org, const VerifyOptions& o,
                                  int64_t& checked) {
  std::vector<SignedPoint> points;
  if (auto f = signed_points(tx, org, o, points)) return f;
  Walk w;
  if (auto h = tx.one("SELECT alg FROM audit_heads WHERE org_id = ?", {org}))
    w.alg = crypto::parse_hash(db::as_text(h->at(0))).value_or(crypto::Hash::sha256);
  // After a retention purge the trail starts at k + 1, from the root of the stored signed
  // checkpoint of record k; points before k can no longer be checked.
  auto first = tx.one("SELECT MIN(seq) FROM audit_events WHERE org_id = ?", {org});
  if (first && !db::is_null(first->at(0)) && db::as_int(first->at(0)) > 1) {
    const int64_t k = db::as_int(first->at(0)) - 1;
    for (size_t i = 0; i < points.size() && points[i].seq <= k; ++i) {
      if (points[i].seq == k && !points[i].from_anchor) {
        w.last_seq = k;
        w.last_hash = points[i].root;
        w.purged_to = k;
      }
    }
    if (w.purged_to == k) {
      while (w.next_point < points.size() && points[w.next_point].seq < k) ++w.next_point;
      for (; w.next_point < points.size() && points[w.next_point].seq == k; ++w.next_point)
        if (points[w.next_point].root != w.last_hash)
          return finding(
              org, k, points[w.next_point].from_anchor ? "anchor_mismatch" : "checkpoint_mismatch",
              "signed points at seq " + std::to_string(k) + " differ");
    }
  }
  const int64_t page = std::max(1, o.page_size);
  for (;;) {
    db::Result r = tx.query(kPageSql, {org, w.last_seq, page});
    for (auto& row : r.rows) {
      if (auto f = check_record(org, row, w, points)) return f;
      ++checked;
    }
    if (static_cast<int64_t>(r.rows.size()) < page) break;
  }
  if (w.purged_to > 0 && !w.purge_recorded)
    return finding(org, 1, "missing",
                   "records 1.." + std::to_string(w.purged_to) +
                       " are gone but no audit.purge record names them");
  return check_tail(tx, org, w, points);
}

}  // namespace

VerifyReport verify(db::Db& db, const VerifyOptions& options) {
  // One read snapshot: records appended while we walk are simply not seen, and the head row is
  // read in the same snapshot as the records it must match.
  return db.read([&](db::Tx& tx) {
    VerifyReport report;
    for (int64_t org : organisations(tx, options)) {
      ++report.organisations;
      if (auto f = verify_org(tx, org, options, report.records_checked))
        report.findings.push_back(std::move(*f));
    }
    report.ok = report.findings.empty();
    return report;
  });
}

}  // namespace custos::audit
