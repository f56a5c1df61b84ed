#include <gtest/gtest.h>

#include "platform/text/time.h"
#include "platform/text/utf8.h"

namespace custos::text {
namespace {

TEST(Utf8, AcceptsValidAndRefusesInvalid) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii text that is long enough for the fast path"));
  EXPECT_TRUE(valid_utf8("楼上卫生间漏水"));
  EXPECT_TRUE(valid_utf8("\xF0\x9F\x98\x80"));  // U+1F600
  EXPECT_FALSE(valid_utf8("\xFF"));
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(valid_utf8("abc\xE6\xBC"));       // truncated
  EXPECT_FALSE(valid_utf8("abcdefgh\x80"));      // stray continuation after the fast path
  EXPECT_EQ(utf8_length("漏水ab"), 4u);
}

TEST(Time, Rfc3339RoundTrip) {
  EXPECT_EQ(rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(rfc3339(1795831200123), "2026-11-28T02:00:00.123Z");
  EXPECT_EQ(parse_rfc3339("2026-11-28T02:00:00.123Z"), 1795831200123);
  EXPECT_EQ(parse_rfc3339("2026-11-28T10:00:00+08:00"), 1795831200000);
  EXPECT_EQ(parse_rfc3339("2026-11-28T02:00:00.5Z"), 1795831200500);
  EXPECT_FALSE(parse_rfc3339("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-11-28 02:00:00"));
  EXPECT_FALSE(parse_rfc3339("2026-11-28T02:00:00Zjunk"));
  EXPECT_FALSE(parse_rfc3339(""));
  // Leap day, the last millisecond of a year, before 1970, and a year printf has to write.
  EXPECT_EQ(rfc3339(1709164800000), "2024-02-29T00:00:00.000Z");
  EXPECT_EQ(rfc3339(1767225599999), "2025-12-31T23:59:59.999Z");
  EXPECT_EQ(rfc3339(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(rfc3339(253402300800000), "10000-01-01T00:00:00.000Z");
  // A time every 90 days or so over two centuries reads back as written.
  for (int64_t ms = -946684800000; ms < 4102444800000; ms += 7'777'777'777)
    ASSERT_EQ(parse_rfc3339(rfc3339(ms)), ms) << rfc3339(ms);
}

}  // namespace
}  // namespace custos::text
