// Issue #2 item 3: router with path parameters, 404 vs 405.
#include <gtest/gtest.h>

#include "http/router.h"

namespace custos::http {
namespace {

Handler ok(int n) {
  return [n](Request&) { return Response::json(200, std::to_string(n)); };
}

TEST(Router, MatchesLiteralsAndParameters) {
  Router r;
  r.add(Method::get, "/api/v1/users", ok(1), {});
  r.add(Method::get, "/api/v1/users/{id}", ok(2), {});
  r.add(Method::patch, "/api/v1/users/{id}", ok(3), {});
  r.add(Method::get, "/api/v1/users/{id}/sessions", ok(4), {});
  r.add(Method::get, "/api/v1/users/me", ok(5), {});

  auto m = r.match(Method::get, "/api/v1/users/42");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/v1/users/{id}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "id");
  EXPECT_EQ(m.params[0].second, "42");

  EXPECT_EQ(r.match(Method::get, "/api/v1/users/me").route->pattern, "/api/v1/users/me");
  EXPECT_EQ(r.match(Method::get, "/api/v1/users/7/sessions").route->pattern,
            "/api/v1/users/{id}/sessions");
  EXPECT_EQ(r.match(Method::patch, "/api/v1/users/7").route->pattern, "/api/v1/users/{id}");
}

TEST(Router, ParametersArePercentDecodedPerSegment) {
  Router r;
  r.add(Method::get, "/files/{name}", ok(1), {});
  auto m = r.match(Method::get, "/files/a%2Fb%20c");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params[0].second, "a/b c");
  // An encoded slash does not create a new segment.
  EXPECT_EQ(r.match(Method::get, "/files/a/b").route, nullptr);
}

TEST(Router, UnknownPathVersusUnsupportedMethod) {
  Router r;
  r.add(Method::get, "/things", ok(1), {});
  r.add(Method::post, "/things", ok(2), {});
  auto m = r.match(Method::delete_, "/things");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_known);
  EXPECT_EQ(m.allowed.size(), 2u);
  auto none = r.match(Method::get, "/nothing");
  EXPECT_EQ(none.route, nullptr);
  EXPECT_FALSE(none.path_known);
  EXPECT_EQ(r.match(Method::get, "/things/").route, nullptr);
  EXPECT_EQ(r.match(Method::get, "").route, nullptr);
}

TEST(Router, HeadFallsBackToGet) {
  Router r;
  r.add(Method::get, "/healthz", ok(1), {});
  EXPECT_NE(r.match(Method::head, "/healthz").route, nullptr);
}

TEST(Router, DuplicateAndMalformedPatternsAreRefused) {
  Router r;
  r.add(Method::get, "/a/{id}", ok(1), {});
  EXPECT_THROW(r.add(Method::get, "/a/{id}", ok(2), {}), std::logic_error);
  EXPECT_THROW(r.add(Method::get, "/a/{other}/x", ok(3), {}), std::logic_error);
  EXPECT_THROW(r.add(Method::get, "no-slash", ok(4), {}), std::logic_error);
}

}  // namespace
}  // namespace custos::http
