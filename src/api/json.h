// JSON in and out for handlers: strict parsing of request bodies (UTF-8 checked, depth and
// size bounded) with errors that name the field, and typed accessors that turn a missing or
// mistyped field into validation_failed with that field.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/request.h"

namespace custos::api {

// Parses the request body as one JSON object. Throws Error(invalid_utf8 | invalid_json |
// validation_failed when it is not an object).
boost::json::object parse_object(const http::Request& req);

// A response with a JSON body.
http::Response json_response(int status, const boost::json::value& v);

// Field access; `name` is reported as "body.<name>" on error.
std::string required_string(const boost::json::object& o, std::string_view name,
                            size_t max_chars = 1000);
std::optional<std::string> optional_string(const boost::json::object& o, std::string_view name,
                                           size_t max_chars = 1000);
int64_t required_int(const boost::json::object& o, std::string_view name, int64_t min, int64_t max);

}  // namespace custos::api
