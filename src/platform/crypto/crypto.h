// Cryptographic primitives the platform needs, behind plain functions: Argon2id password
// hashes, random tokens, keyed and unkeyed hashes, constant-time comparison, TOTP (RFC 6238)
// and base32 (RFC 4648). libsodium does the work; OpenSSL provides the digests (SHA-256 with the
// CPU's SHA extensions, SM3 for the gm suite) and HMAC-SHA1/256/512 for TOTP.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace custos::crypto {

// Must be called once before any other function (idempotent, thread-safe).
void init();

// Argon2id in libsodium's encoded form ("$argon2id$v=19$m=...,t=...,p=...$salt$hash").
struct PasswordCost {
  uint64_t ops = 2;                  // crypto_pwhash_OPSLIMIT_INTERACTIVE
  size_t mem = 64u * 1024u * 1024u;  // crypto_pwhash_MEMLIMIT_INTERACTIVE
};
std::string hash_password(std::string_view password, const PasswordCost& cost = {});
bool verify_password(std::string_view encoded, std::string_view password);
// True when the hash was made with other parameters than `cost` (rehash on next login, so a
// changed cost reaches every account; lower the cost only deliberately).
bool password_needs_rehash(std::string_view encoded, const PasswordCost& cost = {});

// n random bytes.
std::string random_bytes(size_t n);
// A token of `bytes` random bytes, URL-safe base64 without padding.
std::string random_token(size_t bytes = 32);
// Standard base64 (RFC 4648 section 4, with padding), as HTTP basic authentication sends it.
std::optional<std::string> base64_decode(std::string_view text);
// SHA-256 of data, raw 32 bytes.
std::string sha256(std::string_view data);
// SM3 (GB/T 32905) of data, raw 32 bytes: the gm suite's hash.
std::string sm3(std::string_view data);
enum class Hash { sha256, sm3 };
std::string digest(Hash alg, std::string_view data);
std::optional<Hash> parse_hash(std::string_view name);  // "sha256" | "sm3"
std::string_view hash_name(Hash alg);
// Lower-case hex.
std::string hex(std::string_view bytes);
std::optional<std::string> unhex(std::string_view hex);
// Appends the bytes of `hex` to `out`; false (and `out` unchanged) when it is not hex.
bool unhex_append(std::string_view hex, std::string& out);
bool constant_time_equal(std::string_view a, std::string_view b);

// RFC 4648 base32 (upper case, no padding on output; padding and lower case accepted).
std::string base32_encode(std::string_view bytes);
std::optional<std::string> base32_decode(std::string_view text);

enum class TotpHash { sha1, sha256, sha512 };
// RFC 6238: the `digits`-digit code for the time step containing unix_seconds.
std::string totp(std::string_view key, int64_t unix_seconds, int digits = 6, int step_seconds = 30,
                 TotpHash hash = TotpHash::sha1);
// Checks a code against the steps around now (±window); returns the matching step so callers
// can refuse a replay of the same step.
std::optional<int64_t> totp_verify(std::string_view key, std::string_view code,
                                   int64_t unix_seconds, int window = 1, int digits = 6,
                                   int step_seconds = 30);

}  // namespace custos::crypto
