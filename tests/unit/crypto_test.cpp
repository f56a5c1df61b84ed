// Issue #3 (identity and access): the cryptographic primitives behind authentication.
// RFC 6238 (TOTP, Appendix B vectors) and RFC 4648 §10 (base32 vectors); Argon2id password
// storage (ASVS 2.4.1 / 2.4.2, MLPS 身份鉴别: passwords stored with a salted, slow hash);
// session and API tokens of at least 128 random bits (ASVS 3.2.2 / 3.2.4); constant-time
// comparison of secrets (ASVS 2.7 / 2.8 OTP verification, replay refusal by step).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "platform/crypto/crypto.h"

namespace custos::crypto {
namespace {

const PasswordCost kFastCost{1, 8u << 20};  // ops 1, 8 MiB: fast enough for unit tests

// ---- TOTP (RFC 6238) ----------------------------------------------------------------------

struct TotpVector {
  int64_t time;
  TotpHash hash;
  const char* code;
};

const char* key_for(TotpHash h) {
  switch (h) {
    case TotpHash::sha1:
      return "12345678901234567890";
    case TotpHash::sha256:
      return "12345678901234567890123456789012";
    case TotpHash::sha512:
      return "1234567890123456789012345678901234567890123456789012345678901234";
  }
  return "";
}

TEST(CryptoTotp, Rfc6238AppendixBVectors) {
  const std::vector<TotpVector> vectors = {
      {59, TotpHash::sha1, "94287082"},
      {59, TotpHash::sha256, "46119246"},
      {59, TotpHash::sha512, "90693936"},
      {1111111109, TotpHash::sha1, "07081804"},
      {1111111109, TotpHash::sha256, "68084774"},
      {1111111109, TotpHash::sha512, "25091201"},
      {1111111111, TotpHash::sha1, "14050471"},
      {1111111111, TotpHash::sha256, "67062674"},
      {1111111111, TotpHash::sha512, "99943326"},
      {1234567890, TotpHash::sha1, "89005924"},
      {1234567890, TotpHash::sha256, "91819424"},
      {1234567890, TotpHash::sha512, "93441116"},
      {2000000000, TotpHash::sha1, "69279037"},
      {2000000000, TotpHash::sha256, "90698825"},
      {2000000000, TotpHash::sha512, "38618901"},
      {20000000000, TotpHash::sha1, "65353130"},
      {20000000000, TotpHash::sha256, "77737706"},
      {20000000000, TotpHash::sha512, "47863826"},
  };
  for (const auto& v : vectors) {
    EXPECT_EQ(totp(key_for(v.hash), v.time, 8, 30, v.hash), v.code)
        << "t=" << v.time << " hash=" << static_cast<int>(v.hash);
  }
}

TEST(CryptoTotp, SixDigitCodesAreTheLowDigitsAndZeroPadded) {
  // The 6-digit code is the 8-digit value mod 10^6: "07081804" -> "081804".
  EXPECT_EQ(totp(key_for(TotpHash::sha1), 1111111109), "081804");
  EXPECT_EQ(totp(key_for(TotpHash::sha1), 59), "287082");
  EXPECT_EQ(totp(key_for(TotpHash::sha1), 59).size(), 6u);
}

TEST(CryptoTotp, VerifyAcceptsOneStepEitherSideAndReturnsTheMatchingStep) {
  const std::string key = key_for(TotpHash::sha1);
  const int64_t now = 1'700'000'010;  // the start of a 30 s step
  const int64_t step = now / 30;
  EXPECT_EQ(totp_verify(key, totp(key, now), now), step);
  EXPECT_EQ(totp_verify(key, totp(key, now + 29), now), step);  // same step
  EXPECT_EQ(totp_verify(key, totp(key, now - 30), now), step - 1);
  EXPECT_EQ(totp_verify(key, totp(key, now + 30), now), step + 1);
  EXPECT_EQ(totp_verify(key, totp(key, now - 60), now), std::nullopt);
  EXPECT_EQ(totp_verify(key, totp(key, now + 60), now), std::nullopt);
  // A wider window accepts ±2.
  EXPECT_EQ(totp_verify(key, totp(key, now - 60), now, 2), step - 2);
  EXPECT_EQ(totp_verify(key, totp(key, now - 60), now, 0), std::nullopt);
  EXPECT_EQ(totp_verify(key, totp(key, now), now, 0), step);
}

TEST(CryptoTotp, VerifyRefusesWrongLengthAndWrongCodes) {
  const std::string key = key_for(TotpHash::sha1);
  const int64_t now = 1'700'000'010;
  const std::string code = totp(key, now);
  EXPECT_EQ(totp_verify(key, code + "0", now), std::nullopt);
  EXPECT_EQ(totp_verify(key, code.substr(0, 5), now), std::nullopt);
  EXPECT_EQ(totp_verify(key, "", now), std::nullopt);
  EXPECT_EQ(totp_verify(key, " " + code.substr(1), now), std::nullopt);
  // Another key's code is not accepted.
  EXPECT_EQ(totp_verify(std::string("another key of twenty"), code, now), std::nullopt);
  // 8-digit codes when asked for.
  const std::string code8 = totp(key, now, 8);
  EXPECT_EQ(totp_verify(key, code8, now, 1, 8), now / 30);
  EXPECT_EQ(totp_verify(key, code8, now), std::nullopt);  // 6 expected
}

// ---- base32 (RFC 4648 §10) ------------------------------------------------------------------

TEST(CryptoBase32, Rfc4648VectorsWithoutPadding) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},
      {"f", "MY"},
      {"fo", "MZXQ"},
      {"foo", "MZXW6"},
      {"foob", "MZXW6YQ"},
      {"fooba", "MZXW6YTB"},
      {"foobar", "MZXW6YTBOI"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base32_encode(plain), encoded) << plain;
    EXPECT_EQ(base32_decode(encoded), plain) << encoded;
  }
}

TEST(CryptoBase32, DecodeAcceptsPaddingAndLowerCase) {
  const std::vector<std::pair<std::string, std::string>> padded = {
      {"MY======", "f"},    {"MZXQ====", "fo"},       {"MZXW6===", "foo"},
      {"MZXW6YQ=", "foob"}, {"MZXW6YTB", "fooba"},    {"MZXW6YTBOI======", "foobar"},
      {"my======", "f"},    {"mzxw6ytboi", "foobar"}, {"MzXw6YtBoI======", "foobar"},
  };
  for (const auto& [encoded, plain] : padded) EXPECT_EQ(base32_decode(encoded), plain) << encoded;
}

TEST(CryptoBase32, DecodeRefusesCharactersOutsideTheAlphabet) {
  for (const char* bad : {"MZ1W", "MZXW0", "MZXW8", "MZXW9", "MZXW6!", "MZ.XW", "MZXW6\n",
                          "MZXW6YTBOI\xc3\xa9", "+/"})
    EXPECT_EQ(base32_decode(bad), std::nullopt) << bad;
}

TEST(CryptoBase32, RoundTripsRandomBytes) {
  for (size_t n : {1u, 5u, 10u, 20u, 33u}) {
    const std::string bytes = random_bytes(n);
    const std::string text = base32_encode(bytes);
    EXPECT_EQ(text.find('='), std::string::npos);
    EXPECT_EQ(base32_decode(text), bytes);
  }
  // A 160-bit TOTP secret is 32 characters.
  EXPECT_EQ(base32_encode(random_bytes(20)).size(), 32u);
}

// ---- Argon2id -------------------------------------------------------------------------------

TEST(CryptoPassword, Argon2idHashesVerifyAndAreSalted) {
  const std::string h = hash_password("Correct-Horse-42", kFastCost);
  EXPECT_EQ(h.rfind("$argon2id$", 0), 0u) << h;
  EXPECT_NE(h.find("m=8192,t=1"), std::string::npos) << h;
  EXPECT_TRUE(verify_password(h, "Correct-Horse-42"));
  EXPECT_FALSE(verify_password(h, "correct-horse-42"));
  EXPECT_FALSE(verify_password(h, "Correct-Horse-4"));
  EXPECT_FALSE(verify_password(h, ""));
  const std::string h2 = hash_password("Correct-Horse-42", kFastCost);
  EXPECT_NE(h, h2);  // a fresh salt each time
  EXPECT_TRUE(verify_password(h2, "Correct-Horse-42"));
  // The password never appears in its encoded hash.
  EXPECT_EQ(h.find("Correct-Horse-42"), std::string::npos);
}

TEST(CryptoPassword, VerifyRefusesMalformedHashes) {
  EXPECT_FALSE(verify_password("", ""));
  EXPECT_FALSE(verify_password("", "x"));
  EXPECT_FALSE(verify_password("not a hash", "not a hash"));
  EXPECT_FALSE(verify_password("$argon2id$v=19$m=8192,t=1,p=1$", "x"));
  EXPECT_FALSE(verify_password(std::string(1000, 'a'), "x"));
}

TEST(CryptoPassword, NeedsRehashWhenCostIsRaised) {
  const std::string h = hash_password("Correct-Horse-42", kFastCost);
  EXPECT_FALSE(password_needs_rehash(h, kFastCost));
  EXPECT_TRUE(password_needs_rehash(h, PasswordCost{2, 8u << 20}));   // more passes
  EXPECT_TRUE(password_needs_rehash(h, PasswordCost{1, 16u << 20}));  // more memory
  EXPECT_TRUE(password_needs_rehash(h));                              // the default cost
}

// ---- random tokens, hashes, hex -------------------------------------------------------------

bool url_safe(const std::string& s) {
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_'))
      return false;
  return true;
}

TEST(CryptoRandom, TokensHaveTheRightLengthAndAreUrlSafeAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string t = random_token();
    ASSERT_EQ(t.size(), 43u) << t;  // 32 bytes, base64url without padding
    ASSERT_TRUE(url_safe(t)) << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(random_token(32).size(), 43u);
  EXPECT_EQ(random_token(24).size(), 32u);
  EXPECT_EQ(random_token(16).size(), 22u);
  EXPECT_EQ(random_token(1).size(), 2u);
  EXPECT_TRUE(url_safe(random_token(24)));
}

TEST(CryptoRandom, RandomBytesHaveTheRequestedLength) {
  EXPECT_EQ(random_bytes(0).size(), 0u);
  EXPECT_EQ(random_bytes(20).size(), 20u);
  EXPECT_NE(random_bytes(32), random_bytes(32));
}

TEST(CryptoHash, Sha256KnownAnswers) {
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256("x").size(), 32u);
}

TEST(CryptoHex, EncodesLowerCaseAndDecodesBothCases) {
  EXPECT_EQ(hex(""), "");
  EXPECT_EQ(hex(std::string("\x00\xff\x10"
                            "ab",
                            5)),
            "00ff106162");
  EXPECT_EQ(unhex("00ff106162"), std::string("\x00\xff\x10"
                                             "ab",
                                             5));
  EXPECT_EQ(unhex("00FF106162"), std::string("\x00\xff\x10"
                                             "ab",
                                             5));
  EXPECT_EQ(unhex(""), std::string());
  EXPECT_EQ(unhex("abc"), std::nullopt);  // odd length
  EXPECT_EQ(unhex("0g"), std::nullopt);
  EXPECT_EQ(unhex("g0"), std::nullopt);
  EXPECT_EQ(unhex("0x00"), std::nullopt);
  EXPECT_EQ(unhex("  "), std::nullopt);
  const std::string bytes = random_bytes(64);
  EXPECT_EQ(unhex(hex(bytes)), bytes);
}

TEST(CryptoCompare, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "Abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("abcd", "abc"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_TRUE(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace custos::crypto

namespace custos::crypto {
namespace {

// FIPS 180-2 and GB/T 32905-2016 (appendix A) test vectors, through one interface.
TEST(CryptoDigest, Sha256AndSm3Vectors) {
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sm3("abc")), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
  std::string sixty_four;
  for (int i = 0; i < 16; ++i) sixty_four += "abcd";
  EXPECT_EQ(hex(sm3(sixty_four)),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732");
  EXPECT_EQ(digest(Hash::sm3, "abc"), sm3("abc"));
  EXPECT_EQ(digest(Hash::sha256, "abc"), sha256("abc"));
  EXPECT_EQ(parse_hash("sm3"), Hash::sm3);
  EXPECT_EQ(parse_hash("SM3"), std::nullopt);
  EXPECT_EQ(hash_name(Hash::sha256), "sha256");
}

}  // namespace
}  // namespace custos::crypto
