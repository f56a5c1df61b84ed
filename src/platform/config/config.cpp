#include "platform/config/config.h"

#include <toml++/toml.h>
#include <algorithm>
#include <charconv>
#include <functional>
#include <thread>

extern char** environ;

namespace custos {
namespace {

enum class Kind { string, integer, boolean };

struct Key {
  std::string name;  // dotted, e.g. "server.io_threads"
  Kind kind;
  int64_t min = 0;
  int64_t max = 0;
  std::vector<std::string> choices;  // allowed strings, when not empty
  std::function<void(Config&, const std::string&, int64_t, bool)> set;
  std::function<std::string(const Config&)> get;
  bool secret = false;    // a URL whose credentials are redacted when printed
  bool password = false;  // printed as *** when set
  std::string env_alias;  // a short variable such as CUSTOS_LISTEN
};

template <class Section>
Key string_key(std::string name, Section Config::*section, std::string Section::*field,
               std::vector<std::string> choices = {}) {
  Key k;
  k.name = std::move(name);
  k.kind = Kind::string;
  k.choices = std::move(choices);
  k.set = [=](Config& c, const std::string& s, int64_t, bool) { (c.*section).*field = s; };
  k.get = [=](const Config& c) { return (c.*section).*field; };
  return k;
}

template <class Section, class Int>
Key int_key(std::string name, Section Config::*section, Int Section::*field, int64_t min,
            int64_t max) {
  Key k;
  k.name = std::move(name);
  k.kind = Kind::integer;
  k.min = min;
  k.max = max;
  k.set = [=](Config& c, const std::string&, int64_t v, bool) {
    (c.*section).*field = static_cast<Int>(v);
  };
  k.get = [=](const Config& c) { return std::to_string((c.*section).*field); };
  return k;
}

template <class Section>
Key bool_key(std::string name, Section Config::*section, bool Section::*field) {
  Key k;
  k.name = std::move(name);
  k.kind = Kind::boolean;
  k.set = [=](Config& c, const std::string&, int64_t, bool b) { (c.*section).*field = b; };
  k.get = [=](const Config& c) { return std::string((c.*section).*field ? "true" : "false"); };
  return k;
}

const std::vector<Key>& schema() {
  static const std::vector<Key> keys = [] {
    using C = Config;
    std::vector<Key> v;
    v.push_back(string_key("server.listen", &C::server, &C::Server::listen));
    v.back().env_alias = "CUSTOS_LISTEN";
    v.push_back(int_key("server.io_threads", &C::server, &C::Server::io_threads, 0, 256));
    v.push_back(int_key("server.worker_threads", &C::server, &C::Server::worker_threads, 0, 1024));
    v.push_back(int_key("server.max_body_bytes", &C::server, &C::Server::max_body_bytes, 1024,
                        int64_t{1} << 32));
    v.push_back(int_key("server.max_upload_bytes", &C::server, &C::Server::max_upload_bytes, 1024,
                        int64_t{1} << 32));
    v.push_back(int_key("server.header_limit_bytes", &C::server, &C::Server::header_limit_bytes,
                        1024, 1 << 20));
    v.push_back(int_key("server.header_timeout_ms", &C::server, &C::Server::header_timeout_ms, 100,
                        600'000));
    v.push_back(
        int_key("server.body_timeout_ms", &C::server, &C::Server::body_timeout_ms, 100, 3'600'000));
    v.push_back(int_key("server.write_timeout_ms", &C::server, &C::Server::write_timeout_ms, 100,
                        3'600'000));
    v.push_back(
        int_key("server.idle_timeout_ms", &C::server, &C::Server::idle_timeout_ms, 100, 3'600'000));
    v.push_back(
        int_key("server.max_connections", &C::server, &C::Server::max_connections, 1, 1'000'000));
    v.push_back(
        int_key("server.shutdown_grace_ms", &C::server, &C::Server::shutdown_grace_ms, 0, 600'000));
    v.push_back(string_key("server.static_dir", &C::server, &C::Server::static_dir));
    v.push_back(string_key("server.public_url", &C::server, &C::Server::public_url));
    v.push_back(bool_key("server.tls_enabled", &C::server, &C::Server::tls_enabled));
    v.push_back(string_key("server.tls_cert_file", &C::server, &C::Server::tls_cert_file));
    v.push_back(string_key("server.tls_key_file", &C::server, &C::Server::tls_key_file));
    v.push_back(string_key("database.url", &C::database, &C::Database::url));
    v.back().env_alias = "CUSTOS_DATABASE";
    v.back().secret = true;
    v.push_back(int_key("database.pool_size", &C::database, &C::Database::pool_size, 1, 1024));
    v.push_back(int_key("database.busy_timeout_ms", &C::database, &C::Database::busy_timeout_ms, 0,
                        600'000));
    v.push_back(int_key("database.sqlite_cache_mib", &C::database, &C::Database::sqlite_cache_mib,
                        1, 65'536));
    v.push_back(string_key("log.level", &C::log, &C::Log::level,
                           {"trace", "debug", "info", "warn", "error", "off"}));
    v.push_back(string_key("log.format", &C::log, &C::Log::format, {"json", "text"}));
    v.push_back(bool_key("log.access_log", &C::log, &C::Log::access_log));
    v.push_back(string_key("log.file", &C::log, &C::Log::file));
    v.push_back(int_key("security.password_min_length", &C::security,
                        &C::Security::password_min_length, 8, 128));
    v.push_back(int_key("security.password_rotation_days", &C::security,
                        &C::Security::password_rotation_days, 0, 365));
    v.push_back(int_key("security.lockout_threshold", &C::security, &C::Security::lockout_threshold,
                        3, 20));
    v.push_back(
        int_key("security.lockout_minutes", &C::security, &C::Security::lockout_minutes, 1, 1440));
    v.push_back(int_key("security.ip_max_failures", &C::security, &C::Security::ip_max_failures, 5,
                        100000));
    v.push_back(int_key("security.session_idle_minutes", &C::security,
                        &C::Security::session_idle_minutes, 1, 30));
    v.push_back(int_key("security.session_absolute_hours", &C::security,
                        &C::Security::session_absolute_hours, 1, 12));
    v.push_back(
        int_key("security.reauth_minutes", &C::security, &C::Security::reauth_minutes, 1, 30));
    v.push_back(
        int_key("security.offboarding_days", &C::security, &C::Security::offboarding_days, 1, 60));
    v.push_back(
        int_key("security.grant_max_days", &C::security, &C::Security::grant_max_days, 1, 365));
    v.push_back(int_key("jobs.interval_ms", &C::jobs, &C::Jobs::interval_ms, 1000, 3'600'000));
    using P = Config::Privacy;
    v.push_back(int_key("privacy.mobile_keep_start", &C::privacy, &P::mobile_keep_start, 0, 3));
    v.push_back(int_key("privacy.mobile_keep_end", &C::privacy, &P::mobile_keep_end, 0, 4));
    v.push_back(int_key("privacy.id_card_keep_start", &C::privacy, &P::id_card_keep_start, 0, 6));
    v.push_back(int_key("privacy.id_card_keep_end", &C::privacy, &P::id_card_keep_end, 0, 4));
    v.push_back(int_key("privacy.name_keep_start", &C::privacy, &P::name_keep_start, 0, 1));
    v.push_back(int_key("privacy.name_keep_end", &C::privacy, &P::name_keep_end, 0, 1));
    v.push_back(int_key("privacy.email_keep_start", &C::privacy, &P::email_keep_start, 0, 3));
    v.push_back(int_key("privacy.address_keep_start", &C::privacy, &P::address_keep_start, 0, 12));
    v.push_back(int_key("privacy.address_keep_end", &C::privacy, &P::address_keep_end, 0, 6));
    v.push_back(string_key("privacy.key_file", &C::privacy, &P::key_file));
    v.push_back(string_key("privacy.key", &C::privacy, &P::key));
    v.back().password = true;
    v.push_back(string_key("privacy.suite", &C::privacy, &P::suite, {"intl", "gm"}));
    v.push_back(int_key("privacy.export_per_hour", &C::privacy, &P::export_per_hour, 1, 1000));
    using M = Config::Mail;
    v.push_back(bool_key("mail.enabled", &C::mail, &M::enabled));
    v.push_back(string_key("mail.smtp_url", &C::mail, &M::smtp_url));
    v.back().secret = true;
    v.push_back(string_key("mail.from", &C::mail, &M::from));
    v.push_back(string_key("mail.username", &C::mail, &M::username));
    v.push_back(string_key("mail.password", &C::mail, &M::password));
    v.back().password = true;
    v.push_back(bool_key("mail.require_tls", &C::mail, &M::require_tls));
    v.push_back(int_key("mail.timeout_ms", &C::mail, &M::timeout_ms, 100, 600'000));
    v.push_back(int_key("mail.give_up_hours", &C::mail, &M::give_up_hours, 1, 24 * 90));
    v.push_back(int_key("mail.retry_seconds", &C::mail, &M::retry_seconds, 1, 3600));
    v.push_back(bool_key("diagnostics.enabled", &C::diagnostics, &C::Diagnostics::enabled));
    v.push_back(string_key("audit.key_file", &C::audit, &C::Audit::key_file));
    v.push_back(
        int_key("audit.checkpoint_every", &C::audit, &C::Audit::checkpoint_every, 1, 10'000'000));
    v.push_back(
        int_key("audit.checkpoint_seconds", &C::audit, &C::Audit::checkpoint_seconds, 1, 86'400));
    v.push_back(string_key("audit.suite", &C::audit, &C::Audit::suite, {"intl", "gm"}));
    v.push_back(int_key("audit.retention_days", &C::audit, &C::Audit::retention_days, 180, 36'500));
    return v;
  }();
  return keys;
}

const Key* find_key(std::string_view name) {
  for (const Key& k : schema())
    if (k.name == name) return &k;
  return nullptr;
}

std::string env_name(const std::string& key) {
  std::string out = "CUSTOS_";
  for (char c : key) out += c == '.' ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

[[noreturn]] void bad_value(const Key& k, const std::string& source, const std::string& why) {
  throw ConfigError("config: " + k.name + " (" + source + "): " + why);
}

void check_choice(const Key& k, const std::string& s, const std::string& source) {
  if (k.choices.empty() || std::find(k.choices.begin(), k.choices.end(), s) != k.choices.end())
    return;
  std::string allowed;
  for (const auto& c : k.choices) allowed += (allowed.empty() ? "" : ", ") + c;
  bad_value(k, source, "must be one of " + allowed);
}

// Applies a value given as text (environment, CLI).
void apply_text(Config& c, const Key& k, const std::string& text, const std::string& source) {
  switch (k.kind) {
    case Kind::string:
      check_choice(k, text, source);
      k.set(c, text, 0, false);
      return;
    case Kind::integer: {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || p != text.data() + text.size() || text.empty())
        bad_value(k, source, "expected an integer");
      if (v < k.min || v > k.max)
        bad_value(k, source,
                  "must be between " + std::to_string(k.min) + " and " + std::to_string(k.max));
      k.set(c, "", v, false);
      return;
    }
    case Kind::boolean:
      if (text == "true" || text == "1" || text == "yes" || text == "on")
        k.set(c, "", 0, true);
      else if (text == "false" || text == "0" || text == "no" || text == "off")
        k.set(c, "", 0, false);
      else
        bad_value(k, source, "expected true or false");
      return;
  }
}

void apply_toml(Config& c, const toml::table& table, const std::string& prefix,
                const std::string& source) {
  for (const auto& [name, node] : table) {
    std::string key =
        prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
    if (const toml::table* sub = node.as_table()) {
      // Sections are "server", "database", …; a table named like a leaf key is an error below.
      if (find_key(key))
        throw ConfigError("config: " + key + " (" + source + "): expected a value, got a table");
      apply_toml(c, *sub, key, source);
      continue;
    }
    const Key* k = find_key(key);
    if (!k) throw ConfigError("config: unknown key " + key + " (" + source + ")");
    switch (k->kind) {
      case Kind::string:
        if (!node.is_string()) bad_value(*k, source, "expected a string");
        check_choice(*k, node.as_string()->get(), source);
        k->set(c, node.as_string()->get(), 0, false);
        break;
      case Kind::integer: {
        if (!node.is_integer()) bad_value(*k, source, "expected an integer");
        int64_t v = node.as_integer()->get();
        if (v < k->min || v > k->max)
          bad_value(*k, source,
                    "must be between " + std::to_string(k->min) + " and " + std::to_string(k->max));
        k->set(c, "", v, false);
        break;
      }
      case Kind::boolean:
        if (!node.is_boolean()) bad_value(*k, source, "expected true or false");
        k->set(c, "", 0, node.as_boolean()->get());
        break;
    }
  }
}

void validate(const Config& c) {
  // A mask must hide something: at most 7 of a mobile number's 11 digits and 10 of an ID-card
  // number's 18 stay visible (compliance checklist item 31).
  if (c.privacy.mobile_keep_start + c.privacy.mobile_keep_end > 7)
    throw ConfigError("config: privacy.mobile_keep_start + privacy.mobile_keep_end: at most 7");
  if (c.privacy.id_card_keep_start + c.privacy.id_card_keep_end > 10)
    throw ConfigError("config: privacy.id_card_keep_start + privacy.id_card_keep_end: at most 10");
  if (c.server.tls_enabled && (c.server.tls_cert_file.empty() || c.server.tls_key_file.empty()))
    throw ConfigError(
        "config: server.tls_enabled: needs server.tls_cert_file and server.tls_key_file");
  const auto& l = c.server.listen;
  auto colon = l.rfind(':');
  if (colon == std::string::npos || colon + 1 >= l.size())
    throw ConfigError("config: server.listen: expected HOST:PORT, got '" + l + "'");
  int port = 0;
  auto [p, ec] = std::from_chars(l.data() + colon + 1, l.data() + l.size(), port);
  if (ec != std::errc() || p != l.data() + l.size() || port < 0 || port > 65535)
    throw ConfigError("config: server.listen: bad port in '" + l + "'");
  if (c.mail.enabled) {
    const auto& m = c.mail.smtp_url;
    if (m.rfind("smtp://", 0) != 0 && m.rfind("smtps://", 0) != 0)
      throw ConfigError("config: mail.smtp_url: expected smtp://HOST:PORT or smtps://HOST:PORT");
    if (c.mail.from.find('@') == std::string::npos)
      throw ConfigError("config: mail.from: expected an e-mail address");
  }
  const auto& u = c.database.url;
  if (u.rfind("sqlite:", 0) != 0 && u.rfind("postgresql://", 0) != 0 &&
      u.rfind("postgres://", 0) != 0)
    throw ConfigError("config: database.url: expected sqlite://PATH or postgresql://…");
}

}  // namespace

Config load_config(const ConfigSources& sources) {
  Config c;
  if (!sources.file.empty()) {
    toml::table table;
    try {
      table = toml::parse_file(sources.file);
    } catch (const toml::parse_error& e) {
      const auto& where = e.source().begin;
      throw ConfigError("config: " + sources.file + ":" + std::to_string(where.line) + ":" +
                        std::to_string(where.column) + ": " + std::string(e.description()));
    }
    apply_toml(c, table, "", sources.file);
  }
  for (const auto& [name, value] : sources.environment) {
    if (name.rfind("CUSTOS_", 0) != 0) continue;
    const Key* match = nullptr;
    for (const Key& k : schema())
      if (env_name(k.name) == name || (!k.env_alias.empty() && k.env_alias == name)) match = &k;
    if (!match) throw ConfigError("config: unknown environment variable " + name);
    apply_text(c, *match, value, name);
  }
  for (const auto& [name, value] : sources.overrides) {
    const Key* k = find_key(name);
    if (!k) throw ConfigError("config: unknown key " + name + " (command line)");
    apply_text(c, *k, value, "command line");
  }
  validate(c);
  return c;
}

std::map<std::string, std::string> custos_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.rfind("CUSTOS_", 0) != 0) continue;
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return out;
}

std::string redact_url(const std::string& input) {
  std::string url = input;
  // password=… in the query (libpq accepts it there too).
  for (size_t q = url.find('?'); q != std::string::npos;) {
    size_t key = url.find("password=", q);
    if (key == std::string::npos) break;
    if (url[key - 1] != '?' && url[key - 1] != '&') {
      q = key + 9;
      continue;
    }
    size_t end = url.find('&', key);
    url.replace(key + 9, (end == std::string::npos ? url.size() : end) - key - 9, "***");
    q = key + 12;
  }
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto at = url.find('@', scheme + 3);
  auto slash = url.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  auto colon = url.find(':', scheme + 3);
  if (colon != std::string::npos && colon < at)
    return url.substr(0, colon + 1) + "***" + url.substr(at);
  return url;
}

std::vector<std::pair<std::string, std::string>> describe(const Config& config) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Key& k : schema()) {
    std::string v = k.get(config);
    if (k.secret) v = redact_url(v);
    if (k.password && !v.empty()) v = "***";
    out.emplace_back(k.name, v);
  }
  return out;
}

int io_threads(const Config& config) {
  if (config.server.io_threads > 0) return config.server.io_threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

int worker_threads(const Config& config) {
  if (config.server.worker_threads > 0) return config.server.worker_threads;
  // Measured on 2 cores: more workers than this only add context switches for SQLite; raise it
  // for PostgreSQL deployments with many slow queries.
  return std::max(4u, 2 * std::thread::hardware_concurrency());
}

}  // namespace custos
