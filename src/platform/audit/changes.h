// What every module needs to write an audit record the same way: the actor behind a request
// and the {"field":{"before":…,"after":…}} description of a change. Personal fields go in
// masked (privacy::Masker) or not at all.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/audit/audit.h"
#include "platform/authn/client.h"
#include "platform/authz/authz.h"

namespace custos::audit {

Actor actor_of(const authz::Principal& p, const authn::Client& c);

// JSON values of fields (null when absent).
boost::json::value jv(const std::optional<int64_t>& v);
boost::json::value jv(const std::optional<std::string>& v);
boost::json::value jv(const std::string& v);
boost::json::value jv(const char* v);
boost::json::value jv(int64_t v);
inline boost::json::value jv(int v) {
  return jv(int64_t{v});
}
boost::json::value jv(bool v);
boost::json::value jv(const std::vector<int64_t>& v);
boost::json::value jv(const std::vector<std::string>& v);
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
  // A field whose value is recorded as it is now (created objects, actions with parameters).
  template <class A>
  void set(const char* field, const A& value) {
    o_[field] = {{"before", nullptr}, {"after", jv(value)}};
  }
  std::string str() const;
  bool empty() const { return o_.empty(); }

 private:
  boost::json::object o_;
};

}  // namespace custos::audit
