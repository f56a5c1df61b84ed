// Issue #6 item 2: envelope encryption of personal fields and keyed blind indexes, both suites,
// on every engine; and the tokens that make Chinese full-text search work (item 5).
#include <gtest/gtest.h>

#include <filesystem>

#include "platform/crypto/crypto.h"
#include "platform/crypto/field_cipher.h"
#include "platform/search/tokens.h"
#include "platform/storage/migrations.h"
#include "test_db.h"

namespace custos {
namespace {

// ---- tokens -----------------------------------------------------------------------------------

TEST(SearchTokens, ChineseBigramsLetTwoCharactersFindALongerText) {
  const auto stored = search::index_tokens("楼上卫生间漏水，请尽快处理 Room 302B");
  auto has = [&](const std::string& t) {
    return std::find(stored.begin(), stored.end(), t) != stored.end();
  };
  EXPECT_TRUE(has("漏水"));
  EXPECT_TRUE(has("卫生"));
  EXPECT_TRUE(has("水"));
  EXPECT_TRUE(has("room"));
  EXPECT_TRUE(has("302b"));
  EXPECT_FALSE(has("水，")) << "punctuation separates";
  EXPECT_FALSE(has("水请")) << "no bigram across punctuation";
  EXPECT_EQ(search::query_tokens("漏水"), std::vector<std::string>{"漏水"});
  EXPECT_EQ(search::query_tokens("卫生间漏水"),
            (std::vector<std::string>{"卫生", "生间", "间漏", "漏水"}));
  EXPECT_EQ(search::query_tokens("水"), std::vector<std::string>{"水"});
  EXPECT_EQ(search::query_tokens("ROOM ３０２Ｂ"), (std::vector<std::string>{"room", "302b"}));
  EXPECT_TRUE(search::query_tokens("，。！?").empty());
  // Hostile text tokenises to letters and digits only: nothing to escape downstream.
  for (const auto& t : search::query_tokens("\" OR 1=1 --'; DROP TABLE x; \xff\xfe 漏水"))
    EXPECT_EQ(t.find_first_of("\"'{};,-= "), std::string::npos) << t;
  EXPECT_EQ(search::fts5_match({"漏水", "302b"}), "\"漏水\" AND \"302b\"");
  EXPECT_EQ(search::pg_array({"漏水", "a"}), "{\"漏水\",\"a\"}");
}

// ---- the cipher -------------------------------------------------------------------------------

class Cipher : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {
 protected:
  void SetUp() override {
    crypto::init();
    database = testing_db::open_fresh(std::get<0>(GetParam()));
    db::migrate(*database);
    suite = std::get<1>(GetParam()) == "gm" ? crypto::Suite::gm : crypto::Suite::intl;
    keys = crypto::fresh_key_material();
    cipher = std::make_unique<crypto::FieldCipher>(*database, keys, suite);
    cipher->open();
  }
  void TearDown() override { database->close(); }
  std::unique_ptr<db::Db> database;
  crypto::Suite suite = crypto::Suite::intl;
  crypto::KeyMaterial keys;
  std::unique_ptr<crypto::FieldCipher> cipher;
};

TEST_P(Cipher, RoundTripsAndRefusesWhatWasAlteredOrMoved) {
  const std::string mobile = "13812345678";
  const std::string c = cipher->encrypt(mobile, "customers.mobile:7");
  EXPECT_EQ(c.find(mobile), std::string::npos);
  EXPECT_NE(cipher->encrypt(mobile, "customers.mobile:7"), c) << "a fresh nonce every time";
  EXPECT_EQ(cipher->decrypt(c, "customers.mobile:7"), mobile);
  EXPECT_EQ(cipher->decrypt(c, "customers.mobile:8"), std::nullopt) << "moved to another record";
  EXPECT_EQ(cipher->decrypt(c, "customers.email:7"), std::nullopt) << "moved to another field";
  std::string flipped = c;
  flipped[flipped.size() / 2] ^= 0x01;
  EXPECT_EQ(cipher->decrypt(flipped, "customers.mobile:7"), std::nullopt);
  EXPECT_EQ(cipher->decrypt("13812345678", "customers.mobile:7"), std::nullopt);
  EXPECT_EQ(cipher->decrypt("", "customers.mobile:7"), std::nullopt);
  // Chinese text and empty values too.
  const std::string address = "上海市浦东新区张江路88号";
  EXPECT_EQ(cipher->decrypt(cipher->encrypt(address, "a"), "a"), address);
  EXPECT_EQ(cipher->decrypt(cipher->encrypt("", "a"), "a"), "");
}

TEST_P(Cipher, BlindIndexIsKeyedAndDeterministic) {
  const std::string a = cipher->blind_index("mobile", "13812345678");
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(cipher->blind_index("mobile", "13812345678"), a);
  EXPECT_NE(cipher->blind_index("mobile", "13812345679"), a);
  EXPECT_NE(cipher->blind_index("id_card", "13812345678"), a) << "field is in the domain";
  EXPECT_NE(a, crypto::hex(crypto::sha256("13812345678")).substr(0, 32)) << "not an unkeyed hash";
  crypto::FieldCipher other(*database, crypto::fresh_key_material(), suite);
  EXPECT_NE(other.blind_index("mobile", "13812345678"), a);
}

TEST_P(Cipher, RotationRewrapsDataKeysAndOldValuesStillRead) {
  const std::string before = cipher->encrypt("110101199003071234", "x");
  // A new data key for new values; the old one keeps reading.
  const int64_t second = cipher->new_data_key();
  EXPECT_GT(second, 1);
  const std::string after = cipher->encrypt("13900000000", "y");
  // Re-wrap under a new KEK that keeps the blind-index key.
  crypto::KeyMaterial fresh = crypto::fresh_key_material(keys.bidx);
  EXPECT_EQ(crypto::FieldCipher::rewrap(*database, keys, fresh), 2);
  crypto::FieldCipher reopened(*database, fresh, suite);
  reopened.open();
  EXPECT_EQ(reopened.decrypt(before, "x"), "110101199003071234");
  EXPECT_EQ(reopened.decrypt(after, "y"), "13900000000");
  EXPECT_EQ(reopened.blind_index("mobile", "1"), cipher->blind_index("mobile", "1"));
  // The old key no longer opens the data keys.
  crypto::FieldCipher stale(*database, keys, suite);
  EXPECT_THROW(stale.open(), std::runtime_error);
  EXPECT_THROW(crypto::FieldCipher::rewrap(*database, keys, fresh), std::runtime_error);
}

TEST(CipherKeys, KeyFileIsCreated0600AndTheEnvironmentWins) {
  auto dir = std::filesystem::temp_directory_path() / ("custos_pkey_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const std::string path = (dir / "privacy.key").string();
  auto k1 = crypto::load_key_material(path, "", true);
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto k2 = crypto::load_key_material(path, "", false);
  EXPECT_EQ(k1.kek, k2.kek);
  EXPECT_EQ(k1.kek_id(), k2.kek_id());
  const std::string env =
      crypto::hex(std::string(32, 'a')) + ":" + crypto::hex(std::string(32, 'b'));
  EXPECT_EQ(crypto::load_key_material(path, env, false).kek, std::string(32, 'a'));
  EXPECT_THROW(crypto::load_key_material(path, "not-hex", false), std::runtime_error);
  EXPECT_THROW(crypto::load_key_material((dir / "missing").string(), "", false),
               std::runtime_error);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(EnginesAndSuites, Cipher,
                         ::testing::Combine(::testing::ValuesIn(testing_db::engines()),
                                            ::testing::Values("intl", "gm")),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + std::get<1>(info.param);
                         });

}  // namespace
}  // namespace custos
