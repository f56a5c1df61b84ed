#include "platform/audit/audit.h"

#include <charconv>

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
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, v).ptr;
  put(out, std::string_view(digits, static_cast<size_t>(end - digits)));
}
void put(std::string& out, const std::optional<int64_t>& v) {
  if (v)
    put(out, *v);
  else
    put(out, std::string_view());
}

// The record's own hash: every field but its place in the chain.
std::string leaf_hash(crypto::Hash alg, int64_t org_id, int64_t at, const Actor& actor,
                      const Event& event, std::string_view outcome_text) {
  thread_local std::string buf;  // reused: the verifier hashes hundreds of thousands a second
  buf.clear();
  buf += '\x00';  // domain: audit record leaf (0x01 checkpoints, 0x02 chain links)
  put(buf, org_id);
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
  return crypto::digest(alg, buf);
}

// The link: H(0x02 | previous hash | seq | leaf). PostgreSQL computes the same expression in
// SQL for SHA-256 chains (kAppendPostgres), so both must change together.
std::string link_hash(crypto::Hash alg, const std::string& prev_hex, int64_t seq,
                      const std::string& leaf) {
  std::string buf;
  buf.reserve(1 + 32 + 8 + 32);
  buf += '\x02';
  if (!crypto::unhex_append(prev_hex, buf)) buf += prev_hex;  // text that is not hex hashes as is
  for (int i = 7; i >= 0; --i)
    buf += static_cast<char>((static_cast<uint64_t>(seq) >> (i * 8)) & 0xff);
  buf += leaf;
  return crypto::hex(crypto::digest(alg, buf));
}

db::Value opt_int(const std::optional<int64_t>& v) {
  return v ? db::Value{*v} : db::null();
}
db::Value opt_text(const std::string& s) {
  return s.empty() ? db::null() : db::Value{s};
}

// One round trip on PostgreSQL for a SHA-256 chain: the head row's UPDATE takes the row lock
// (serialising the organisation's writers until commit), moves the head and computes the link
// with PostgreSQL's sha256(); the INSERT stores the record with it.
constexpr const char* kAppendPostgres =
    "WITH h AS (UPDATE audit_heads SET seq = seq + 1, prev_hash = hash, hash = "
    "encode(sha256('\\x02'::bytea || decode(hash, 'hex') || int8send(seq + 1) || "
    "decode(?, 'hex')), 'hex') WHERE org_id = ? AND alg = 'sha256' RETURNING seq, prev_hash, "
    "hash) INSERT INTO audit_events (org_id, seq, at, actor_user_id, session_id, ip, request_id, "
    "action, object_type, object_id, outcome, error_code, changes, reason, prev_hash, hash) "
    "SELECT CAST(? AS BIGINT), h.seq, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), "
    "?, ?, ?, ?, ?, ?, ?, ?, ?, h.prev_hash, h.hash FROM h RETURNING seq, hash, prev_hash";

constexpr const char* kInsertEvent =
    "INSERT INTO audit_events (org_id, seq, at, actor_user_id, session_id, ip, request_id, "
    "action, object_type, object_id, outcome, error_code, changes, reason, prev_hash, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

// The chain's head as this transaction left it. The transaction's first record moves the head
// row (taking its lock until commit); later ones are chained from here and the row is written
// once, before commit. Updating the row per record made PostgreSQL keep a version of it per
// record, each update slower than the last (an import of 100,000 rows ran at ~270 rows/s).
struct Head {
  int64_t org = 0, seq = 0;
  std::string prev, hash;
  crypto::Hash alg = crypto::Hash::sha256;
  bool dirty = false;  // moved past what the row says
};
using Heads = std::vector<Head>;
constexpr char kHeadsKey = 0;  // its address keys the transaction's heads

Head* cached_head(db::Tx& tx, int64_t org) {
  auto& slot = tx.local(&kHeadsKey);
  if (!slot) return nullptr;
  for (Head& h : *static_cast<Heads*>(slot.get()))
    if (h.org == org) return &h;
  return nullptr;
}

// The record itself, chained to `prev` as `hash`.
void insert_event(db::Tx& tx, const Actor& actor, const Event& event, std::string_view outcome,
                  int64_t seq, int64_t at_ms, const std::string& prev, const std::string& hash) {
  tx.exec(kInsertEvent, {actor.org_id, seq, at_ms, opt_int(actor.user_id),
                         opt_int(actor.session_id), opt_text(actor.ip), opt_text(actor.request_id),
                         event.action, opt_text(event.object_type), opt_text(event.object_id),
                         std::string(outcome), opt_text(event.error_code), opt_text(event.changes),
                         opt_text(event.reason), prev, hash});
}

void remember_head(db::Tx& tx, Head head) {
  auto& slot = tx.local(&kHeadsKey);
  if (!slot) {
    slot = std::make_shared<Heads>();
    tx.before_commit([](db::Tx& t) {
      for (const Head& h : *static_cast<Heads*>(t.local(&kHeadsKey).get()))
        if (h.dirty)
          t.exec("UPDATE audit_heads SET seq = ?, prev_hash = ?, hash = ? WHERE org_id = ?",
                 {h.seq, h.prev, h.hash, h.org});
    });
  }
  static_cast<Heads*>(slot.get())->push_back(std::move(head));
}

}  // namespace

std::string chain_hash(const std::string& prev_hash_hex, int64_t org_id, int64_t seq, int64_t at,
                       const Actor& actor, const Event& event, crypto::Hash alg) {
  return chain_hash(alg, prev_hash_hex, org_id, seq, at, actor, event, outcome_name(event.outcome));
}

std::string chain_hash(crypto::Hash alg, const std::string& prev_hash_hex, int64_t org_id,
                       int64_t seq, int64_t at, const Actor& actor, const Event& event,
                       std::string_view outcome_text) {
  return link_hash(alg, prev_hash_hex, seq, leaf_hash(alg, org_id, at, actor, event, outcome_text));
}

Recorded record(db::Tx& tx, const Actor& actor, const Event& event, int64_t at_ms) {
  const std::string_view outcome = outcome_name(event.outcome);
  if (Head* h = cached_head(tx, actor.org_id)) {
    const int64_t seq = h->seq + 1;
    std::string hash = chain_hash(h->alg, h->hash, actor.org_id, seq, at_ms, actor, event, outcome);
    insert_event(tx, actor, event, outcome, seq, at_ms, h->hash, hash);
    h->prev = std::move(h->hash);
    h->hash = hash;
    h->seq = seq;
    h->dirty = true;
    return {seq, hash};
  }
  if (tx.engine() == db::Engine::postgres) {
    const std::string leaf =
        crypto::hex(leaf_hash(crypto::Hash::sha256, actor.org_id, at_ms, actor, event, outcome));
    auto r = tx.one(
        kAppendPostgres,
        {leaf, actor.org_id, actor.org_id, at_ms, opt_int(actor.user_id), opt_int(actor.session_id),
         opt_text(actor.ip), opt_text(actor.request_id), event.action, opt_text(event.object_type),
         opt_text(event.object_id), std::string(outcome), opt_text(event.error_code),
         opt_text(event.changes), opt_text(event.reason)});
    if (r) {
      remember_head(tx, {actor.org_id, db::as_int(r->at(0)), db::as_text(r->at(2)),
                         db::as_text(r->at(1)), crypto::Hash::sha256});
      return {db::as_int(r->at(0)), db::as_text(r->at(1))};
    }
    // No head row yet, or an SM3 chain: the general path below.
  }
  if (tx.engine() == db::Engine::sqlite) {
    // SQLite has one writer at a time (every write transaction is BEGIN IMMEDIATE, across
    // processes too): reading the head is enough, and it is written once, just before commit.
    const char* kRead = "SELECT seq + 1, hash, alg FROM audit_heads WHERE org_id = ?";
    auto head = tx.one(kRead, {actor.org_id});
    if (!head) {
      tx.exec("INSERT INTO audit_heads (org_id, seq, hash) VALUES (?, 0, '')", {actor.org_id});
      head = tx.one(kRead, {actor.org_id});
    }
    Head h{actor.org_id,
           db::as_int(head->at(0)),
           db::as_text(head->at(1)),
           "",
           crypto::parse_hash(db::as_text(head->at(2))).value_or(crypto::Hash::sha256),
           true};
    h.hash = chain_hash(h.alg, h.prev, actor.org_id, h.seq, at_ms, actor, event, outcome);
    insert_event(tx, actor, event, outcome, h.seq, at_ms, h.prev, h.hash);
    Recorded out{h.seq, h.hash};
    remember_head(tx, std::move(h));
    return out;
  }
  // The head row serialises writers of one organisation's chain: on PostgreSQL the UPDATE takes
  // its row lock until commit.
  auto head =
      tx.one("UPDATE audit_heads SET seq = seq + 1 WHERE org_id = ? RETURNING seq, hash, alg",
             {actor.org_id});
  if (!head) {
    tx.exec(
        "INSERT INTO audit_heads (org_id, seq, hash) VALUES (?, 0, '') ON CONFLICT (org_id) DO "
        "NOTHING",
        {actor.org_id});
    head = tx.one("UPDATE audit_heads SET seq = seq + 1 WHERE org_id = ? RETURNING seq, hash, alg",
                  {actor.org_id});
  }
  const int64_t seq = db::as_int(head->at(0));
  const std::string prev = db::as_text(head->at(1));
  const crypto::Hash alg =
      crypto::parse_hash(db::as_text(head->at(2))).value_or(crypto::Hash::sha256);
  std::string hash = chain_hash(alg, prev, actor.org_id, seq, at_ms, actor, event, outcome);
  insert_event(tx, actor, event, outcome, seq, at_ms, prev, hash);
  tx.exec("UPDATE audit_heads SET prev_hash = ?, hash = ? WHERE org_id = ?",
          {prev, hash, actor.org_id});
  remember_head(tx, {actor.org_id, seq, prev, hash, alg});
  return {seq, hash};
}

std::vector<int64_t> set_chain_algorithm(db::Db& db, crypto::Hash alg) {
  const std::string name(crypto::hash_name(alg));
  return db.write([&](db::Tx& tx) {
    tx.exec("UPDATE audit_heads SET alg = ? WHERE seq = 0 AND alg <> ?", {name, name});
    std::vector<int64_t> other;
    for (const auto& r :
         tx.query("SELECT org_id FROM audit_heads WHERE alg <> ? ORDER BY org_id", {name}).rows)
      other.push_back(db::as_int(r[0]));
    return other;
  });
}

}  // namespace custos::audit
