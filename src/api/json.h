// JSON in and out for handlers: strict parsing of request bodies (UTF-8 checked, depth and
// size bounded) with errors that name the field, and typed accessors that turn a missing or
// mistyped field into validation_failed with that field.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"

namespace custos::api {

// Parses the request body as one JSON object. Throws Error(invalid_utf8 | invalid_json |
// validation_failed when it is not an object).
boost::json::object parse_object(const http::Request& req);

// A response with a JSON body.
http::Response json_response(int status, const boost::json::value& v);
// The same without converting to a value first (that would copy the whole document).
http::Response json_response(int status, const boost::json::object& o);
http::Response json_response(int status, const boost::json::array& a);

// The list shape of api-conventions.md: {"items", "next_cursor", "total", "total_exact"}; a
// register that counts only so far (db::bounded_count) says total_exact false, total a floor.
http::Response list_response(boost::json::array items,
                             const std::optional<std::string>& next_cursor, int64_t total,
                             bool total_exact = true);
// A whole list in one page (next_cursor null, total = its size).
http::Response list_response(boost::json::array items);

// A JSON object written straight to text, without a tree to build, walk and free: the answers
// on the hot path (a user by id) and the records a list of them holds. Keys are the caller's
// literals; values are escaped. Ids are written as strings and times as RFC 3339, as everywhere.
class ObjectText {
 public:
  ObjectText();
  ObjectText& text(std::string_view key, std::string_view value);
  ObjectText& text_or_null(std::string_view key, const std::optional<std::string>& value);
  ObjectText& id(std::string_view key, const std::optional<int64_t>& value);  // or null
  ObjectText& ids(std::string_view key, const std::vector<int64_t>& values);
  ObjectText& integer(std::string_view key, int64_t value);
  ObjectText& boolean(std::string_view key, bool value);
  ObjectText& time(std::string_view key, int64_t epoch_ms);
  ObjectText& time_or_null(std::string_view key, const std::optional<int64_t>& epoch_ms);
  ObjectText& raw(std::string_view key, std::string_view json);  // a value already JSON
  // The object's text; the writer is spent.
  std::string str() &&;

 private:
  void key(std::string_view k);
  std::string out_;
};

// A response whose body is JSON text already (ObjectText), with its ETag and Location if given.
http::Response text_response(int status, std::string body, const std::string& etag = {},
                             const std::string& location = {});
// list_response for records already written as JSON text.
http::Response list_text_response(const std::vector<std::string>& items,
                                  const std::optional<std::string>& next_cursor, int64_t total,
                                  bool total_exact = true);

// Optional fields as JSON: ids as strings, times as RFC 3339, null when absent.
boost::json::value json_id(const std::optional<int64_t>& id);
boost::json::value json_text(const std::optional<std::string>& text);
boost::json::value json_time(const std::optional<int64_t>& epoch_ms);

// Field access; `name` is reported as "body.<name>" on error.
std::string required_string(const boost::json::object& o, std::string_view name,
                            size_t max_chars = 1000);
std::optional<std::string> optional_string(const boost::json::object& o, std::string_view name,
                                           size_t max_chars = 1000);
int64_t required_int(const boost::json::object& o, std::string_view name, int64_t min, int64_t max);
std::optional<int64_t> optional_int(const boost::json::object& o, std::string_view name,
                                    int64_t min, int64_t max);
std::optional<bool> optional_bool(const boost::json::object& o, std::string_view name);
// Ids arrive as strings ("12", as responses give them) or positive integers.
int64_t required_id(const boost::json::object& o, std::string_view name);
// Absent → nullopt; null → present and empty; an id → that id.
std::optional<std::optional<int64_t>> id_field(const boost::json::object& o, std::string_view name);
// Absent → nullopt; null → present and empty; a string → that string.
std::optional<std::optional<std::string>> nullable_string(const boost::json::object& o,
                                                          std::string_view name, size_t max_chars);
// A JSON array of ids, at most `max` of them.
std::vector<int64_t> id_list(const boost::json::object& o, std::string_view name, size_t max);
// A JSON array of strings, each at most `max_chars`.
std::vector<std::string> string_list(const boost::json::object& o, std::string_view name,
                                     size_t max, size_t max_chars = 200);
// An RFC 3339 time, as epoch milliseconds.
int64_t required_time(const boost::json::object& o, std::string_view name);
std::optional<int64_t> optional_time(const boost::json::object& o, std::string_view name);

// An object with an "etag" member, with the ETag header (and Location, for a creation).
http::Response object_response(int status, boost::json::object o, const std::string& location = {});
// 204 No Content.
http::Response no_content();

}  // namespace custos::api
