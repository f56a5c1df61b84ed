// Issue #2 items 3 and 9: the request pipeline maps every failure to problem+json and never
// lets an exception escape; bad input changes nothing.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "http/app.h"
#include "http/parse.h"
#include "platform/storage/db.h"

namespace custos::http {
namespace {

struct Pipeline {
  Router router;
  Metrics metrics{router};
  App app{router, metrics, nullptr, false};

  Response run(Request req) {
    req.received = std::chrono::steady_clock::now();
    app.prepare(req);
    return app.handle(req);
  }
};

Request make(Method m, std::string path, std::string body = {}, std::string ct = {}) {
  Request r;
  r.method = m;
  r.target = path;
  r.path = std::move(path);
  r.body = std::move(body);
  if (!ct.empty()) r.headers.add("Content-Type", ct);
  return r;
}

boost::json::object body_of(const Response& r) {
  return boost::json::parse(r.body).as_object();
}

TEST(App, ExceptionsBecomeProblemsAndNothingEscapes) {
  Pipeline p;
  p.router.add(Method::get, "/refuse",
               [](Request&) -> Response { throw Error(ErrorCode::forbidden, "path.id"); }, {});
  p.router.add(Method::get, "/clash",
               [](Request&) -> Response {
                 throw db::DbError(db::DbError::Kind::unique_violation,
                                   "sqlite: UNIQUE constraint failed: users.secret_column");
               },
               {});
  p.router.add(
      Method::get, "/bug",
      [](Request&) -> Response { throw std::runtime_error("internal detail that must not leak"); },
      {});
  p.router.add(Method::get, "/weird", [](Request&) -> Response { throw 42; }, {});

  Response r = p.run(make(Method::get, "/refuse"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.content_type, "application/problem+json");
  EXPECT_EQ(body_of(r).at("field").as_string(), "path.id");

  r = p.run(make(Method::get, "/clash"));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body.find("secret_column"), std::string::npos);

  r = p.run(make(Method::get, "/bug"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(body_of(r).at("code").as_string(), "internal_error");
  EXPECT_EQ(r.body.find("must not leak"), std::string::npos);

  r = p.run(make(Method::get, "/weird"));
  EXPECT_EQ(r.status, 500);
}

TEST(App, NotFoundMethodNotAllowedAndContentType) {
  Pipeline p;
  p.router.add(Method::post, "/things", [](Request&) { return Response::json(201, "{}"); },
               {.request_schema = R"({"type":"object"})"});
  Response r = p.run(make(Method::get, "/nothing"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body_of(r).at("code").as_string(), "route_not_found");

  r = p.run(make(Method::delete_, "/things"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.get("Allow"), "POST");

  r = p.run(make(Method::post, "/things", "{}", "text/plain"));
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(body_of(r).at("field").as_string(), "header.content-type");

  EXPECT_EQ(p.run(make(Method::post, "/things", "{}", "application/json; charset=utf-8")).status,
            201);
  EXPECT_EQ(p.run(make(Method::post, "/things", "{}", "application/merge-patch+json")).status, 201);
}

TEST(App, RequestIdsAreTakenWhenSaneAndGeneratedOtherwise) {
  Pipeline p;
  p.router.add(Method::get, "/x",
               [](Request& r) { return Response::json(200, "\"" + r.request_id + "\""); }, {});
  Request with = make(Method::get, "/x");
  with.headers.add("X-Request-Id", "abc-123_x.y");
  EXPECT_EQ(p.run(with).headers.get("X-Request-Id"), "abc-123_x.y");

  Request hostile = make(Method::get, "/x");
  hostile.headers.add("X-Request-Id", "bad id\r\ninjected: 1");
  Response res = p.run(hostile);
  std::string_view rid = res.headers.get("X-Request-Id");
  EXPECT_EQ(rid.size(), 32u);
  EXPECT_TRUE(valid_request_id(rid));
  EXPECT_FALSE(valid_request_id(std::string(65, 'a')));
}

TEST(App, LanguageFollowsAcceptLanguage) {
  Pipeline p;
  Request en = make(Method::get, "/missing");
  en.headers.add("Accept-Language", "en-GB,en;q=0.9");
  EXPECT_EQ(body_of(p.run(en)).at("title").as_string(), "No such endpoint");
  EXPECT_EQ(body_of(p.run(make(Method::get, "/missing"))).at("title").as_string(), "接口不存在");
}

TEST(App, MetricsCountRoutesAndStatuses) {
  Pipeline p;
  p.router.add(Method::get, "/healthz", [](Request&) { return Response::json(200, "{}"); }, {});
  p.run(make(Method::get, "/healthz"));
  p.run(make(Method::get, "/healthz"));
  p.run(make(Method::get, "/nope"));
  std::string text = p.metrics.render("");
  EXPECT_NE(text.find("custos_http_requests_total{route=\"GET /healthz\",status=\"200\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("custos_http_requests_total{route=\"unmatched\",status=\"404\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("custos_http_request_duration_seconds_count{route=\"GET /healthz\"} 2"),
            std::string::npos);
}

TEST(Parse, RefusesMalformedAndOversizedRequests) {
  ParseLimits limits;
  limits.max_body_bytes = 16;
  limits.header_limit_bytes = 1024;
  EXPECT_EQ(parse_request("GARBAGE\r\n\r\n", limits).error, ErrorCode::bad_request);
  EXPECT_EQ(parse_request("GET /x HTTP/9.9\r\n\r\n", limits).error, ErrorCode::bad_request);
  EXPECT_EQ(parse_request("GET /x HTTP/1.1\r\nHost: a\r\n", limits).error, ErrorCode::bad_request);
  EXPECT_EQ(
      parse_request("GET /x HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n", limits).error,
      ErrorCode::header_too_large);
  EXPECT_EQ(parse_request("POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\n", limits).error,
            ErrorCode::payload_too_large);
  auto ok = parse_request(
      "POST /a/b?x=1 HTTP/1.1\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}",
      limits);
  ASSERT_TRUE(ok.request);
  EXPECT_EQ(ok.request->path, "/a/b");
  EXPECT_EQ(ok.request->query, "x=1");
  EXPECT_EQ(ok.request->body, "{}");
  EXPECT_EQ(ok.request->query_param("x"), "1");
  EXPECT_EQ(ok.request->headers.get("content-type"), "application/json");
}

}  // namespace
}  // namespace custos::http
