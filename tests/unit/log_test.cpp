// The access and application logs escape every value (log::json_escape), and prepared statements
// are cached by their SQL text (db::SqlMap): both sit on every request's path and take shortcuts
// for speed, checked here against the plain definitions.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "platform/log/log.h"
#include "platform/storage/sql_map.h"

namespace custos {
namespace {

// One byte at a time, as JSON (RFC 8259) and the log format define it.
std::string escaped_plainly(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20 || c == 0x7f)
      out += std::string("\\u00") + kHex[c >> 4] + kHex[c & 15];
    else
      out += static_cast<char>(c);
  }
  return out;
}

TEST(JsonEscape, EveryByteAtEveryPositionOfAWordIsEscapedAsOneByteAtATimeWould) {
  // Lengths across the eight-byte words the escaper checks at once, each byte value at each
  // position, in ASCII and in Chinese text (bytes >= 0x80 need no escape).
  for (const char* fill : {"a", "漏水"}) {
    for (size_t len = 1; len <= 19; ++len) {
      for (size_t pos = 0; pos < len; ++pos) {
        for (int b = 0; b < 256; ++b) {
          std::string s;
          while (s.size() < len) s += fill;
          s.resize(len);
          s[pos] = static_cast<char>(b);
          std::string out = "prefix";
          log::json_escape(out, s);
          ASSERT_EQ(out, "prefix" + escaped_plainly(s))
              << "length " << len << ", byte " << b << " at " << pos;
        }
      }
    }
  }
}

TEST(JsonEscape, AJsonParserReadsBackWhatWasEscaped) {
  const std::string s =
      "楼上卫生间漏水 \"quoted\" back\\slash\nnew line\ttab\x01\x1f\x7f end of a long line";
  std::string text = "\"";
  log::json_escape(text, s);
  text += "\"";
  EXPECT_EQ(boost::json::parse(text).as_string(), s);
}

TEST(SqlMap, StatementsThatShareTheirMiddleAndEndAreStillTwo) {
  const std::string tail(200, 'x');
  const std::string a = "SELECT a FROM t " + tail, b = "SELECT b FROM t " + tail;
  db::SqlMap<int> map;
  map.emplace(a, 1);
  map.emplace(b, 2);
  ASSERT_EQ(map.size(), 2u);
  EXPECT_EQ(map.find(std::string_view(a))->second, 1);
  EXPECT_EQ(map.find(std::string_view(b))->second, 2);
  EXPECT_EQ(map.find(std::string_view("SELECT c FROM t " + tail)), map.end());
  EXPECT_EQ(map.find(std::string_view("SELECT 1")), map.end());
}

}  // namespace
}  // namespace custos
