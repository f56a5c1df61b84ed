#include "platform/authz/records.h"

#include "platform/errors/error.h"
#include "platform/text/utf8.h"

namespace custos::authz {

void require(bool allowed) {
  if (!allowed) throw Error(ErrorCode::forbidden);
}

void check_text(const std::string& v, const char* field, size_t max, bool required) {
  if (required && v.empty()) throw Error(ErrorCode::validation_failed, field, "required");
  if (text::utf8_length(v) > max)
    throw Error(ErrorCode::validation_failed, field,
                "at most " + std::to_string(max) + " characters");
  for (unsigned char c : v)
    if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
      throw Error(ErrorCode::validation_failed, field, "control characters are not allowed");
}

authz::Resource resource(const std::string& object_type, int64_t id,
                         std::optional<int64_t> department_id, const std::string& dept_path,
                         std::optional<int64_t> owner, int classification) {
  authz::Resource r;
  r.department_id = department_id;
  r.department_path = dept_path;
  r.owner_user_id = owner;
  r.classification = classification;
  r.object_type = object_type;
  r.object_id = id;
  return r;
}

std::string department_path(db::Tx& tx, int64_t org, std::optional<int64_t> department_id) {
  if (!department_id) return {};
  auto r =
      tx.one("SELECT path FROM departments WHERE org_id = ? AND id = ?", {org, *department_id});
  return r ? db::as_text(r->at(0)) : std::string();
}

void check_department(db::Tx& tx, const authz::Principal& p, const char* permission,
                      std::optional<int64_t> department_id, const char* field) {
  authz::Resource target;
  if (department_id) {
    auto d = tx.one("SELECT path FROM departments WHERE org_id = ? AND id = ?",
                    {p.org_id, *department_id});
    if (!d) throw Error(ErrorCode::validation_failed, field, "no such department");
    target.department_id = department_id;
    target.department_path = db::as_text(d->at(0));
  } else {
    target.department_path = "/";
  }
  target.classification = kPublic;
  if (!may(p, permission, target))
    throw Error(ErrorCode::forbidden, field, "not a department you may file records in");
}

}  // namespace custos::authz
