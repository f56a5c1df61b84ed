// Issue #3 (identity and access): the password policy. MLPS 身份鉴别 (口令复杂度); ASVS 2.1.1
// (at least 12 characters), 2.1.2 (at least 64, at most 128 permitted), 2.1.4 (any Unicode
// character, counted as characters), 2.1.7 (refuse breached/common passwords), and no password
// containing the user's own identity (username, name, employee number).
#include <gtest/gtest.h>

#include <string>

#include "platform/authn/password_policy.h"

namespace custos::authn {
namespace {

std::optional<std::string> check(std::string_view password, std::string_view username = "",
                                 std::string_view name = "", std::string_view employee_no = "") {
  return check_password(PasswordPolicy{}, password, username, name, employee_no);
}

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(PasswordPolicy, LengthBoundaries) {
  EXPECT_EQ(check("Hvmkrtpz12!"), "too_short");  // 11 characters
  // An alphabet or keyboard run is weak whatever its classes (see DocumentedKeyboardRun…).
  EXPECT_EQ(check("Abcdefghij12"), "common");
  EXPECT_EQ(check("Hvmkrtpz12!x"), std::nullopt);  // 12, four classes
  EXPECT_EQ(check("Hvmkrtpzwq12"), std::nullopt);  // 12, three classes
  EXPECT_EQ(check(""), "too_short");
  const std::string max = repeat("Aa1-", 32);  // 128 characters
  ASSERT_EQ(max.size(), 128u);
  EXPECT_EQ(check(max), std::nullopt);
  EXPECT_EQ(check(max + "x"), "too_long");  // 129
}

TEST(PasswordPolicy, CharacterClasses) {
  EXPECT_EQ(check("hvmkrtpzwqxn"), "too_few_classes");  // lower only
  EXPECT_EQ(check("hvmkrtpzwq12"), "too_few_classes");  // lower + digit
  EXPECT_EQ(check("HVMKRTPZWQ-+"), "too_few_classes");  // upper + other
  EXPECT_EQ(check("hvmkrtpzwq1-"), std::nullopt);       // lower + digit + other
  EXPECT_EQ(check("HVMKRTPZWQ1-"), std::nullopt);       // upper + digit + other
  EXPECT_EQ(check("hvmkrtPZWQ-+"), std::nullopt);       // lower + upper + other
  PasswordPolicy strict;
  strict.min_classes = 4;
  EXPECT_EQ(check_password(strict, "Hvmkrtpzwq12", "", "", ""), "too_few_classes");
  EXPECT_EQ(check_password(strict, "Hvmkrtpzwq1!", "", "", ""), std::nullopt);
  PasswordPolicy longer;
  longer.min_length = 16;
  EXPECT_EQ(check_password(longer, "Hvmkrtpzwq1!xyz", "", "", ""), "too_short");  // 15
  EXPECT_EQ(check_password(longer, "Hvmkrtpzwq1!xyzw", "", "", ""), std::nullopt);
}

TEST(PasswordPolicy, CommonPasswordsAreRefusedWhateverTheDecoration) {
  for (const char* p :
       {"Password123!", "Admin@123456", "ADMIN@1234567", "P@ssw0rd2024!", "Welcome12345!",
        "Qwertyuiop1!", "Changeme#2024", "Custos@2024!!", "Administrator1!", "Huawei@12345"})
    EXPECT_EQ(check(p), "common") << p;
  EXPECT_TRUE(is_common_password("password"));
  EXPECT_TRUE(is_common_password("PASSWORD"));
  EXPECT_TRUE(is_common_password("Password123!"));
  EXPECT_TRUE(is_common_password("Admin@123456"));  // core word: admin
  EXPECT_TRUE(is_common_password("admin@123"));
  EXPECT_TRUE(is_common_password("123456"));
  EXPECT_FALSE(is_common_password("Correct-Horse-42"));
  EXPECT_FALSE(is_common_password("MyPassword123!"));  // the word inside a longer one is fine
  EXPECT_FALSE(is_common_password(""));
}

TEST(PasswordPolicy, RepeatedCharactersAreCommon) {
  EXPECT_TRUE(is_common_password("aaaaaaaaaaaa"));
  EXPECT_TRUE(is_common_password("AAAAAAAAAAAA"));
  EXPECT_TRUE(is_common_password("111111111111"));
  EXPECT_TRUE(is_common_password("############"));
  EXPECT_FALSE(is_common_password("aaaaaaaaaaab"));
  // With a policy that admits one class, a repeat is refused as common.
  PasswordPolicy lax;
  lax.min_classes = 1;
  EXPECT_EQ(check_password(lax, "zzzzzzzzzzzz", "", "", ""), "common");
  EXPECT_EQ(check_password(lax, "zzzzzzzzzzzy", "", "", ""), std::nullopt);
}

// The common-word list is compared after stripping trailing digits and punctuation
// ("Password123!" counts as "password"); a repeated character decorated the same way is as weak.
TEST(PasswordPolicy, RepeatedCharactersWithDecorationAreCommon) {
  EXPECT_TRUE(is_common_password("Aaaaaaaaaaaa1!"));
  EXPECT_EQ(check("Aaaaaaaaaaaa1!"), "common");
}

// password_policy.cpp documents "123456789012" as a keyboard run that counts as common.
TEST(PasswordPolicy, DocumentedKeyboardRunIsCommon) {
  EXPECT_TRUE(is_common_password("123456789012"));
}

TEST(PasswordPolicy, ContainsIdentity) {
  // Username, case-insensitively.
  EXPECT_EQ(check("Zhangwei#2024x", "zhangwei", "张伟", "E20231234"), "contains_identity");
  EXPECT_EQ(check("xx-ZHANGWEI-9y", "zhangwei", "", ""), "contains_identity");
  // Name (ASCII and CJK).
  EXPECT_EQ(check("Good-Pw-Li Na7", "user01", "Li Na", ""), "contains_identity");
  EXPECT_EQ(check("王小明Secure#24", "wxm", "王小明", ""), "contains_identity");
  // Employee number.
  EXPECT_EQ(check("Xy!E20231234q", "zhangwei", "张伟", "E20231234"), "contains_identity");
  EXPECT_EQ(check("Xy!e20231234q", "zhangwei", "张伟", "E20231234"), "contains_identity");
  // Unrelated passwords with the same identity pass.
  EXPECT_EQ(check("Correct-Horse-42", "zhangwei", "张伟", "E20231234"), std::nullopt);
  // Identities shorter than 3 are ignored (they would match too much).
  EXPECT_EQ(check("Correct-Horse-42", "or", "", "42"), std::nullopt);
}

TEST(PasswordPolicy, CjkPasswordsCountCharactersNotBytes) {
  // 7 CJK characters + 4 ASCII = 11 characters (25 bytes): too short.
  const std::string eleven = "安全口令很重要Ab1x";
  ASSERT_EQ(eleven.size(), 25u);
  EXPECT_EQ(check(eleven), "too_short");
  // 12 characters: accepted (CJK counts as the "other" class).
  EXPECT_EQ(check(eleven + "y"), std::nullopt);
  // 128 characters (380 bytes) accepted, 129 too long.
  const std::string max = repeat("安", 126) + "A1";
  ASSERT_EQ(max.size(), 126u * 3 + 2);
  EXPECT_EQ(check(max), std::nullopt);
  EXPECT_EQ(check(max + "b"), "too_long");
  // Four CJK characters are not twelve, whatever their bytes.
  EXPECT_EQ(check("口令口令"), "too_short");
}

// A password of one repeated CJK character is a repeat like "aaaaaaaaaaaa"; the repeat check
// must compare characters, not bytes.
TEST(PasswordPolicy, RepeatedCjkCharactersAreCommon) {
  EXPECT_TRUE(is_common_password("安安安安安安安安安安安安"));
  PasswordPolicy lax;
  lax.min_classes = 1;
  EXPECT_EQ(check_password(lax, "安安安安安安安安安安安安", "", "", ""), "common");
}

}  // namespace
}  // namespace custos::authn
