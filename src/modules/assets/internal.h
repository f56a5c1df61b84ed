// What the assets module's parts (archive, inventory, IP addresses, violations) share.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "modules/assets/assets.h"

namespace custos::assets::detail {

// validation_failed on `field` unless v is one of `allowed`.
void check_in(const std::string& v, const std::vector<std::string>& allowed, const char* field);
// An active (non-administrator) user of the organisation; their department.
std::optional<int64_t> check_user(db::Tx& tx, int64_t org, int64_t id, const char* field);
// The department path belongs to the IT department (kind "it") or one below it.
bool in_it_department(db::Tx& tx, int64_t org, const std::string& path);
// The head of the IT department (the first one, should there be several); nullopt when none.
std::optional<int64_t> it_head(db::Tx& tx, int64_t org);
// One line of an asset's history.
void add_event(db::Tx& tx, const authz::Principal& p, int64_t asset, int64_t now,
               const std::string& kind, const std::string& from, const std::string& to,
               std::optional<int64_t> cost = std::nullopt, const std::string& note = "");
// The archive's field rules (lengths, category, dates, amounts); validation_failed on body.<field>.
void check_asset_fields(const AssetInput& in);
db::Value opt(const std::optional<int64_t>& v);
db::Value opt(const std::optional<std::string>& v);
// An asset the caller may see (not_found otherwise, as if it did not exist) / may change
// (forbidden otherwise).
Asset visible_asset(db::Tx& tx, const authz::Principal& p, int64_t id);
Asset writable_asset(db::Tx& tx, const authz::Principal& p, int64_t id);

}  // namespace custos::assets::detail
