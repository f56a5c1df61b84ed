// Envelope encryption of personal fields (SI-3; compliance checklist D20, D21): mobile numbers,
// ID-card numbers, addresses and e-mail addresses are encrypted before they reach storage.
//
//  * The key-encryption key (KEK) and the blind-index key come from a key file
//    (`privacy.key_file`, created 0600 at first start) or the environment (CUSTOS_PRIVACY_KEY),
//    never from the database they protect.
//  * Data keys (DEKs) are random, stored in `data_keys` wrapped by the KEK, and unwrapped into
//    memory at start. New values use the newest active DEK; every DEK stays readable. Rotating
//    the KEK re-wraps the DEKs (`custos keys rotate`), without touching the data.
//  * A value's ciphertext names its DEK and suite: intl = XChaCha20-Poly1305 (libsodium), gm =
//    SM4-CTR with HMAC-SM3, encrypt-then-MAC (OpenSSL 3). The record's column and id are bound as
//    associated data, so a ciphertext moved to another field or record does not decrypt.
//  * Exact search works through a keyed blind index: HMAC (SHA-256 or SM3) of the normalised
//    value under the blind-index key, which does not rotate with the KEK.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "platform/storage/db.h"

namespace custos::crypto {

enum class Suite { intl, gm };
std::optional<Suite> parse_suite(std::string_view s);

struct KeyMaterial {
  std::string kek;             // 32 bytes
  std::string bidx;            // 32 bytes
  std::string kek_id() const;  // hex of the first 8 bytes of SHA-256(kek)
};

// From `env_hex` (64 + 64 hex digits, "KEK:BIDX") when set, else from `key_file` (created with
// fresh keys when `create` and missing). Throws std::runtime_error naming the file.
KeyMaterial load_key_material(const std::string& key_file, const std::string& env_hex, bool create);
// A new key file with fresh keys (the blind-index key of `keep_bidx` when given).
void write_key_file(const std::string& path, const KeyMaterial& keys);
KeyMaterial fresh_key_material(const std::optional<std::string>& keep_bidx = std::nullopt);

class FieldCipher {
 public:
  // The keys are loaded (and the first DEK made) on first use, so commands that never touch a
  // personal field (`custos admin init`, migrations) never read or create the key file.
  using KeyLoader = std::function<KeyMaterial()>;
  FieldCipher(db::Db& db, KeyLoader load_keys, Suite suite);
  FieldCipher(db::Db& db, KeyMaterial keys, Suite suite);
  ~FieldCipher();
  FieldCipher(const FieldCipher&) = delete;
  FieldCipher& operator=(const FieldCipher&) = delete;

  // Loads the keys and unwraps the stored DEKs, creating the first one when there is none.
  // Throws when a DEK does not unwrap (the wrong key file for this database). Idempotent; the
  // other calls run it when it has not run.
  void open() const;

  // `context` binds the ciphertext to where it is stored, e.g. "customers.mobile:12".
  std::string encrypt(std::string_view plain, std::string_view context) const;
  // nullopt when the value is not a ciphertext of ours, was altered, or moved elsewhere.
  std::optional<std::string> decrypt(std::string_view cipher, std::string_view context) const;
  // Keyed, deterministic: the same (field, normalised value) always gives the same 32 hex digits.
  std::string blind_index(std::string_view field, std::string_view value) const;

  Suite suite() const { return suite_; }
  // Starts a new DEK for new values (existing ones keep theirs). Returns its id.
  int64_t new_data_key();
  // Re-wraps every DEK from `from` to `to` in one transaction; returns how many.
  static int rewrap(db::Db& db, const KeyMaterial& from, const KeyMaterial& to);

 private:
  struct Dek {
    std::string key;  // 32 bytes
  };
  const Dek* dek(int64_t id) const;
  void load() const;
  int64_t create_data_key() const;

  db::Db& db_;
  KeyLoader load_keys_;
  Suite suite_;
  void load_keys() const;
  mutable std::once_flag keys_loaded_, opened_;
  mutable KeyMaterial keys_;
  mutable std::shared_mutex mu_;
  mutable std::map<int64_t, Dek> deks_;
  mutable int64_t active_ = 0;
};

}  // namespace custos::crypto
