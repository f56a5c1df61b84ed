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

// ObjectText writes what a JSON parser reads back: escapes, nulls, ids as strings, times.
TEST(ObjectText, WritesJsonAParserReadsBack) {
  const std::string hostile = "张\"三\\ \n\t\x01</script>";
  ObjectText o;
  o.id("id", 42).text("name", hostile).text_or_null("none", std::nullopt);
  o.text_or_null("some", std::string("x")).id("no_id", std::nullopt).ids("ids", {3, 10});
  o.ids("empty", {}).integer("n", -7).boolean("yes", true).boolean("no", false);
  o.time("at", 1764633600123).raw("nested", R"({"a":[1,2]})");
  o.time_or_null("due", 1764633600000).time_or_null("never", std::nullopt);
  const std::string text = std::move(o).str();
  const boost::json::value v = boost::json::parse(text);
  EXPECT_EQ(v.at("id").as_string(), "42");
  EXPECT_EQ(v.at("name").as_string(), hostile);
  EXPECT_TRUE(v.at("none").is_null());
  EXPECT_EQ(v.at("some").as_string(), "x");
  EXPECT_TRUE(v.at("no_id").is_null());
  EXPECT_EQ(v.at("ids"), (boost::json::array{"3", "10"}));
  EXPECT_TRUE(v.at("empty").as_array().empty());
  EXPECT_EQ(v.at("n").as_int64(), -7);
  EXPECT_TRUE(v.at("yes").as_bool());
  EXPECT_FALSE(v.at("no").as_bool());
  EXPECT_EQ(v.at("at").as_string(), "2025-12-02T00:00:00.123Z");
  EXPECT_EQ(v.at("nested").at("a").as_array().size(), 2u);
  EXPECT_EQ(v.at("due").as_string(), "2025-12-02T00:00:00.000Z");
  EXPECT_TRUE(v.at("never").is_null());
  EXPECT_EQ(std::move(ObjectText()).str(), "{}");
}

TEST(ObjectText, ListsKeepTheListShape) {
  const http::Response r =
      list_text_response({R"({"id":"1"})", R"({"id":"2"})"}, std::string("2"), 5, false);
  const boost::json::value v = boost::json::parse(r.body);
  EXPECT_EQ(v.at("items").as_array().size(), 2u);
  EXPECT_EQ(v.at("next_cursor").as_string(), "2");
  EXPECT_EQ(v.at("total").as_int64(), 5);
  EXPECT_FALSE(v.at("total_exact").as_bool());
  const boost::json::value none = boost::json::parse(list_text_response({}, {}, 0).body);
  EXPECT_TRUE(none.at("items").as_array().empty());
  EXPECT_TRUE(none.at("next_cursor").is_null());
  EXPECT_TRUE(none.at("total_exact").as_bool());
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
