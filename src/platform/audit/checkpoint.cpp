#include "platform/audit/checkpoint.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "platform/crypto/crypto.h"

namespace custos::audit {

namespace {

void put(std::string& out, std::string_view field) {
  const uint64_t n = field.size();
  for (int i = 7; i >= 0; --i) out += static_cast<char>((n >> (i * 8)) & 0xff);
  out.append(field);
}

// Ed25519 over libsodium; the key file holds "intl:<hex 32-byte seed>".
class Ed25519Signer final : public Signer {
 public:
  explicit Ed25519Signer(const std::string& seed) {
    crypto_sign_seed_keypair(pk_, sk_, reinterpret_cast<const unsigned char*>(seed.data()));
    key_id_ = crypto::hex(crypto::sha256(std::string_view(reinterpret_cast<char*>(pk_), 32)))
                  .substr(0, 16);
  }
  ~Ed25519Signer() override { sodium_memzero(sk_, sizeof sk_); }
  std::string suite() const override { return "intl"; }
  std::string key_id() const override { return key_id_; }
  std::string sign(std::string_view m) const override {
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                         sk_);
    return std::string(reinterpret_cast<char*>(sig), sizeof sig);
  }
  bool verify(std::string_view m, std::string_view sig) const override {
    if (sig.size() != crypto_sign_BYTES) return false;
    return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig.data()),
                                       reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                                       pk_) == 0;
  }

 private:
  unsigned char pk_[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk_[crypto_sign_SECRETKEYBYTES];
  std::string key_id_;
};

// SM2 signatures with SM3 (GB/T 32918, GB/T 32905) over OpenSSL 3, the distinguishing
// identifier being the standard's default "1234567812345678". The key file holds
// "gm:<hex of the PKCS#8 DER private key>".
class Sm2Signer final : public Signer {
 public:
  explicit Sm2Signer(EVP_PKEY* key) : key_(key) {
    unsigned char* der = nullptr;
    const int n = i2d_PUBKEY(key_, &der);
    if (n <= 0) throw std::runtime_error("audit key: cannot encode the SM2 public key");
    key_id_ =
        crypto::hex(crypto::sm3(std::string_view(reinterpret_cast<char*>(der), n))).substr(0, 16);
    OPENSSL_free(der);
  }
  ~Sm2Signer() override { EVP_PKEY_free(key_); }
  Sm2Signer(const Sm2Signer&) = delete;
  Sm2Signer& operator=(const Sm2Signer&) = delete;

  std::string suite() const override { return "gm"; }
  std::string key_id() const override { return key_id_; }
  std::string sign(std::string_view m) const override {
    Ctx c(key_);
    if (EVP_DigestSignInit_ex(c.md, nullptr, "SM3", nullptr, nullptr, key_, nullptr) != 1)
      throw std::runtime_error("audit: SM2 signing unavailable");
    size_t len = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(m.data());
    if (EVP_DigestSign(c.md, nullptr, &len, data, m.size()) != 1)
      throw std::runtime_error("audit: SM2 signing failed");
    std::string sig(len, '\0');
    if (EVP_DigestSign(c.md, reinterpret_cast<unsigned char*>(sig.data()), &len, data, m.size()) !=
        1)
      throw std::runtime_error("audit: SM2 signing failed");
    sig.resize(len);
    return sig;
  }
  bool verify(std::string_view m, std::string_view sig) const override {
    if (sig.empty() || sig.size() > 160) return false;
    Ctx c(key_);
    if (EVP_DigestVerifyInit_ex(c.md, nullptr, "SM3", nullptr, nullptr, key_, nullptr) != 1)
      return false;
    return EVP_DigestVerify(c.md, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                            reinterpret_cast<const unsigned char*>(m.data()), m.size()) == 1;
  }

  // A new key, as the key file's text.
  static std::string generate() {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "SM2");
    if (!key) throw std::runtime_error("audit: cannot generate an SM2 key");
    std::string text = "gm:" + to_der_hex(key);
    EVP_PKEY_free(key);
    return text;
  }
  static std::unique_ptr<Sm2Signer> from_der(const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    PKCS8_PRIV_KEY_INFO* info = d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size()));
    EVP_PKEY* key = info ? EVP_PKCS82PKEY(info) : nullptr;
    PKCS8_PRIV_KEY_INFO_free(info);
    if (!key || !EVP_PKEY_is_a(key, "SM2")) {
      EVP_PKEY_free(key);
      return nullptr;
    }
    return std::make_unique<Sm2Signer>(key);
  }

 private:
  // A signing context bound to the SM2 identifier.
  struct Ctx {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pkey = nullptr;
    explicit Ctx(EVP_PKEY* key) : pkey(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr)) {
      static constexpr char kId[] = "1234567812345678";
      if (!md || !pkey || EVP_PKEY_CTX_set1_id(pkey, kId, sizeof kId - 1) != 1)
        throw std::runtime_error("audit: SM2 context unavailable");
      EVP_MD_CTX_set_pkey_ctx(md, pkey);
    }
    ~Ctx() {
      EVP_MD_CTX_free(md);
      EVP_PKEY_CTX_free(pkey);
    }
    Ctx(const Ctx&) = delete;
    Ctx& operator=(const Ctx&) = delete;
  };
  static std::string to_der_hex(EVP_PKEY* key) {
    PKCS8_PRIV_KEY_INFO* info = EVP_PKEY2PKCS8(key);
    unsigned char* der = nullptr;
    const int n = info ? i2d_PKCS8_PRIV_KEY_INFO(info, &der) : -1;
    PKCS8_PRIV_KEY_INFO_free(info);
    if (n <= 0) throw std::runtime_error("audit: cannot encode the SM2 key");
    std::string hex = crypto::hex(std::string_view(reinterpret_cast<char*>(der), n));
    OPENSSL_clear_free(der, static_cast<size_t>(n));
    return hex;
  }

  EVP_PKEY* key_;
  std::string key_id_;
};

std::string read_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("audit key file " + path + ": cannot read");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// Creates the file exclusively with mode 0600; false when it already exists.
bool create_key_file(const std::string& path, const std::string& text) {
  const auto dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);  // open() reports failure
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    throw std::runtime_error("audit key file " + path + ": cannot create");
  }
  const std::string line = text + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("audit key file " + path + ": cannot write");
  return true;
}

bool is_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Checkpoint from_row(const std::vector<db::Value>& r) {
  return {db::as_int(r[0]),  db::as_int(r[1]),  db::as_text(r[2]), db::as_int(r[3]),
          db::as_text(r[4]), db::as_text(r[5]), db::as_text(r[6])};
}

constexpr const char* kCheckpointColumns =
    "SELECT org_id, seq, root, at, suite, key_id, signature FROM audit_checkpoints ";

}  // namespace

std::unique_ptr<Signer> load_signer(const std::string& suite, const std::string& key_file,
                                    bool create) {
  crypto::init();
  if (suite != "intl" && suite != "gm")
    throw std::runtime_error("audit suite " + suite + ": unknown");
  if (key_file.empty()) throw std::runtime_error("audit.key_file is not set");
  if (create && ::access(key_file.c_str(), F_OK) != 0)
    create_key_file(key_file, suite == "gm" ? Sm2Signer::generate()
                                            : "intl:" + crypto::hex(crypto::random_bytes(32)));
  std::string text = read_key_file(key_file);
  const auto colon = text.find(':');
  if (colon == std::string::npos || text.substr(0, colon) != suite)
    throw std::runtime_error("audit key file " + key_file + ": not an " + suite + " key");
  if (suite == "gm") {
    auto der = crypto::unhex(std::string_view(text).substr(colon + 1));
    sodium_memzero(text.data(), text.size());
    auto signer = der ? Sm2Signer::from_der(*der) : nullptr;
    if (der) sodium_memzero(der->data(), der->size());
    if (!signer) throw std::runtime_error("audit key file " + key_file + ": malformed");
    return signer;
  }
  auto seed = crypto::unhex(std::string_view(text).substr(colon + 1));
  sodium_memzero(text.data(), text.size());
  if (!seed || seed->size() != crypto_sign_SEEDBYTES)
    throw std::runtime_error("audit key file " + key_file + ": malformed");
  auto signer = std::make_unique<Ed25519Signer>(*seed);
  sodium_memzero(seed->data(), seed->size());
  return signer;
}

std::string checkpoint_message(const Checkpoint& c) {
  std::string m;
  m += '\x01';  // domain: checkpoint (0x00 is an audit record)
  put(m, c.suite);
  put(m, std::to_string(c.org_id));
  put(m, std::to_string(c.seq));
  put(m, c.root);
  put(m, std::to_string(c.at));
  return m;
}

Checkpoint sign_checkpoint(const Signer& signer, int64_t org_id, int64_t seq, std::string root,
                           int64_t at) {
  Checkpoint c{org_id, seq, std::move(root), at, signer.suite(), signer.key_id(), {}};
  c.signature = crypto::hex(signer.sign(checkpoint_message(c)));
  return c;
}

bool checkpoint_signature_ok(const Signer& signer, const Checkpoint& c) {
  if (c.suite != signer.suite() || c.key_id != signer.key_id()) return false;
  auto sig = crypto::unhex(c.signature);
  return sig && signer.verify(checkpoint_message(c), *sig);
}

std::vector<Checkpoint> latest_checkpoints(db::Tx& tx) {
  auto r = tx.query(std::string(kCheckpointColumns) +
                    "c WHERE seq = (SELECT MAX(seq) FROM audit_checkpoints m "
                    "WHERE m.org_id = c.org_id) ORDER BY org_id");
  std::vector<Checkpoint> out;
  for (const auto& row : r.rows) out.push_back(from_row(row));
  return out;
}

std::vector<Checkpoint> org_checkpoints(db::Tx& tx, int64_t org_id) {
  auto r = tx.query(std::string(kCheckpointColumns) + "WHERE org_id = ? ORDER BY seq", {org_id});
  std::vector<Checkpoint> out;
  for (const auto& row : r.rows) out.push_back(from_row(row));
  return out;
}

std::vector<Checkpoint> write_checkpoints(db::Db& db, const Signer& signer, int64_t now_ms,
                                          const CheckpointPolicy& policy, bool force) {
  return db.write([&](db::Tx& tx) {
    std::vector<Checkpoint> written;
    auto heads = tx.query(
        "SELECT h.org_id, h.seq, h.hash, COALESCE(MAX(c.seq), 0), COALESCE(MAX(c.at), 0) "
        "FROM audit_heads h LEFT JOIN audit_checkpoints c ON c.org_id = h.org_id "
        "WHERE h.seq > 0 GROUP BY h.org_id, h.seq, h.hash ORDER BY h.org_id");
    for (const auto& h : heads.rows) {
      const int64_t org = db::as_int(h[0]), seq = db::as_int(h[1]);
      const int64_t cp_seq = db::as_int(h[3]), cp_at = db::as_int(h[4]);
      if (seq <= cp_seq) continue;  // nothing new since the last checkpoint
      const bool due =
          force || seq - cp_seq >= policy.every_records || now_ms - cp_at >= policy.every_ms;
      if (!due) continue;
      Checkpoint c = sign_checkpoint(signer, org, seq, db::as_text(h[2]), now_ms);
      tx.exec(
          "INSERT INTO audit_checkpoints (org_id, seq, root, at, suite, key_id, signature) "
          "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
          {c.org_id, c.seq, c.root, c.at, c.suite, c.key_id, c.signature});
      written.push_back(std::move(c));
    }
    return written;
  });
}

std::string format_anchor(const std::vector<Checkpoint>& checkpoints) {
  std::string out = "custos-audit-anchor v1\n";
  for (const auto& c : checkpoints)
    out += "checkpoint " + std::to_string(c.org_id) + " " + std::to_string(c.seq) + " " + c.root +
           " " + std::to_string(c.at) + " " + c.suite + " " + c.key_id + " " + c.signature + "\n";
  return out;
}

namespace {

int64_t parse_int(std::string_view s, size_t line, int64_t min) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < min)
    throw std::invalid_argument("anchor line " + std::to_string(line) + ": bad number");
  return v;
}

std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size() && out.size() <= 8) {
    size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

Checkpoint parse_checkpoint_line(std::string_view line, size_t n) {
  auto f = split_spaces(line);
  auto bad = [n](const std::string& why) {
    return std::invalid_argument("anchor line " + std::to_string(n) + ": " + why);
  };
  if (f.size() != 8 || f[0] != "checkpoint") throw bad("expected 'checkpoint' and 7 fields");
  Checkpoint c;
  c.org_id = parse_int(f[1], n, 1);
  c.seq = parse_int(f[2], n, 1);
  c.root = std::string(f[3]);
  c.at = parse_int(f[4], n, 0);
  c.suite = std::string(f[5]);
  c.key_id = std::string(f[6]);
  c.signature = std::string(f[7]);
  if (c.root.size() != 64 || !is_hex(c.root)) throw bad("root is not a hex SHA-256");
  if (c.suite != "intl" && c.suite != "gm") throw bad("unknown suite");
  if (c.key_id.size() != 16 || !is_hex(c.key_id)) throw bad("bad key id");
  if (c.signature.empty() || c.signature.size() > 1024 || c.signature.size() % 2 ||
      !is_hex(c.signature))
    throw bad("bad signature");
  return c;
}

}  // namespace

std::vector<Checkpoint> parse_anchor(std::string_view text) {
  std::vector<Checkpoint> out;
  std::set<int64_t> orgs;
  size_t n = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (++n > 100000) throw std::invalid_argument("anchor: too many lines");
    if (n == 1) {
      if (line != "custos-audit-anchor v1")
        throw std::invalid_argument("anchor line 1: not a custos-audit-anchor v1 file");
      continue;
    }
    if (line.empty()) continue;
    Checkpoint c = parse_checkpoint_line(line, n);
    if (!orgs.insert(c.org_id).second)
      throw std::invalid_argument("anchor line " + std::to_string(n) + ": organisation repeated");
    out.push_back(std::move(c));
  }
  if (n == 0) throw std::invalid_argument("anchor: empty file");
  return out;
}

}  // namespace custos::audit
