#include "platform/workflow/form_type.h"

#include <boost/json.hpp>
#include <cmath>
#include <regex>

#include "platform/errors/error.h"
#include "platform/text/time.h"
#include "platform/text/utf8.h"

namespace custos::workflow {
namespace json = boost::json;

std::optional<FieldType> parse_field_type(std::string_view s) {
  if (s == "text") return FieldType::text;
  if (s == "integer") return FieldType::integer;
  if (s == "decimal") return FieldType::decimal;
  if (s == "date") return FieldType::date;
  if (s == "boolean") return FieldType::boolean;
  if (s == "user") return FieldType::user;
  if (s == "department") return FieldType::department;
  if (s == "choice") return FieldType::choice;
  return std::nullopt;
}

std::string_view field_type_name(FieldType t) {
  switch (t) {
    case FieldType::text:
      return "text";
    case FieldType::integer:
      return "integer";
    case FieldType::decimal:
      return "decimal";
    case FieldType::date:
      return "date";
    case FieldType::boolean:
      return "boolean";
    case FieldType::user:
      return "user";
    case FieldType::department:
      return "department";
    case FieldType::choice:
      return "choice";
  }
  return "text";
}

const Field* FormType::field(std::string_view name) const {
  for (const auto& f : fields)
    if (f.name == name) return &f;
  return nullptr;
}

namespace {

[[noreturn]] void bad(const Field& f, const std::string& why) {
  throw Error(ErrorCode::validation_failed, "body.form." + f.name, why);
}

std::optional<double> number_of(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  if (v.is_double()) return v.as_double();
  return std::nullopt;
}

json::value check_value(const Field& f, const json::value& v) {
  switch (f.type) {
    case FieldType::text: {
      if (!v.is_string()) bad(f, "a text");
      const std::string s(v.as_string());
      if (f.required && s.empty()) bad(f, "required");
      if (text::utf8_length(s) > static_cast<size_t>(f.max_length))
        bad(f, "at most " + std::to_string(f.max_length) + " characters");
      for (unsigned char c : s)
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') bad(f, "control characters");
      return json::string(s);
    }
    case FieldType::integer:
    case FieldType::decimal: {
      auto n = number_of(v);
      if (!n && v.is_string()) {
        // Spreadsheets and forms send numbers as text; "12.50" is accepted.
        const std::string s(v.as_string());
        char* end = nullptr;
        double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && end == s.c_str() + s.size() && std::isfinite(d)) n = d;
      }
      if (!n || !std::isfinite(*n))
        bad(f, f.type == FieldType::integer ? "an integer" : "a number");
      if (f.type == FieldType::integer && std::floor(*n) != *n) bad(f, "an integer");
      if (f.min && *n < *f.min) bad(f, "at least " + json::serialize(json::value(*f.min)));
      if (f.max && *n > *f.max) bad(f, "at most " + json::serialize(json::value(*f.max)));
      // Whole numbers stay integers in the JSON (200, not 2E2).
      if (std::floor(*n) == *n && std::fabs(*n) < 9.0e15) return static_cast<int64_t>(*n);
      return *n;
    }
    case FieldType::date: {
      if (!v.is_string()) bad(f, "a date such as 2026-12-01");
      const std::string s(v.as_string());
      static const std::regex re("\\d{4}-\\d{2}-\\d{2}");
      if (!std::regex_match(s, re) || !text::parse_rfc3339(s + "T00:00:00Z"))
        bad(f, "a date such as 2026-12-01");
      return json::string(s);
    }
    case FieldType::boolean:
      if (!v.is_bool()) bad(f, "true or false");
      return v.as_bool();
    case FieldType::user:
    case FieldType::department: {
      std::string id;
      if (v.is_int64() && v.as_int64() > 0) id = std::to_string(v.as_int64());
      if (v.is_string()) id = std::string(v.as_string());
      static const std::regex re("[1-9][0-9]{0,17}");
      if (!std::regex_match(id, re)) bad(f, "an id");
      return json::string(id);
    }
    case FieldType::choice: {
      if (!v.is_string()) bad(f, "one of the choices");
      const std::string s(v.as_string());
      for (const auto& c : f.choices)
        if (c == s) return json::string(s);
      bad(f, "one of the choices");
    }
  }
  bad(f, "unsupported");
}

json::object parse_obj(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

}  // namespace

std::string check_form(const FormType& type, std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) throw Error(ErrorCode::validation_failed, "body.form", "an object");
  const json::object& in = v.as_object();
  for (const auto& [k, x] : in)
    if (!type.field(std::string_view(k)))
      throw Error(ErrorCode::validation_failed, "body.form." + std::string(k), "not a field");
  json::object out;
  for (const Field& f : type.fields) {
    const json::value* x = in.if_contains(f.name);
    const bool empty = !x || x->is_null() || (x->is_string() && x->as_string().empty());
    if (empty) {
      if (f.required) bad(f, "required");
      continue;
    }
    out[f.name] = check_value(f, *x);
  }
  return json::serialize(out);
}

std::string form_text(const std::string& form_json, std::string_view field) {
  json::object o = parse_obj(form_json);
  const json::value* v = o.if_contains(field);
  if (!v || v->is_null()) return {};
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_bool()) return v->as_bool() ? "true" : "false";
  if (v->is_double()) {
    // 1500 rather than 1500.0, 12.5 as it is.
    const double d = v->as_double();
    if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
  }
  return json::serialize(*v);
}

std::optional<double> form_number(const std::string& form_json, std::string_view field) {
  json::object o = parse_obj(form_json);
  const json::value* v = o.if_contains(field);
  if (!v) return std::nullopt;
  return number_of(*v);
}

std::string render_summary(const FormType& type, const std::string& form_json) {
  std::string out;
  const std::string& t = type.summary.empty() ? type.name_zh : type.summary;
  for (size_t i = 0; i < t.size();) {
    if (t[i] == '{') {
      const size_t end = t.find('}', i);
      if (end != std::string::npos) {
        out += form_text(form_json, std::string_view(t).substr(i + 1, end - i - 1));
        i = end + 1;
        continue;
      }
    }
    out += t[i++];
  }
  if (text::utf8_length(out) > 200) {
    // Cut at a character boundary.
    std::string cut;
    size_t chars = 0;
    for (size_t i = 0; i < out.size() && chars < 199; ++chars) {
      size_t n = 1;
      auto c = static_cast<unsigned char>(out[i]);
      if (c >= 0xF0)
        n = 4;
      else if (c >= 0xE0)
        n = 3;
      else if (c >= 0xC0)
        n = 2;
      cut.append(out, i, n);
      i += n;
    }
    out = cut + "…";
  }
  return out;
}

}  // namespace custos::workflow
