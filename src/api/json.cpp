#include "api/json.h"

#include <boost/json.hpp>

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

http::Response list_response(json::array items, const std::optional<std::string>& next_cursor,
                             int64_t total) {
  json::object o;
  o["items"] = std::move(items);
  o["next_cursor"] = next_cursor ? json::value(*next_cursor) : json::value(nullptr);
  o["total"] = total;
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
  if (required && s.empty())
    throw Error(ErrorCode::validation_failed, field_name(name), "must not be empty");
  if (text::utf8_length(s) > max_chars)
    throw Error(ErrorCode::validation_failed, field_name(name),
                "at most " + std::to_string(max_chars) + " characters");
  for (unsigned char c : s)
    if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
      throw Error(ErrorCode::validation_failed, field_name(name),
                  "control characters are not allowed");
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

}  // namespace custos::api
