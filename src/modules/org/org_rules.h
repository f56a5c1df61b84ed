// The organisation's input rules and audit helpers, shared by OrgService (one record at a time)
// and OrgImporter (a spreadsheet at a time) so both accept and refuse exactly the same things
// and record changes in the same shape.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <regex>
#include <string>

#include "platform/audit/audit.h"
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

audit::Actor actor_of(const authz::Principal& p, const authn::Client& c);

// JSON values of fields (null when absent).
boost::json::value jv(const std::optional<int64_t>& v);
boost::json::value jv(const std::optional<std::string>& v);
boost::json::value jv(const std::string& v);
boost::json::value jv(int64_t v);
inline boost::json::value jv(int v) {
  return jv(int64_t{v});
}
boost::json::value jv(const std::vector<int64_t>& v);
inline const boost::json::value& jv(const boost::json::value& v) {
  return v;
}
inline boost::json::value jv(std::nullptr_t) {
  return nullptr;
}

// {"field":{"before":…,"after":…}} for an audit record; unchanged fields are left out.
class Changes {
 public:
  template <class A, class B>
  void add(const char* field, const A& before, const B& after) {
    boost::json::value b = jv(before), a = jv(after);
    if (b != a) o_[field] = {{"before", b}, {"after", a}};
  }
  std::string str() const { return o_.empty() ? std::string() : boost::json::serialize(o_); }
  bool empty() const { return o_.empty(); }

 private:
  boost::json::object o_;
};

}  // namespace custos::org
