// Issue #3 item 7: masking helpers every module uses (PIPL; compliance checklist item 31), with
// the configurable rules of `[privacy]`.
#include <gtest/gtest.h>

#include "platform/config/config.h"
#include "platform/privacy/mask.h"

namespace custos::privacy {
namespace {

TEST(Mask, DefaultRulesMatchTheChecklist) {
  EXPECT_EQ(mask_mobile("13812345678"), "138****5678");
  EXPECT_EQ(mask_id_card("110101199003071234"), "110101********1234");
  EXPECT_EQ(mask_name("张三"), "张*");
  EXPECT_EQ(mask_name("欧阳娜娜"), "欧***");
  EXPECT_EQ(mask_email("alice@example.com"), "a***@example.com");
  EXPECT_EQ(Masker().address("上海市浦东新区张江路88号"), "上海市浦东新*******");
}

TEST(Mask, ShortAndOddValuesNeverShowThemselvesWhole) {
  EXPECT_EQ(mask_name("张"), "*");
  EXPECT_EQ(mask_mobile("1234"), "1***");
  EXPECT_EQ(mask_mobile(""), "");
  EXPECT_EQ(mask_email("@example.com"), "@***********");
  EXPECT_EQ(mask_email("a@x.cn"), "***@x.cn");
  EXPECT_EQ(mask_email("noatsign"), "n*******");
  // Invalid UTF-8 bytes count as one character each; nothing crashes or leaks whole.
  EXPECT_EQ(mask_name("\xff\xfe"), "\xff*");
}

TEST(Mask, ConfiguredRulesApplyEverywhere) {
  MaskRules r;
  r.id_card = {1, 2};  // "first 1 + last 2", which assessors also accept
  r.mobile = {3, 2};
  r.name = {0, 0};
  r.email = {2, 0};
  const Masker m(r);
  EXPECT_EQ(m.id_card("110101199003071234"), "1***************34");
  EXPECT_EQ(m.mobile("13812345678"), "138******78");
  EXPECT_EQ(m.name("张三"), "**");
  EXPECT_EQ(m.email("alice@example.com"), "al***@example.com");
  EXPECT_EQ(m.mask(Field::mobile, "13812345678"), m.mobile("13812345678"));
}

TEST(Mask, ConfigurationBoundsKeepSomethingHidden) {
  ConfigSources src;
  src.overrides = {{"privacy.mobile_keep_start", "3"}, {"privacy.mobile_keep_end", "4"}};
  EXPECT_NO_THROW(load_config(src));
  src.overrides = {{"privacy.id_card_keep_start", "6"}, {"privacy.id_card_keep_end", "4"}};
  EXPECT_NO_THROW(load_config(src));
  src.overrides = {{"privacy.mobile_keep_start", "4"}};
  EXPECT_THROW(load_config(src), ConfigError);
  src.overrides = {{"privacy.id_card_keep_start", "6"}, {"privacy.id_card_keep_end", "5"}};
  EXPECT_THROW(load_config(src), ConfigError);
  src.overrides = {{"privacy.name_keep_start", "2"}};
  EXPECT_THROW(load_config(src), ConfigError);
  const Config c = load_config({});
  EXPECT_EQ(c.privacy.mobile_keep_start, 3);
  EXPECT_EQ(c.privacy.id_card_keep_end, 4);
}

}  // namespace
}  // namespace custos::privacy
