// The audit trail's verifier: walks every organisation's chain in seq order (keyset pages, one
// read snapshot) and names the first bad record of each. What it catches, and how:
//  * modified field   — a record's recomputed hash differs from its stored hash (`modified`);
//  * deleted record   — a seq is missing (`missing`);
//  * inserted / swapped / renumbered records — a record's prev_hash is not the hash of the
//    record before it (`chain_broken`);
//  * truncated tail   — audit_heads, a stored checkpoint or the anchor is ahead of the last
//    record (`truncated`, `rollback` for the anchor);
//  * a rewritten suffix with recomputed hashes — the chain no longer reaches a signed
//    checkpoint's root (`checkpoint_mismatch`, `anchor_mismatch`); a forged checkpoint has a bad
//    signature (`bad_signature`).
// Without a signer, stored checkpoints are compared but their signatures are not checked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/audit/checkpoint.h"
#include "platform/storage/db.h"

namespace custos::audit {

struct Finding {
  int64_t org_id = 0;
  int64_t seq = 0;     // the first bad record (or the first missing one)
  std::string code;    // modified, missing, chain_broken, unexpected, head_mismatch, truncated,
                       // rollback, checkpoint_mismatch, anchor_mismatch, bad_signature
  std::string detail;  // English, for operators
};

struct VerifyOptions {
  int page_size = 5000;
  const Signer* signer = nullptr;  // checks checkpoint and anchor signatures when set
  std::vector<Checkpoint> anchor;  // from an anchor file; empty: none
};

struct VerifyReport {
  bool ok = true;
  int64_t records_checked = 0;
  int64_t organisations = 0;
  std::vector<Finding> findings;  // at most one per organisation, by org
  std::optional<Finding> first_bad() const {
    if (findings.empty()) return std::nullopt;
    return findings.front();
  }
};

VerifyReport verify(db::Db& db, const VerifyOptions& options = {});

}  // namespace custos::audit
