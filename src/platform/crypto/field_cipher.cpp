#include "platform/crypto/field_cipher.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include "platform/crypto/crypto.h"
#include "platform/text/time.h"

namespace custos::crypto {

std::optional<Suite> parse_suite(std::string_view s) {
  if (s == "intl") return Suite::intl;
  if (s == "gm") return Suite::gm;
  return std::nullopt;
}

std::string KeyMaterial::kek_id() const {
  return hex(sha256(kek)).substr(0, 16);
}

// ---- key files --------------------------------------------------------------------------------

KeyMaterial fresh_key_material(const std::optional<std::string>& keep_bidx) {
  return {random_bytes(32), keep_bidx ? *keep_bidx : random_bytes(32)};
}

void write_key_file(const std::string& path, const KeyMaterial& keys) {
  const auto dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error("privacy key file " + path +
                             (errno == EEXIST ? ": exists already" : ": cannot create"));
  const std::string text = "kek:" + hex(keys.kek) + "\nbidx:" + hex(keys.bidx) + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("privacy key file " + path + ": cannot write");
}

namespace {

KeyMaterial parse_keys(const std::string& text, const std::string& where) {
  KeyMaterial k;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) throw std::runtime_error(where + ": malformed");
    auto value = unhex(line.substr(colon + 1));
    if (!value || value->size() != 32) throw std::runtime_error(where + ": malformed key");
    if (line.substr(0, colon) == "kek")
      k.kek = *value;
    else if (line.substr(0, colon) == "bidx")
      k.bidx = *value;
    else
      throw std::runtime_error(where + ": unknown entry");
  }
  if (k.kek.size() != 32 || k.bidx.size() != 32)
    throw std::runtime_error(where + ": needs a kek and a bidx key");
  return k;
}

}  // namespace

KeyMaterial load_key_material(const std::string& key_file, const std::string& env_hex,
                              bool create) {
  init();
  if (!env_hex.empty()) {
    const auto colon = env_hex.find(':');
    if (colon == std::string::npos)
      throw std::runtime_error("CUSTOS_PRIVACY_KEY: expected KEK:BIDX, 64 hex digits each");
    return parse_keys("kek:" + env_hex.substr(0, colon) + "\nbidx:" + env_hex.substr(colon + 1),
                      "CUSTOS_PRIVACY_KEY");
  }
  if (key_file.empty()) throw std::runtime_error("privacy.key_file is not set");
  if (create && ::access(key_file.c_str(), F_OK) != 0) {
    try {
      write_key_file(key_file, fresh_key_material());
    } catch (const std::runtime_error&) {
      if (::access(key_file.c_str(), F_OK) != 0) throw;  // another process won the race: fine
    }
  }
  std::ifstream in(key_file, std::ios::binary);
  if (!in) throw std::runtime_error("privacy key file " + key_file + ": cannot read");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  KeyMaterial k = parse_keys(text, "privacy key file " + key_file);
  sodium_memzero(text.data(), text.size());
  return k;
}

// ---- the suites ---------------------------------------------------------------------------------

namespace {

constexpr char kMagic = 'C';
constexpr char kVersion = 1;
constexpr size_t kHeader = 7;  // magic, version, suite, dek id (4)

std::string header(Suite s, int64_t dek_id) {
  std::string h;
  h += kMagic;
  h += kVersion;
  h += s == Suite::gm ? '\x02' : '\x01';
  for (int i = 3; i >= 0; --i)
    h += static_cast<char>((static_cast<uint64_t>(dek_id) >> (i * 8)) & 0xff);
  return h;
}

std::string hmac_sm3(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!HMAC(EVP_sm3(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n))
    throw std::runtime_error("crypto: HMAC-SM3 failed");
  return std::string(reinterpret_cast<char*>(out), n);
}

std::string sm4_ctr(std::string_view key16, std::string_view iv16, std::string_view in) {
  EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "SM4-CTR", nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::string out(in.size(), '\0');
  int n = 0, m = 0;
  const bool ok =
      c && ctx &&
      EVP_EncryptInit_ex(ctx, c, nullptr, reinterpret_cast<const unsigned char*>(key16.data()),
                         reinterpret_cast<const unsigned char*>(iv16.data())) == 1 &&
      EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &n,
                        reinterpret_cast<const unsigned char*>(in.data()),
                        static_cast<int>(in.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + n, &m) == 1;
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(c);
  if (!ok) throw std::runtime_error("crypto: SM4-CTR unavailable");
  return out;
}

// AEAD under a 32-byte key: intl XChaCha20-Poly1305; gm SM4-CTR then HMAC-SM3 over everything.
std::string seal(Suite s, std::string_view key, std::string_view hdr, std::string_view plain,
                 std::string_view context) {
  std::string out(hdr);
  if (s == Suite::intl) {
    std::string nonce = random_bytes(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    std::string ad = std::string(hdr) + std::string(context);
    std::string ct(plain.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
    unsigned long long n = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        reinterpret_cast<unsigned char*>(ct.data()), &n,
        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
        reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr,
        reinterpret_cast<const unsigned char*>(nonce.data()),
        reinterpret_cast<const unsigned char*>(key.data()));
    ct.resize(n);
    return out + nonce + ct;
  }
  const std::string enc_key = sm3(std::string("enc\0", 4) + std::string(key)).substr(0, 16);
  const std::string mac_key = sm3(std::string("mac\0", 4) + std::string(key));
  const std::string iv = random_bytes(16);
  out += iv;
  out += sm4_ctr(enc_key, iv, plain);
  out += hmac_sm3(mac_key, out + std::string(context));
  return out;
}

std::optional<std::string> open_sealed(Suite s, std::string_view key, std::string_view sealed,
                                       std::string_view context) {
  const std::string_view hdr = sealed.substr(0, kHeader);
  if (s == Suite::intl) {
    constexpr size_t nonce_len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    constexpr size_t tag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
    if (sealed.size() < kHeader + nonce_len + tag) return std::nullopt;
    const std::string_view nonce = sealed.substr(kHeader, nonce_len);
    const std::string_view ct = sealed.substr(kHeader + nonce_len);
    std::string ad = std::string(hdr) + std::string(context);
    std::string plain(ct.size() - tag, '\0');
    unsigned long long n = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            reinterpret_cast<unsigned char*>(plain.data()), &n, nullptr,
            reinterpret_cast<const unsigned char*>(ct.data()), ct.size(),
            reinterpret_cast<const unsigned char*>(ad.data()), ad.size(),
            reinterpret_cast<const unsigned char*>(nonce.data()),
            reinterpret_cast<const unsigned char*>(key.data())) != 0)
      return std::nullopt;
    plain.resize(n);
    return plain;
  }
  if (sealed.size() < kHeader + 16 + 32) return std::nullopt;
  const std::string enc_key = sm3(std::string("enc\0", 4) + std::string(key)).substr(0, 16);
  const std::string mac_key = sm3(std::string("mac\0", 4) + std::string(key));
  const std::string_view body = sealed.substr(0, sealed.size() - 32);
  const std::string_view mac = sealed.substr(sealed.size() - 32);
  if (!constant_time_equal(hmac_sm3(mac_key, std::string(body) + std::string(context)), mac))
    return std::nullopt;
  const std::string_view iv = sealed.substr(kHeader, 16);
  return sm4_ctr(enc_key, iv, sealed.substr(kHeader + 16, body.size() - kHeader - 16));
}

Suite suite_of(std::string_view sealed) {
  return sealed.size() > 2 && sealed[2] == '\x02' ? Suite::gm : Suite::intl;
}

int64_t dek_of(std::string_view sealed) {
  int64_t id = 0;
  for (size_t i = 3; i < kHeader; ++i) id = (id << 8) | static_cast<unsigned char>(sealed[i]);
  return id;
}

std::string wrap_context(int64_t id) {
  return "custos data key " + std::to_string(id);
}

}  // namespace

// ---- the cipher -------------------------------------------------------------------------------

FieldCipher::FieldCipher(db::Db& db, KeyLoader load_keys, Suite suite)
    : db_(db), load_keys_(std::move(load_keys)), suite_(suite) {
  init();
}

FieldCipher::FieldCipher(db::Db& db, KeyMaterial keys, Suite suite)
    : FieldCipher(
          db, [keys] { return keys; }, suite) {}

FieldCipher::~FieldCipher() {
  for (auto& [id, d] : deks_) sodium_memzero(d.key.data(), d.key.size());
  sodium_memzero(keys_.kek.data(), keys_.kek.size());
  sodium_memzero(keys_.bidx.data(), keys_.bidx.size());
}

void FieldCipher::load() const {
  auto rows = db_.read([](db::Tx& tx) {
    return tx.query("SELECT id, wrapped, kek_id, status FROM data_keys ORDER BY id");
  });
  std::map<int64_t, Dek> deks;
  int64_t active = 0;
  for (const auto& r : rows.rows) {
    const int64_t id = db::as_int(r[0]);
    const auto* blob = std::get_if<db::Blob>(&r[1]);
    const std::string wrapped = blob ? blob->bytes : db::as_text(r[1]);
    auto key = wrapped.size() > kHeader
                   ? open_sealed(suite_of(wrapped), keys_.kek, wrapped, wrap_context(id))
                   : std::nullopt;
    if (!key || key->size() != 32)
      throw std::runtime_error("privacy key: data key " + std::to_string(id) +
                               " does not unwrap (kek " + db::as_text(r[2]) +
                               " was used; this key file is " + keys_.kek_id() + ")");
    deks[id] = Dek{std::move(*key)};
    if (db::as_text(r[3]) == "active") active = id;
  }
  std::unique_lock lock(mu_);
  for (auto& [id, d] : deks_) sodium_memzero(d.key.data(), d.key.size());
  deks_ = std::move(deks);
  active_ = active;
}

void FieldCipher::load_keys() const {
  std::call_once(keys_loaded_, [this] { keys_ = load_keys_(); });
}

void FieldCipher::open() const {
  std::call_once(opened_, [this] {
    load_keys();
    load();
    if (active_ == 0) create_data_key();
  });
}

int64_t FieldCipher::new_data_key() {
  open();
  return create_data_key();
}

int64_t FieldCipher::create_data_key() const {
  const std::string key = random_bytes(32);
  const int64_t now = text::now_ms();
  db_.write([&](db::Tx& tx) {
    auto r = tx.one(
        "INSERT INTO data_keys (wrapped, kek_id, suite, status, created_at) VALUES (?, ?, ?, "
        "'active', ?) RETURNING id",
        {db::Blob{std::string()}, keys_.kek_id(), std::string(suite_ == Suite::gm ? "gm" : "intl"),
         now});
    const int64_t id = db::as_int(r->at(0));
    const std::string wrapped = seal(suite_, keys_.kek, header(suite_, id), key, wrap_context(id));
    tx.exec("UPDATE data_keys SET wrapped = ? WHERE id = ?", {db::Blob{wrapped}, id});
    tx.exec("UPDATE data_keys SET status = 'retired' WHERE id <> ? AND status = 'active'", {id});
  });
  load();
  std::shared_lock lock(mu_);
  return active_;
}

const FieldCipher::Dek* FieldCipher::dek(int64_t id) const {
  open();
  std::shared_lock lock(mu_);
  auto it = deks_.find(id);
  return it == deks_.end() ? nullptr : &it->second;
}

std::string FieldCipher::encrypt(std::string_view plain, std::string_view context) const {
  open();
  int64_t id = 0;
  std::string key;
  {
    std::shared_lock lock(mu_);
    id = active_;
    auto it = deks_.find(id);
    if (it == deks_.end()) throw std::runtime_error("privacy: no data key (open() not called)");
    key = it->second.key;
  }
  std::string out = seal(suite_, key, header(suite_, id), plain, context);
  sodium_memzero(key.data(), key.size());
  return out;
}

std::optional<std::string> FieldCipher::decrypt(std::string_view cipher,
                                                std::string_view context) const {
  if (cipher.size() <= kHeader || cipher[0] != kMagic || cipher[1] != kVersion) return std::nullopt;
  const int64_t id = dek_of(cipher);
  if (!dek(id)) {
    // A data key another server made since this one started.
    load();
    if (!dek(id)) return std::nullopt;
  }
  std::string key;
  {
    std::shared_lock lock(mu_);
    key = deks_.at(id).key;
  }
  auto plain = open_sealed(suite_of(cipher), key, cipher, context);
  sodium_memzero(key.data(), key.size());
  return plain;
}

std::string FieldCipher::blind_index(std::string_view field, std::string_view value) const {
  load_keys();  // the blind-index key only: no data key is needed
  const std::string data = std::string(field) + '\0' + std::string(value);
  std::string mac;
  if (suite_ == Suite::gm) {
    mac = hmac_sm3(keys_.bidx, data);
  } else {
    unsigned char out[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(keys_.bidx.data()),
                                keys_.bidx.size());
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(data.data()),
                                  data.size());
    crypto_auth_hmacsha256_final(&st, out);
    mac.assign(reinterpret_cast<char*>(out), sizeof out);
  }
  return hex(mac).substr(0, 32);
}

int FieldCipher::rewrap(db::Db& db, const KeyMaterial& from, const KeyMaterial& to) {
  init();
  return db.write([&](db::Tx& tx) {
    int n = 0;
    for (const auto& r : tx.query("SELECT id, wrapped FROM data_keys ORDER BY id").rows) {
      const int64_t id = db::as_int(r[0]);
      const auto* blob = std::get_if<db::Blob>(&r[1]);
      const std::string wrapped = blob ? blob->bytes : db::as_text(r[1]);
      const Suite s = suite_of(wrapped);
      auto key = open_sealed(s, from.kek, wrapped, wrap_context(id));
      if (!key)
        throw std::runtime_error("privacy key: data key " + std::to_string(id) +
                                 " does not unwrap with the current key");
      const std::string again = seal(s, to.kek, header(s, id), *key, wrap_context(id));
      sodium_memzero(key->data(), key->size());
      tx.exec("UPDATE data_keys SET wrapped = ?, kek_id = ? WHERE id = ?",
              {db::Blob{again}, to.kek_id(), id});
      ++n;
    }
    return n;
  });
}

}  // namespace custos::crypto
