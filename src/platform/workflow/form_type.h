// Form types (issue #5 item 5): what a module registers so the engine can carry its approvals —
// typed fields with their checks, a summary line, who may start one, and what happens on the
// final approval or rejection (run in the same transaction as the final action, e.g.
// procurement approved → a purchase task is created).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/authz/authz.h"
#include "platform/storage/db.h"

namespace custos::workflow {

enum class FieldType { text, integer, decimal, date, boolean, user, department, choice };
std::optional<FieldType> parse_field_type(std::string_view s);
std::string_view field_type_name(FieldType t);

struct Field {
  std::string name;  // [a-z][a-z0-9_]*
  FieldType type = FieldType::text;
  std::string label_zh, label_en;
  bool required = false;
  int max_length = 500;              // text
  std::optional<double> min, max;    // integer, decimal
  std::vector<std::string> choices;  // choice
};

// What a callback sees of the instance that ended.
struct Ended {
  int64_t org_id = 0;
  int64_t instance_id = 0;
  std::string form_type;
  std::string form_json;  // the checked fields
  std::string subject_type;
  std::optional<int64_t> subject_id;
  int64_t initiator_id = 0;
  std::string outcome;              // approved | rejected | withdrawn | terminated
  std::optional<int64_t> actor_id;  // who took the final action (none: the time limit)
};
using Callback = std::function<void(db::Tx& tx, const Ended& e, int64_t now)>;
// Called when a person starts a form, before anything is written, with the checked form: may
// refuse (throw Error: the caller may not see the record, it is in the wrong state) and returns
// the owner of the record the form is about (for the record_owner rule), if any.
using StartCheck = std::function<std::optional<int64_t>(db::Tx& tx, const authz::Principal& p,
                                                        std::optional<int64_t> subject_id,
                                                        const std::string& form_json)>;

struct FormType {
  std::string key;  // module.form, e.g. "it.procurement"
  std::string name_zh, name_en;
  std::vector<Field> fields;
  std::string summary;           // "{item} × {quantity}": fields in braces
  std::string start_permission;  // who may start one; empty: any active user
  std::string subject_type;      // the record type a form is about; empty: none
  Callback on_end;               // every final outcome; may throw to refuse it (Error)
  StartCheck on_start;           // optional
  const Field* field(std::string_view name) const;
};

// Checks form data (a JSON object) against the type: unknown fields, missing required ones,
// wrong types, lengths and ranges are validation_failed naming "body.form.<field>". Returns
// the normalised JSON (declared fields only; ids as strings, numbers as numbers).
std::string check_form(const FormType& type, std::string_view json);
// The summary line with the fields' values (at most 200 characters).
std::string render_summary(const FormType& type, const std::string& form_json);
// The value of one field as text ("" when absent), and as a number when it is one.
std::string form_text(const std::string& form_json, std::string_view field);
std::optional<double> form_number(const std::string& form_json, std::string_view field);

}  // namespace custos::workflow
