// The audit trail's write side (SI-7; MLPS 安全审计). Every change and every security event is
// recorded with `record()` inside the same transaction as the change it describes, so the two
// commit together or not at all. Records are hash-chained per organisation, RFC 6962 style with
// domain separation:
//   leaf = H(0x00 | org | at | actor… | action | object… | outcome | error | changes | reason)
//   hash = H(0x02 | previous hash | seq as 8 bytes big-endian | leaf)      (0x01: checkpoints)
// with every leaf field length-prefixed, so an edit, deletion, insertion or reordering breaks
// the chain. H is the chain's algorithm (audit_heads.alg): SHA-256 (suite intl) or SM3 (gm).
// The table is append-only (triggers on both engines).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/crypto/crypto.h"
#include "platform/storage/db.h"

namespace custos::audit {

enum class Outcome { success, denied, failed };
std::string_view outcome_name(Outcome o);

// Who acted and from where; filled from the request.
struct Actor {
  int64_t org_id = 1;
  std::optional<int64_t> user_id;
  std::optional<int64_t> session_id;
  std::string ip;
  std::string request_id;
};

struct Event {
  std::string action;       // e.g. "auth.login", "org.user.create"
  std::string object_type;  // e.g. "user"
  std::string object_id;
  Outcome outcome = Outcome::success;
  std::string error_code;
  std::string changes;  // JSON: {"field":{"before":…,"after":…}}; personal fields masked
  std::string reason;   // the approval or reason that allowed it
};

struct Recorded {
  int64_t seq;
  std::string hash;  // hex
};

// Appends one record in tx. The caller's transaction commits it.
Recorded record(db::Tx& tx, const Actor& actor, const Event& event, int64_t at_ms);

// The chain hash of one record given its predecessor's (both hex). Exposed for the verifier.
std::string chain_hash(const std::string& prev_hash_hex, int64_t org_id, int64_t seq, int64_t at,
                       const Actor& actor, const Event& event,
                       crypto::Hash alg = crypto::Hash::sha256);
// The same over the outcome as stored text: the verifier hashes exactly what the table holds,
// so an outcome rewritten to an unknown word is a hash mismatch, not a parse error.
std::string chain_hash(crypto::Hash alg, const std::string& prev_hash_hex, int64_t org_id,
                       int64_t seq, int64_t at, const Actor& actor, const Event& event,
                       std::string_view outcome_text);

// Chains not yet begun (no record) take `alg`; chains with records keep theirs. `custos serve`
// calls it with the configured suite's hash (intl: SHA-256, gm: SM3). Returns the organisations
// whose chain keeps another algorithm than `alg`.
std::vector<int64_t> set_chain_algorithm(db::Db& db, crypto::Hash alg);

}  // namespace custos::audit
