// Issue #2: one closed error-code enum, problem+json (RFC 9457), zh-CN/en messages.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "platform/errors/error.h"

namespace custos {
namespace {

TEST(Errors, EveryCodeHasAStableNameStatusAndBothLanguages) {
  std::set<std::string_view> names;
  for (ErrorCode c : all_error_codes()) {
    const ErrorInfo& info = error_info(c);
    EXPECT_TRUE(names.insert(info.code).second) << "duplicate code " << info.code;
    EXPECT_GE(info.status, 400);
    EXPECT_LE(info.status, 599);
    EXPECT_FALSE(info.title_zh.empty());
    EXPECT_FALSE(info.title_en.empty());
    for (char ch : info.code)
      EXPECT_TRUE(ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) << info.code;
  }
  // The statuses the API promises are all produced from this one table.
  std::set<int> statuses;
  for (ErrorCode c : all_error_codes()) statuses.insert(error_info(c).status);
  for (int s : {400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500})
    EXPECT_TRUE(statuses.count(s)) << s;
}

TEST(Errors, ProblemJsonCarriesCodeStatusFieldAndRequestId) {
  auto v = boost::json::parse(
      problem_json(ErrorCode::validation_failed, Lang::en, "body.name", "required", "rid-1"));
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("code").as_string(), "validation_failed");
  EXPECT_EQ(o.at("status").as_int64(), 422);
  EXPECT_EQ(o.at("field").as_string(), "body.name");
  EXPECT_EQ(o.at("detail").as_string(), "required");
  EXPECT_EQ(o.at("request_id").as_string(), "rid-1");
  EXPECT_EQ(o.at("title").as_string(), "The input failed validation");
  EXPECT_EQ(o.at("type").as_string(), "urn:custos:problem:validation_failed");
}

// Extension members (RFC 9457 §3.2) ride along; they cannot replace a standard member, and a
// malformed set is left out rather than breaking the answer.
TEST(Errors, ProblemJsonCarriesExtensionMembers) {
  const Error e = Error(ErrorCode::conflict, "body.levels", "level 3 is still used")
                      .with_members(R"({"in_use":{"level":3},"code":"spoofed","status":200})");
  auto v =
      boost::json::parse(problem_json(e.code(), Lang::en, e.field(), e.detail(), "r", e.members()));
  EXPECT_EQ(v.at("in_use").at("level").as_int64(), 3);
  EXPECT_EQ(v.at("code").as_string(), "conflict");
  EXPECT_EQ(v.at("status").as_int64(), 409);
  for (const char* bad : {"[1,2]", "{not json", "\"text\""}) {
    auto w = boost::json::parse(problem_json(ErrorCode::conflict, Lang::en, "", "", "r", bad));
    EXPECT_EQ(w.at("code").as_string(), "conflict") << bad;
    EXPECT_EQ(w.as_object().size(), 6u) << bad;  // type title status code detail request_id
  }
}

TEST(Errors, ChineseIsTheDefaultLanguage) {
  auto v = boost::json::parse(problem_json(ErrorCode::not_found, Lang::zh_CN, "", "", "r"));
  EXPECT_EQ(v.at("title").as_string(), "记录不存在");
  EXPECT_FALSE(v.as_object().contains("field"));
}

TEST(Errors, AcceptLanguagePicksEnglishOnlyWhenAskedFirst) {
  EXPECT_EQ(lang_from_accept_language(""), Lang::zh_CN);
  EXPECT_EQ(lang_from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"), Lang::zh_CN);
  EXPECT_EQ(lang_from_accept_language("en-US,en;q=0.9"), Lang::en);
  EXPECT_EQ(lang_from_accept_language("EN"), Lang::en);
  EXPECT_EQ(lang_from_accept_language("fr-FR"), Lang::zh_CN);
}

}  // namespace
}  // namespace custos
