#include "platform/crypto/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <array>
#include <mutex>
#include <stdexcept>

namespace custos::crypto {

void init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw std::runtime_error("crypto: libsodium failed to initialise");
  });
}

std::string hash_password(std::string_view password, const PasswordCost& cost) {
  init();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), cost.ops, cost.mem,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::runtime_error("crypto: out of memory hashing a password");
  return out;
}

bool verify_password(std::string_view encoded, std::string_view password) {
  init();
  if (encoded.empty() || encoded.size() >= crypto_pwhash_STRBYTES) return false;
  std::string z(encoded);  // NUL-terminated copy
  return crypto_pwhash_str_verify(z.c_str(), password.data(), password.size()) == 0;
}

bool password_needs_rehash(std::string_view encoded, const PasswordCost& cost) {
  init();
  std::string z(encoded);
  return crypto_pwhash_str_needs_rehash(z.c_str(), cost.ops, cost.mem) != 0;
}

std::string random_bytes(size_t n) {
  init();
  std::string out(n, '\0');
  randombytes_buf(out.data(), n);
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t n = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &n, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
    return std::nullopt;
  out.resize(n);
  return out;
}

std::string random_token(size_t bytes) {
  std::string raw = random_bytes(bytes);
  std::string out(sodium_base64_encoded_len(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::char_traits<char>::length(out.c_str()));
  sodium_memzero(raw.data(), raw.size());
  return out;
}

namespace {

// One digest context per thread and algorithm, fetched once: a hash costs no allocation and no
// algorithm lookup (OpenSSL uses the CPU's SHA extensions where there are any).
struct Digester {
  EVP_MD* md = nullptr;
  EVP_MD_CTX* ctx = nullptr;
  explicit Digester(const char* name) : md(EVP_MD_fetch(nullptr, name, nullptr)) {
    if (!md) throw std::runtime_error(std::string("crypto: digest ") + name + " unavailable");
    ctx = EVP_MD_CTX_new();
  }
  ~Digester() {
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
  }
  Digester(const Digester&) = delete;
  Digester& operator=(const Digester&) = delete;
  std::string run(std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestInit_ex(ctx, md, nullptr) != 1 ||
        EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(ctx, out, &n) != 1)
      throw std::runtime_error("crypto: digest failed");
    return std::string(reinterpret_cast<char*>(out), n);
  }
};

}  // namespace

std::string sha256(std::string_view data) {
  thread_local Digester d("SHA256");
  return d.run(data);
}

std::string sm3(std::string_view data) {
  thread_local Digester d("SM3");
  return d.run(data);
}

std::string digest(Hash alg, std::string_view data) {
  return alg == Hash::sm3 ? sm3(data) : sha256(data);
}

std::optional<Hash> parse_hash(std::string_view name) {
  if (name == "sha256") return Hash::sha256;
  if (name == "sm3") return Hash::sm3;
  return std::nullopt;
}

std::string_view hash_name(Hash alg) {
  return alg == Hash::sm3 ? "sm3" : "sha256";
}

std::string hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

namespace {

// Nibble values by character; -1 for anything that is not a hex digit.
constexpr std::array<int8_t, 256> kNibble = [] {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<int8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) t[c] = static_cast<int8_t>(c - 'A' + 10);
  return t;
}();

}  // namespace

bool unhex_append(std::string_view h, std::string& out) {
  if (h.size() % 2) return false;
  const size_t start = out.size();
  out.resize(start + h.size() / 2);
  for (size_t i = 0; i < h.size(); i += 2) {
    const int a = kNibble[static_cast<unsigned char>(h[i])];
    const int b = kNibble[static_cast<unsigned char>(h[i + 1])];
    if ((a | b) < 0) {
      out.resize(start);
      return false;
    }
    out[start + i / 2] = static_cast<char>(a * 16 + b);
  }
  return true;
}

std::optional<std::string> unhex(std::string_view h) {
  std::string out;
  if (!unhex_append(h, out)) return std::nullopt;
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string base32_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
  return out;
}

std::optional<std::string> base32_decode(std::string_view text) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char ch : text) {
    if (ch == '=' || ch == ' ' || ch == '-') continue;
    int v;
    if (ch >= 'A' && ch <= 'Z')
      v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z')
      v = ch - 'a';
    else if (ch >= '2' && ch <= '7')
      v = ch - '2' + 26;
    else
      return std::nullopt;
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out += static_cast<char>((buffer >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return out;
}

std::string totp(std::string_view key, int64_t unix_seconds, int digits, int step_seconds,
                 TotpHash hash) {
  const uint64_t counter = static_cast<uint64_t>(unix_seconds / step_seconds);
  unsigned char msg[8];
  for (int i = 7; i >= 0; --i) msg[7 - i] = static_cast<unsigned char>(counter >> (i * 8));
  const EVP_MD* md = hash == TotpHash::sha1     ? EVP_sha1()
                     : hash == TotpHash::sha256 ? EVP_sha256()
                                                : EVP_sha512();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (!HMAC(md, key.data(), static_cast<int>(key.size()), msg, sizeof msg, mac, &mac_len))
    throw std::runtime_error("crypto: HMAC failed");
  const int offset = mac[mac_len - 1] & 0x0f;
  const uint32_t binary = (static_cast<uint32_t>(mac[offset] & 0x7f) << 24) |
                          (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                          (static_cast<uint32_t>(mac[offset + 2]) << 8) |
                          static_cast<uint32_t>(mac[offset + 3]);
  uint32_t mod = 1;
  for (int i = 0; i < digits; ++i) mod *= 10;
  std::string code = std::to_string(binary % mod);
  return std::string(static_cast<size_t>(digits) - code.size(), '0') + code;
}

std::optional<int64_t> totp_verify(std::string_view key, std::string_view code,
                                   int64_t unix_seconds, int window, int digits, int step_seconds) {
  if (code.size() != static_cast<size_t>(digits)) return std::nullopt;
  const int64_t step = unix_seconds / step_seconds;
  std::optional<int64_t> match;
  // Check every candidate so the time taken does not depend on which one matched.
  for (int64_t s = step - window; s <= step + window; ++s)
    if (constant_time_equal(totp(key, s * step_seconds, digits, step_seconds), code)) match = s;
  return match;
}

}  // namespace custos::crypto
