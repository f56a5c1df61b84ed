// Retention purge of the audit trail (issue #4). Records older than the retention period
// (audit.retention_days, at least 180) may be removed by the audit administrator. The removed
// prefix 1..k stays provable: a checkpoint of record k is signed first, and the verifier starts
// the remaining trail from that checkpoint's root, but only when the trail itself holds the
// audit.purge record naming k (so a prefix deleted behind the application's back is still
// `missing`).
#pragma once

#include <cstdint>
#include <stdexcept>

#include "platform/audit/audit.h"
#include "platform/audit/checkpoint.h"
#include "platform/storage/db.h"

namespace custos::audit {

constexpr int kMinRetentionDays = 180;
constexpr const char* kPurgeAction = "audit.purge";

// `before` is newer than now − retention_days (or retention_days is under the minimum).
class PurgeRefused : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct PurgeResult {
  int64_t removed = 0;
  int64_t through_seq = 0;  // records 1..through_seq no longer stored (0: none)
  std::optional<Checkpoint> checkpoint;
};

// In tx: removes actor.org_id's oldest records, every one with `at` < before_ms up to the first
// record that is not older (the chain stays a contiguous suffix), after signing a checkpoint of
// the last removed record, and records an audit.purge event (also when nothing was removed).
PurgeResult purge(db::Tx& tx, const Signer& signer, const Actor& actor, int64_t before_ms,
                  int64_t now_ms, int retention_days);

}  // namespace custos::audit
