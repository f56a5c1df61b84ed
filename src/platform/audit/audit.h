// The audit trail's write side (SI-7; MLPS 安全审计). Every change and every security event is
// recorded with `record()` inside the same transaction as the change it describes, so the two
// commit together or not at all. Records are hash-chained per organisation: each record's hash
// covers the previous record's hash and every field, with a leading domain byte, so an edit,
// deletion, insertion or reordering breaks the chain. The table is append-only (triggers on both
// engines).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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
                       const Actor& actor, const Event& event);
// The same over the outcome as stored text: the verifier hashes exactly what the table holds,
// so an outcome rewritten to an unknown word is a hash mismatch, not a parse error.
std::string chain_hash(const std::string& prev_hash_hex, int64_t org_id, int64_t seq, int64_t at,
                       const Actor& actor, const Event& event, std::string_view outcome_text);

}  // namespace custos::audit
