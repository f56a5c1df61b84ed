// Issue #2 items 3 and 9: strict JSON decoding with errors that name the field.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/json.h"

namespace custos::api {
namespace {

http::Request with_body(std::string body) {
  http::Request r;
  r.body = std::move(body);
  return r;
}

ErrorCode code_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no error thrown";
  return ErrorCode::internal_error;
}

TEST(JsonBody, ParsesObjectsAndRefusesEverythingElse) {
  auto o = parse_object(with_body(R"({"name":"张三","n":3})"));
  EXPECT_EQ(o.at("name").as_string(), "张三");
  EXPECT_EQ(code_of([] { parse_object(with_body("{")); }), ErrorCode::invalid_json);
  EXPECT_EQ(code_of([] { parse_object(with_body("")); }), ErrorCode::invalid_json);
  EXPECT_EQ(code_of([] { parse_object(with_body("[1,2]")); }), ErrorCode::validation_failed);
  EXPECT_EQ(code_of([] { parse_object(with_body("{\"a\":\"\xff\xfe\"}")); }),
            ErrorCode::invalid_utf8);
  EXPECT_EQ(code_of([] { parse_object(with_body("{\"a\":\"\xed\xa0\x80\"}")); }),
            ErrorCode::invalid_utf8);
  EXPECT_EQ(code_of([] { parse_object(with_body("{\"a\":1} trailing")); }),
            ErrorCode::invalid_json);
  std::string deep(100, '[');
  EXPECT_EQ(code_of([&] { parse_object(with_body("{\"a\":" + deep)); }), ErrorCode::invalid_json);
}

TEST(JsonBody, FieldAccessorsNameTheField) {
  auto o = parse_object(with_body(R"({"s":"ok","n":5,"big":1e3,"empty":"","ctl":"a\u0001b"})"));
  EXPECT_EQ(required_string(o, "s"), "ok");
  EXPECT_EQ(required_int(o, "n", 0, 10), 5);
  try {
    required_string(o, "missing");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::validation_failed);
    EXPECT_EQ(e.field(), "body.missing");
  }
  EXPECT_EQ(code_of([&] { required_string(o, "n"); }), ErrorCode::validation_failed);
  EXPECT_EQ(code_of([&] { required_string(o, "empty"); }), ErrorCode::validation_failed);
  EXPECT_EQ(code_of([&] { required_string(o, "ctl"); }), ErrorCode::validation_failed);
  EXPECT_EQ(code_of([&] { required_string(o, "s", 1); }), ErrorCode::validation_failed);
  EXPECT_EQ(code_of([&] { required_int(o, "n", 6, 10); }), ErrorCode::validation_failed);
  EXPECT_EQ(code_of([&] { required_int(o, "big", 0, 10000); }), ErrorCode::validation_failed);
  EXPECT_FALSE(optional_string(o, "missing"));
  EXPECT_EQ(required_string(o, "s", 2), "ok");  // counts characters, not bytes
  auto zh = parse_object(with_body(R"({"s":"漏水"})"));
  EXPECT_EQ(required_string(zh, "s", 2), "漏水");
}

}  // namespace
}  // namespace custos::api
