// Configuration changes in the audit trail (MLPS 安全审计 a; compliance checklist C13). The
// configuration is a file, environment and flags read at start, so a change shows at the next
// start: each server compares its effective settings (credentials already redacted) with the
// last ones recorded and, when they differ, writes one `system.config.change` record naming
// every key with its value before and after, in the same transaction as the new snapshot.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "platform/storage/db.h"

namespace custos::audit {

using Settings = std::vector<std::pair<std::string, std::string>>;

// Returns the keys that changed (all of them the first time); empty: nothing recorded. `who`
// names the process (host and pid) in the record's request id field.
std::vector<std::string> record_configuration(db::Db& db, const Settings& settings,
                                              const std::string& who, int64_t now_ms);

}  // namespace custos::audit
