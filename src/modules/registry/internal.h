// Helpers the registry's parts share (customers.cpp, requests.cpp, care.cpp).
#pragma once

#include <boost/json.hpp>
#include <string>

#include "modules/registry/registry.h"
#include "platform/audit/changes.h"
#include "platform/authz/classification.h"
#include "platform/authz/grants.h"
#include "platform/authz/records.h"
#include "platform/errors/error.h"

namespace custos::registry::detail {

inline constexpr int64_t kDayMs = 86'400'000;

using authz::check_department;
using authz::check_text;
using authz::department_path;
using authz::require;
using authz::resource;

// A classification of the organisation's levels; changing one needs registry:records:classify.
void check_classification(db::Tx& tx, const authz::Principal& p, int level, const char* field);

// Whether reading a record at `level` is audited (SI-3): `column` is the
// authz::audits_reads_sql value its row came with (one statement for the record and the answer);
// NULL (no level of the organisation at or below it) asks authz::audits_reads in a read of its own.
bool read_is_audited(db::Db& db, int64_t org, int level, const db::Value& column);

// Records a read when the record's level audits reads (SI-3).
void audit_read(db::Tx& tx, const audit::Actor& a, const std::string& action,
                const std::string& object_type, const std::string& ids, int classification,
                int64_t now);

}  // namespace custos::registry::detail
