// The organisation's input rules and audit helpers, shared by OrgService (one record at a time)
// and OrgImporter (a spreadsheet at a time) so both accept and refuse exactly the same things
// and record changes in the same shape.
#pragma once

#include <optional>
#include <regex>
#include <string>

#include "platform/audit/changes.h"
#include "platform/authn/auth_service.h"
#include "platform/authz/authz.h"

namespace custos::org {

// Department, post and role codes; employee numbers.
const std::regex& code_re();
inline constexpr const char* kCodeRule = "letters, digits, '.', '_' or '-'";
// Login names.
const std::regex& username_re();
inline constexpr const char* kUsernameRule = "3-64 of lower-case letters, digits, '.', '_' or '-'";
const std::regex& email_re();
inline constexpr const char* kEmailRule = "an e-mail address";
// module:resource:action with '*' for a whole segment.
const std::regex& permission_re();

// Department kinds, by key ("it") or by the zh-CN label a spreadsheet may use ("信息管理部").
std::optional<std::string> parse_kind(const std::string& s);
inline constexpr const char* kKindRule =
    "one of normal, it, president_office, finance, admin_hr (or 普通, 信息管理部, 总裁办, 财务, "
    "行政人事)";

// While a departure or transfer is open, its case decides the user's department (OA-4, IT-2):
// neither a PATCH nor an import moves the user.
inline bool department_locked(const std::string& status) {
  return status == "departing" || status == "transferring";
}
inline constexpr const char* kDepartmentLockedRule = "an offboarding case is open for this user";

// The audit helpers every module shares (platform/audit/changes.h).
using audit::actor_of;
using audit::Changes;
using audit::jv;

}  // namespace custos::org
