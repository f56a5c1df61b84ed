// Assembles the OpenAPI 3.1 document from the router's table, so the document and the routes
// cannot drift apart: a route cannot be registered without its description.
#include <boost/json.hpp>

#include "api/api.h"

namespace custos::api {
namespace json = boost::json;

namespace {

json::value schema_value(const std::string& s) {
  if (s.rfind("#/", 0) == 0) return json::object{{"$ref", s}};
  return json::parse(s);
}

std::string operation_id(const http::Route& r) {
  std::string id(http::method_name(r.method));
  for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (char c : r.pattern) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      id += c;
    else if (c == '/' || c == '-' || c == '.' || c == '{')
      id += '_';
  }
  return id;
}

std::vector<std::string> path_params(const std::string& pattern) {
  std::vector<std::string> out;
  for (size_t i = pattern.find('{'); i != std::string::npos; i = pattern.find('{', i + 1))
    out.push_back(pattern.substr(i + 1, pattern.find('}', i) - i - 1));
  return out;
}

}  // namespace

std::string build_openapi(const http::Router& router,
                          const std::map<std::string, std::string>& schemas) {
  json::object doc;
  doc["openapi"] = "3.1.0";
  doc["info"] = {
      {"title", "Custos API"},
      {"version", "1"},
      {"description",
       "服务信息管理系统 Custos 的接口。Errors are application/problem+json (RFC 9457)."}};

  json::object components_schemas;
  json::array codes;
  for (ErrorCode c : all_error_codes()) codes.emplace_back(error_info(c).code);
  components_schemas["Problem"] = {
      {"type", "object"},
      {"description",
       "RFC 9457. Some problems carry extension members a client can act on, e.g. a 409 of PUT "
       "/api/v1/classifications: {\"in_use\": {\"level\", \"used_by\"}}; an import's 422: "
       "{\"report\"}."},
      {"required", json::array{"type", "title", "status", "code", "request_id"}},
      {"properties",
       {{"type", {{"type", "string"}}},
        {"title", {{"type", "string"}}},
        {"status", {{"type", "integer"}}},
        {"code", {{"type", "string"}, {"enum", codes}}},
        {"detail", {{"type", "string"}}},
        {"field", {{"type", "string"}}},
        {"request_id", {{"type", "string"}}}}}};
  for (const auto& [name, schema] : schemas) components_schemas[name] = json::parse(schema);

  json::object paths;
  for (const auto& route : router.routes()) {
    const http::RouteDoc& d = route->doc;
    json::object op;
    op["operationId"] = operation_id(*route);
    op["summary"] = d.summary;
    op["tags"] = json::array{json::string(d.tag)};
    json::array params;
    for (const auto& p : path_params(route->pattern))
      params.push_back(
          {{"name", p}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
    for (const auto& q : d.query_params)
      params.push_back(
          {{"name", q}, {"in", "query"}, {"required", false}, {"schema", {{"type", "string"}}}});
    if (!params.empty()) op["parameters"] = std::move(params);
    if (!d.request_content_types.empty()) {
      json::object content;
      for (const auto& t : d.request_content_types) {
        json::object schema;
        schema["type"] = "string";
        schema["format"] = "binary";
        json::object media;
        media["schema"] = std::move(schema);
        content[t] = std::move(media);
      }
      op["requestBody"] = {{"required", true}, {"content", std::move(content)}};
    } else if (!d.request_schema.empty())
      op["requestBody"] = {
          {"required", true},
          {"content", {{"application/json", {{"schema", schema_value(d.request_schema)}}}}}};
    json::object ok{{"description", "Success"}};
    if (!d.response_schema.empty())
      ok["content"] = {{d.success_content_type, {{"schema", schema_value(d.response_schema)}}}};
    else if (d.success_content_type != "application/json")
      ok["content"] = {{d.success_content_type, {{"schema", {{"type", "string"}}}}}};
    json::object responses;
    responses[std::to_string(d.success_status)] = std::move(ok);
    responses["default"] = {
        {"description", "Error (RFC 9457 problem details)"},
        {"content",
         {{"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
    op["responses"] = std::move(responses);
    if (!d.public_route)
      op["security"] = json::array{{{"bearer", json::array{}}}, {{"cookie", json::array{}}}};

    std::string method(http::method_name(route->method));
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    json::value& item = paths[route->pattern];
    if (!item.is_object()) item = json::object{};
    item.as_object()[method] = std::move(op);
  }
  doc["paths"] = std::move(paths);
  doc["components"] = {
      {"schemas", std::move(components_schemas)},
      {"securitySchemes",
       {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}},
        {"cookie", {{"type", "apiKey"}, {"in", "cookie"}, {"name", "custos_session"}}}}}};
  return json::serialize(doc);
}

void register_openapi_route(http::Router& router, Deps& deps) {
  // Built on first request, after every route (this one included) is registered.
  auto cached = std::make_shared<std::string>();
  auto once = std::make_shared<std::once_flag>();
  router.add(
      http::Method::get, "/api/v1/openapi.json",
      [&router, &deps, cached, once](http::Request&) {
        std::call_once(*once, [&] { *cached = build_openapi(router, deps.schemas); });
        return http::Response::json(200, *cached);
      },
      {.summary = "This document (OpenAPI 3.1)",
       .tag = "system",
       .response_schema = R"({"type":"object"})"},
      http::Exec::inline_io);
}

}  // namespace custos::api
