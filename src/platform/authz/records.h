// Rules every module's records share: the decision point's view of a row (its department, its
// owner, its classification), the department a record may be filed in, and plain text fields.
#pragma once

#include <optional>
#include <string>

#include "platform/authz/authz.h"
#include "platform/storage/db.h"

namespace custos::authz {

// forbidden unless `allowed`.
void require(bool allowed);
// A text field: required (non-empty) when asked, at most `max` characters, no control characters
// but newline and tab; validation_failed on `field` otherwise.
void check_text(const std::string& v, const char* field, size_t max, bool required);

// The resource the decision point needs for a row of a module's table.
Resource resource(const std::string& object_type, int64_t id, std::optional<int64_t> department_id,
                  const std::string& dept_path, std::optional<int64_t> owner, int classification);
// The department's path ("/1/4/"), empty when none or unknown.
std::string department_path(db::Tx& tx, int64_t org, std::optional<int64_t> department_id);
// A department the caller may put records in (`permission` there); nullopt: none given.
// validation_failed when there is no such department, forbidden when it is not theirs to file in.
void check_department(db::Tx& tx, const Principal& p, const char* permission,
                      std::optional<int64_t> department_id, const char* field);

}  // namespace custos::authz
