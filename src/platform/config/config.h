// The one configuration of a Custos process: built-in defaults, then one TOML file, then
// CUSTOS_* environment variables, then command-line flags, each overriding the one before.
// Every key is declared once in config.cpp with its type and bounds; an unknown key or a bad
// value stops the process at start with a message that names the key and where it came from.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace custos {

struct Config {
  struct Server {
    std::string listen = "127.0.0.1:8080";
    int io_threads = 0;      // 0: one per core
    int worker_threads = 0;  // 0: 2 per core, at least 4; handlers that touch the database
    int64_t max_body_bytes = 1 << 20;
    int64_t max_upload_bytes = 32 << 20;  // imports and attachments
    int header_limit_bytes = 16 * 1024;
    int header_timeout_ms = 10'000;  // whole header must arrive within this
    int body_timeout_ms = 30'000;
    int write_timeout_ms = 30'000;
    int idle_timeout_ms = 60'000;  // keep-alive connection with no request
    int max_connections = 10'000;
    int shutdown_grace_ms = 10'000;
    std::string static_dir = "web/dist";
    // Where people reach the console (https://custos.example.cn): asset labels link there.
    // Empty: the Host of the request that printed the label.
    std::string public_url;
    bool tls_enabled = false;
    std::string tls_cert_file;
    std::string tls_key_file;
  } server;
  struct Database {
    std::string url = "sqlite://./data/custos.db";
    int pool_size = 8;
    int busy_timeout_ms = 5'000;
    int sqlite_cache_mib = 64;
  } database;
  struct Log {
    std::string level = "info";   // trace debug info warn error off
    std::string format = "json";  // json | text
    bool access_log = true;
    std::string file;  // empty: standard output
  } log;
  struct Security {
    int password_min_length = 12;
    int password_rotation_days = 0;  // 0: no forced rotation (MLPS assessors may ask ≤ 90)
    int lockout_threshold = 5;
    int lockout_minutes = 30;
    int ip_max_failures = 50;  // failed logins per IP per 15 minutes before 429
    int session_idle_minutes = 30;
    int session_absolute_hours = 12;
    int reauth_minutes = 5;
    int offboarding_days = 3;  // OA-4: days to process the permission form after a departure
    int grant_max_days = 90;   // longest explicit access grant (SI-4)
  } security;
  struct Jobs {
    int interval_ms = 60'000;  // how often each background job runs (across all servers)
  } jobs;
  // Masking of personal fields (privacy/mask.h): characters kept visible at each end.
  struct Privacy {
    int mobile_keep_start = 3, mobile_keep_end = 4;    // 138****5678
    int id_card_keep_start = 6, id_card_keep_end = 4;  // 110101********1234
    int name_keep_start = 1, name_keep_end = 0;        // 张*
    int email_keep_start = 1;                          // a***@example.com
    int address_keep_start = 6, address_keep_end = 0;  // 上海市浦东新******
    // Encryption of personal fields (crypto/field_cipher.h): the key file, created 0600 at first
    // start, or the key itself ("KEK:BIDX" hex; CUSTOS_PRIVACY_KEY), never the database.
    std::string key_file = "./data/privacy.key";
    std::string key;             // never printed or logged
    std::string suite = "intl";  // intl: XChaCha20-Poly1305, HMAC-SHA256; gm: SM4 + HMAC-SM3
    int export_per_hour = 10;    // exports of personal data one user may run per hour
  } privacy;
  // E-mail notifications (platform/notify/mailer.h): off unless enabled.
  struct Mail {
    bool enabled = false;
    std::string smtp_url = "smtp://127.0.0.1:25";  // smtps://host:465 for implicit TLS
    std::string from = "custos@localhost";
    std::string username;
    std::string password;      // never printed or logged
    bool require_tls = false;  // STARTTLS on smtp://
    int timeout_ms = 10'000;
    int give_up_hours = 168;  // an undeliverable mail is retried this long
    int retry_seconds = 60;   // the first retry's delay; doubled each time, at most an hour
  } mail;
  struct Diagnostics {
    bool enabled = false;  // operator probes under /api/v1/diagnostics
  } diagnostics;
  struct Audit {
    // Signing key of audit checkpoints; generated (mode 0600) at first start when missing. Keep
    // it outside the database and its backups' reach.
    std::string key_file = "./data/audit.key";
    int checkpoint_every = 1000;  // records between signed checkpoints
    int checkpoint_seconds = 60;  // or this long, whichever comes first
    std::string suite = "intl";   // intl (Ed25519) | gm (SM2/SM3, not implemented yet)
    int retention_days = 180;     // records older may be purged; at least 180 (MLPS)
  } audit;
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ConfigSources {
  std::string file;                                            // empty: no file
  std::map<std::string, std::string> environment;              // usually the process environment
  std::vector<std::pair<std::string, std::string>> overrides;  // key=value from the CLI
};

// Throws ConfigError naming the key and its source.
Config load_config(const ConfigSources& sources);

// The CUSTOS_* variables of the process environment.
std::map<std::string, std::string> custos_environment();

// Every key with its effective value, secrets and credentials redacted, for `config check`.
std::vector<std::pair<std::string, std::string>> describe(const Config& config);

// Resolved thread counts.
int io_threads(const Config& config);
int worker_threads(const Config& config);

// Removes user:password@ from a URL so it can be logged.
std::string redact_url(const std::string& url);

}  // namespace custos
