#include "platform/audit/changes.h"

#include <boost/json/serialize.hpp>

namespace custos::audit {

Actor actor_of(const authz::Principal& p, const authn::Client& c) {
  return {p.org_id, p.user_id, p.session_id ? std::optional<int64_t>(p.session_id) : std::nullopt,
          c.ip, c.request_id};
}

boost::json::value jv(const std::optional<int64_t>& v) {
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}
boost::json::value jv(const std::optional<std::string>& v) {
  return v ? boost::json::value(boost::json::string(*v)) : boost::json::value(nullptr);
}
boost::json::value jv(const std::string& v) {
  return boost::json::value(boost::json::string(v));
}
boost::json::value jv(const char* v) {
  return boost::json::value(boost::json::string(v));
}
boost::json::value jv(int64_t v) {
  return boost::json::value(v);
}
boost::json::value jv(bool v) {
  return boost::json::value(v);
}
boost::json::value jv(const std::vector<int64_t>& v) {
  boost::json::array a;
  for (auto x : v) a.push_back(x);
  return a;
}
boost::json::value jv(const std::vector<std::string>& v) {
  boost::json::array a;
  for (const auto& x : v) a.emplace_back(x);
  return a;
}

std::string Changes::str() const {
  return o_.empty() ? std::string() : boost::json::serialize(o_);
}

}  // namespace custos::audit
