#include "api/json.h"

#include <boost/json.hpp>

#include "platform/log/log.h"
#include "platform/text/time.h"
#include "platform/text/utf8.h"

namespace custos::api {
namespace json = boost::json;

json::object parse_object(const http::Request& req) {
  json::parse_options opt;
  opt.max_depth = 32;
  opt.allow_invalid_utf8 = false;  // the parser checks UTF-8 as it goes
  json::error_code ec;
  // One arena per body, sized from it: a parsed document costs a couple of allocations instead
  // of one per string, and is freed in one piece with the object.
  json::value v = json::parse(
      req.body, ec, json::make_shared_resource<json::monotonic_resource>(req.body.size() * 2 + 256),
      opt);
  if (ec) {
    // Tell a client whose text is mis-encoded (GBK from an old form, say) exactly that.
    if (!text::valid_utf8(req.body)) throw Error(ErrorCode::invalid_utf8, "body");
    throw Error(ErrorCode::invalid_json, "body", ec.message());
  }
  if (!v.is_object()) throw Error(ErrorCode::validation_failed, "body", "expected a JSON object");
  return std::move(v.as_object());
}

http::Response json_response(int status, const json::value& v) {
  return http::Response::json(status, json::serialize(v));
}

http::Response json_response(int status, const json::object& o) {
  return http::Response::json(status, json::serialize(o));
}

http::Response json_response(int status, const json::array& a) {
  return http::Response::json(status, json::serialize(a));
}

ObjectText::ObjectText() {
  out_.reserve(512);
  out_ += '{';
}

void ObjectText::key(std::string_view k) {
  if (out_.size() > 1) out_ += ',';
  out_ += '"';
  out_ += k;
  out_ += "\":";
}

ObjectText& ObjectText::text(std::string_view k, std::string_view value) {
  key(k);
  out_ += '"';
  log::json_escape(out_, value);
  out_ += '"';
  return *this;
}

ObjectText& ObjectText::text_or_null(std::string_view k, const std::optional<std::string>& value) {
  if (value) return text(k, std::string_view(*value));
  key(k);
  out_ += "null";
  return *this;
}

ObjectText& ObjectText::id(std::string_view k, const std::optional<int64_t>& value) {
  key(k);
  if (!value) {
    out_ += "null";
    return *this;
  }
  out_ += '"';
  out_ += std::to_string(*value);
  out_ += '"';
  return *this;
}

ObjectText& ObjectText::ids(std::string_view k, const std::vector<int64_t>& values) {
  key(k);
  out_ += '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out_ += ',';
    out_ += '"';
    out_ += std::to_string(values[i]);
    out_ += '"';
  }
  out_ += ']';
  return *this;
}

ObjectText& ObjectText::integer(std::string_view k, int64_t value) {
  key(k);
  out_ += std::to_string(value);
  return *this;
}

ObjectText& ObjectText::boolean(std::string_view k, bool value) {
  key(k);
  out_ += value ? "true" : "false";
  return *this;
}

ObjectText& ObjectText::time(std::string_view k, int64_t epoch_ms) {
  key(k);
  out_ += '"';
  out_ += text::rfc3339(epoch_ms);
  out_ += '"';
  return *this;
}

ObjectText& ObjectText::time_or_null(std::string_view k, const std::optional<int64_t>& epoch_ms) {
  if (epoch_ms) return time(k, *epoch_ms);
  key(k);
  out_ += "null";
  return *this;
}

ObjectText& ObjectText::raw(std::string_view k, std::string_view json) {
  key(k);
  out_ += json;
  return *this;
}

std::string ObjectText::str() && {
  out_ += '}';
  return std::move(out_);
}

http::Response text_response(int status, std::string body, const std::string& etag,
                             const std::string& location) {
  http::Response r = http::Response::json(status, std::move(body));
  if (!etag.empty()) r.headers.set("ETag", etag);
  if (!location.empty()) r.headers.set("Location", location);
  return r;
}

http::Response list_text_response(const std::vector<std::string>& items,
                                  const std::optional<std::string>& next_cursor, int64_t total,
                                  bool total_exact) {
  size_t size = 64;
  for (const auto& i : items) size += i.size() + 1;
  std::string array;
  array.reserve(size);
  array += '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) array += ',';
    array += items[i];
  }
  array += ']';
  ObjectText o;
  o.raw("items", array).text_or_null("next_cursor", next_cursor).integer("total", total);
  o.boolean("total_exact", total_exact);
  return http::Response::json(200, std::move(o).str());
}

http::Response list_response(json::array items, const std::optional<std::string>& next_cursor,
                             int64_t total, bool total_exact) {
  json::object o;
  o["items"] = std::move(items);
  o["next_cursor"] = next_cursor ? json::value(*next_cursor) : json::value(nullptr);
  o["total"] = total;
  o["total_exact"] = total_exact;
  return json_response(200, o);
}

http::Response list_response(json::array items) {
  const auto total = static_cast<int64_t>(items.size());
  return list_response(std::move(items), std::nullopt, total);
}

json::value json_id(const std::optional<int64_t>& id) {
  return id ? json::value(std::to_string(*id)) : json::value(nullptr);
}

json::value json_text(const std::optional<std::string>& text) {
  return text ? json::value(*text) : json::value(nullptr);
}

json::value json_time(const std::optional<int64_t>& epoch_ms) {
  return epoch_ms ? json::value(text::rfc3339(*epoch_ms)) : json::value(nullptr);
}

namespace {

std::string field_name(std::string_view name) {
  return "body." + std::string(name);
}

void check_text_value(const std::string& s, const std::string& field, size_t max_chars,
                      bool required) {
  if (required && s.empty()) throw Error(ErrorCode::validation_failed, field, "must not be empty");
  if (text::utf8_length(s) > max_chars)
    throw Error(ErrorCode::validation_failed, field,
                "at most " + std::to_string(max_chars) + " characters");
  for (unsigned char c : s)
    if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
      throw Error(ErrorCode::validation_failed, field, "control characters are not allowed");
}

std::optional<std::string> string_field(const json::object& o, std::string_view name,
                                        size_t max_chars, bool required) {
  const json::value* v = o.if_contains(name);
  if (!v || v->is_null()) {
    if (required) throw Error(ErrorCode::validation_failed, field_name(name), "required");
    return std::nullopt;
  }
  if (!v->is_string())
    throw Error(ErrorCode::validation_failed, field_name(name), "expected a string");
  std::string s(v->as_string());
  check_text_value(s, field_name(name), max_chars, required);
  return s;
}

}  // namespace

std::string required_string(const json::object& o, std::string_view name, size_t max_chars) {
  return *string_field(o, name, max_chars, true);
}

std::optional<std::string> optional_string(const json::object& o, std::string_view name,
                                           size_t max_chars) {
  return string_field(o, name, max_chars, false);
}

int64_t required_int(const json::object& o, std::string_view name, int64_t min, int64_t max) {
  const json::value* v = o.if_contains(name);
  if (!v || v->is_null()) throw Error(ErrorCode::validation_failed, field_name(name), "required");
  int64_t n = 0;
  if (v->is_int64())
    n = v->as_int64();
  else if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(INT64_MAX))
    n = static_cast<int64_t>(v->as_uint64());
  else
    throw Error(ErrorCode::validation_failed, field_name(name), "expected an integer");
  if (n < min || n > max)
    throw Error(ErrorCode::validation_failed, field_name(name),
                "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return n;
}

std::optional<int64_t> optional_int(const json::object& o, std::string_view name, int64_t min,
                                    int64_t max) {
  const json::value* v = o.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  return required_int(o, name, min, max);
}

std::optional<bool> optional_bool(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_bool()) throw Error(ErrorCode::validation_failed, field_name(name), "true or false");
  return v->as_bool();
}

namespace {

std::optional<int64_t> id_value(const json::value& v) {
  if (v.is_int64() && v.as_int64() > 0) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= static_cast<uint64_t>(INT64_MAX) && v.as_uint64() > 0)
    return static_cast<int64_t>(v.as_uint64());
  if (v.is_string()) {
    const auto& s = v.as_string();
    if (s.empty() || s.size() > 18) return std::nullopt;
    int64_t n = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    if (n > 0) return n;
  }
  return std::nullopt;
}

}  // namespace

int64_t required_id(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (!v || v->is_null()) throw Error(ErrorCode::validation_failed, field_name(name), "required");
  auto id = id_value(*v);
  if (!id) throw Error(ErrorCode::validation_failed, field_name(name), "an id");
  return *id;
}

std::optional<std::optional<int64_t>> id_field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (!v) return std::nullopt;
  if (v->is_null()) return std::optional<int64_t>();
  auto id = id_value(*v);
  if (!id) throw Error(ErrorCode::validation_failed, field_name(name), "an id");
  return std::optional<int64_t>(*id);
}

std::optional<std::optional<std::string>> nullable_string(const json::object& o,
                                                          std::string_view name, size_t max_chars) {
  const json::value* v = o.if_contains(name);
  if (!v) return std::nullopt;
  if (v->is_null()) return std::optional<std::string>();
  return std::optional<std::string>(optional_string(o, name, max_chars));
}

std::vector<int64_t> id_list(const json::object& o, std::string_view name, size_t max) {
  const json::value* v = o.if_contains(name);
  if (!v || !v->is_array() || v->as_array().size() > max)
    throw Error(ErrorCode::validation_failed, field_name(name),
                "a list of at most " + std::to_string(max) + " ids");
  std::vector<int64_t> ids;
  for (const auto& x : v->as_array()) {
    auto id = id_value(x);
    if (!id) throw Error(ErrorCode::validation_failed, field_name(name), "ids");
    ids.push_back(*id);
  }
  return ids;
}

std::vector<std::string> string_list(const json::object& o, std::string_view name, size_t max,
                                     size_t max_chars) {
  const json::value* v = o.if_contains(name);
  if (!v || !v->is_array() || v->as_array().size() > max)
    throw Error(ErrorCode::validation_failed, field_name(name),
                "a list of at most " + std::to_string(max) + " strings");
  std::vector<std::string> out;
  for (const auto& x : v->as_array()) {
    if (!x.is_string()) throw Error(ErrorCode::validation_failed, field_name(name), "strings");
    std::string s(x.as_string());
    check_text_value(s, field_name(name), max_chars, true);
    out.push_back(std::move(s));
  }
  return out;
}

int64_t required_time(const json::object& o, std::string_view name) {
  auto t = optional_time(o, name);
  if (!t) throw Error(ErrorCode::validation_failed, field_name(name), "required");
  return *t;
}

std::optional<int64_t> optional_time(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  std::optional<int64_t> t;
  if (v->is_string()) t = text::parse_rfc3339(std::string_view(v->as_string()));
  if (!t)
    throw Error(ErrorCode::validation_failed, field_name(name),
                "an RFC 3339 time such as 2026-12-01T08:00:00Z");
  return t;
}

http::Response object_response(int status, json::object o, const std::string& location) {
  std::string etag;
  if (const json::value* e = o.if_contains("etag"); e && e->is_string()) etag = e->as_string();
  http::Response r = json_response(status, o);
  if (!etag.empty()) r.headers.set("ETag", etag);
  if (!location.empty()) r.headers.set("Location", location);
  return r;
}

http::Response no_content() {
  http::Response r;
  r.status = 204;
  return r;
}

}  // namespace custos::api
