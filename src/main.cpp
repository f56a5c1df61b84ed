// custos: one binary, several subcommands. This is the one place where objects are composed;
// everything below receives what it needs through its constructor.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/api.h"
#include "api/services.h"
#include "http/app.h"
#include "http/server.h"
#include "http/static_files.h"
#include "modules/demo/demo.h"
#include "modules/org/offboarding.h"
#include "modules/org/org_service.h"
#include "platform/audit/audit.h"
#include "platform/audit/checkpoint.h"
#include "platform/audit/configuration.h"
#include "platform/audit/verify.h"
#include "platform/authn/auth_service.h"
#include "platform/clock.h"
#include "platform/config/config.h"
#include "platform/crypto/field_cipher.h"
#include "platform/jobs/job_runner.h"
#include "platform/log/log.h"
#include "platform/storage/db.h"
#include "platform/storage/migrations.h"

namespace {

using namespace custos;

struct CommonFlags {
  std::string config_file;
  std::string listen;
  std::string database;
  std::vector<std::string> sets;
};

void add_common(CLI::App* cmd, CommonFlags& f, bool with_listen) {
  cmd->add_option("--config", f.config_file, "TOML configuration file")->check(CLI::ExistingFile);
  cmd->add_option("--database", f.database, "Database URL (sqlite://PATH or postgresql://…)");
  if (with_listen) cmd->add_option("--listen", f.listen, "HOST:PORT to listen on");
  cmd->add_option("--set", f.sets, "Override a configuration key: --set server.io_threads=4");
}

Config load(const CommonFlags& f) {
  ConfigSources src;
  src.file = f.config_file;
  src.environment = custos_environment();
  for (const auto& kv : f.sets) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) throw ConfigError("config: --set expects KEY=VALUE, got " + kv);
    src.overrides.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  if (!f.listen.empty()) src.overrides.emplace_back("server.listen", f.listen);
  if (!f.database.empty()) src.overrides.emplace_back("database.url", f.database);
  return load_config(src);
}

db::Options db_options(const Config& c) {
  db::Options o;
  o.url = c.database.url;
  o.pool_size = c.database.pool_size;
  o.busy_timeout = std::chrono::milliseconds(c.database.busy_timeout_ms);
  o.sqlite_cache_mib = c.database.sqlite_cache_mib;
  return o;
}

// Opens the database, brings the schema up to date and gives chains that have not begun the
// configured suite's hash (intl: SHA-256, gm: SM3). Every command that writes goes through here.
std::unique_ptr<db::Db> open_migrated(const Config& config, db::MigrateReport* report = nullptr) {
  auto database = db::open(db_options(config));
  auto r = db::migrate(*database);
  if (report) *report = r;
  const auto alg = config.audit.suite == "gm" ? crypto::Hash::sm3 : crypto::Hash::sha256;
  for (int64_t org : audit::set_chain_algorithm(*database, alg))
    std::fprintf(stderr,
                 "custos: the audit chain of organisation %lld began before audit.suite = %s and "
                 "keeps its hash; its checkpoints are signed with the %s suite\n",
                 static_cast<long long>(org), config.audit.suite.c_str(),
                 config.audit.suite.c_str());
  return database;
}

std::pair<std::string, uint16_t> split_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return {host, static_cast<uint16_t>(std::stoi(listen.substr(colon + 1)))};
}

int serve(const Config& config) {
  log::init(config.log);
  log::app().info("custos starting; database {}", redact_url(config.database.url));
  db::MigrateReport report;
  auto database = open_migrated(config, &report);
  if (!report.applied.empty())
    log::app().info("schema migrated from version {} to {}", report.from, report.to);

  SystemClock clock;
  api::Services services(*database, clock, config, api::security_policy(config));
  // A wrong privacy key for this database stops the server here, not request by request.
  services.cipher.open();
  jobs::JobRunner job_runner(*database, clock);
  // A configuration that differs from the last start's is an audit record.
  const auto changed =
      audit::record_configuration(*database, describe(config), job_runner.holder(), clock.now_ms());
  if (!changed.empty())
    log::app().info("configuration recorded in the audit trail ({} keys changed)", changed.size());
  services.register_jobs(job_runner);
  // Signed checkpoints of the audit chain: every audit.checkpoint_every records or
  // audit.checkpoint_seconds, checked every few seconds by whichever server holds the lease.
  auto checkpoint_signer =
      audit::load_signer(config.audit.suite, config.audit.key_file, /*create=*/true);
  const audit::CheckpointPolicy checkpoint_policy{config.audit.checkpoint_every,
                                                  int64_t{config.audit.checkpoint_seconds} * 1000};
  job_runner.add("audit.checkpoints", std::min<int64_t>(5'000, checkpoint_policy.every_ms),
                 [&](int64_t now) {
                   audit::write_checkpoints(*database, *checkpoint_signer, now, checkpoint_policy);
                 });
  http::Router router;
  http::Metrics metrics(router);
  api::Deps deps = services.deps(metrics);
  api::register_routes(router, deps);

  std::unique_ptr<http::StaticFiles> static_files;
  if (!config.server.static_dir.empty())
    static_files = std::make_unique<http::StaticFiles>(config.server.static_dir);
  http::App app(router, metrics, static_files.get(), config.server.tls_enabled);

  http::ServerOptions so;
  std::tie(so.host, so.port) = split_listen(config.server.listen);
  so.io_threads = io_threads(config);
  so.worker_threads = worker_threads(config);
  so.max_body_bytes = static_cast<uint64_t>(config.server.max_body_bytes);
  so.max_upload_bytes = static_cast<uint64_t>(config.server.max_upload_bytes);
  so.header_limit_bytes = static_cast<uint32_t>(config.server.header_limit_bytes);
  so.header_timeout = std::chrono::milliseconds(config.server.header_timeout_ms);
  so.body_timeout = std::chrono::milliseconds(config.server.body_timeout_ms);
  so.write_timeout = std::chrono::milliseconds(config.server.write_timeout_ms);
  so.idle_timeout = std::chrono::milliseconds(config.server.idle_timeout_ms);
  so.max_connections = config.server.max_connections;
  so.shutdown_grace = std::chrono::milliseconds(config.server.shutdown_grace_ms);
  so.tls = config.server.tls_enabled;
  so.tls_cert_file = config.server.tls_cert_file;
  so.tls_key_file = config.server.tls_key_file;

  {
    http::Server server(so, app);
    server.bind();
    job_runner.start();
    server.run([&](uint16_t port) {
      log::app().info("listening on {}://{}:{} with {} I/O and {} worker threads",
                      so.tls ? "https" : "http", so.host, port, so.io_threads, so.worker_threads);
    });
    job_runner.stop();  // before the database closes; a running job finishes first
  }
  database->close();
  log::app().info("stopped cleanly");
  log::shutdown();
  return 0;
}

int migrate_cmd(const Config& config) {
  db::MigrateReport report;
  auto database = open_migrated(config, &report);
  std::printf("schema version %d -> %d (%zu applied)\n", report.from, report.to,
              report.applied.size());
  database->close();
  return 0;
}

// `custos admin init`: the three separated administrators, each with a one-time password
// printed once and never stored in clear.
int admin_init(const Config& config, bool as_json) {
  auto database = open_migrated(config);
  SystemClock clock;
  api::Services services(*database, clock, config, api::security_policy(config));
  std::vector<org::OrgService::InitialAccount> accounts;
  try {
    accounts = services.org.init_admins();
  } catch (const Error& e) {
    std::fprintf(stderr, "custos admin init: %s\n",
                 e.detail().empty() ? e.what() : e.detail().c_str());
    database->close();
    return 1;
  }
  database->close();
  if (as_json) {
    std::printf("{\"accounts\":[");
    for (size_t i = 0; i < accounts.size(); ++i)
      std::printf("%s{\"username\":\"%s\",\"role\":\"%s\",\"password\":\"%s\"}", i ? "," : "",
                  accounts[i].username.c_str(), accounts[i].role.c_str(),
                  accounts[i].password.c_str());
    std::printf("]}\n");
  } else {
    std::printf(
        "Three administrators (三权分立). Each password works once: the first login must "
        "change it and set up two-factor authentication.\n");
    for (const auto& a : accounts)
      std::printf("  %-10s  %-8s  %s\n", a.username.c_str(), a.role.c_str(), a.password.c_str());
  }
  return 0;
}

// `custos audit verify [--anchor FILE]`: 0 intact, 3 tampered (the first bad record printed),
// 1 when the check itself could not run.
int audit_verify(const Config& config, const std::string& anchor_file) {
  auto database = db::open(db_options(config));
  audit::VerifyOptions opts;
  std::unique_ptr<audit::Signer> signer;
  try {
    signer = audit::load_signer(config.audit.suite, config.audit.key_file, /*create=*/false);
    opts.signer = signer.get();
  } catch (const std::exception& e) {
    if (!anchor_file.empty()) throw;  // an anchor is worthless without its key
    std::fprintf(stderr, "custos audit verify: %s; checkpoint signatures not checked\n", e.what());
  }
  if (!anchor_file.empty()) {
    std::ifstream in(anchor_file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read anchor " + anchor_file);
    std::stringstream text;
    text << in.rdbuf();
    opts.anchor = audit::parse_anchor(text.str());
  }
  const auto t0 = std::chrono::steady_clock::now();
  audit::VerifyReport report = audit::verify(*database, opts);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  database->close();
  std::printf("organisations %lld, records checked %lld in %.3f s (%.0f records/s)\n",
              static_cast<long long>(report.organisations),
              static_cast<long long>(report.records_checked), s,
              s > 0 ? static_cast<double>(report.records_checked) / s : 0.0);
  if (report.ok) {
    std::printf("audit trail intact\n");
    return 0;
  }
  for (const auto& f : report.findings)
    std::printf("TAMPERED org %lld seq %lld: %s: %s\n", static_cast<long long>(f.org_id),
                static_cast<long long>(f.seq), f.code.c_str(), f.detail.c_str());
  return 3;
}

// `custos audit anchor --out FILE`: signs a checkpoint of every head now and writes the latest
// checkpoints to FILE (keep it away from the database: another host, WORM storage, paper).
int audit_anchor(const Config& config, const std::string& out_file) {
  auto database = open_migrated(config);
  auto signer = audit::load_signer(config.audit.suite, config.audit.key_file, /*create=*/true);
  SystemClock clock;
  audit::write_checkpoints(*database, *signer, clock.now_ms(), {}, /*force=*/true);
  auto latest = database->read([](db::Tx& tx) { return audit::latest_checkpoints(tx); });
  database->close();
  std::ofstream out(out_file, std::ios::binary | std::ios::trunc);
  out << audit::format_anchor(latest);
  out.close();
  if (!out) throw std::runtime_error("cannot write " + out_file);
  std::printf("anchored %zu organisation(s) to %s\n", latest.size(), out_file.c_str());
  return 0;
}

// `custos keys rotate [--out FILE] [--new-data-key]`: a new key-encryption key for the personal
// fields. Every data key is re-wrapped under it in one transaction (the data is not touched);
// the blind-index key stays, so exact search keeps working. With a key file, the new keys are
// written beside it first and renamed over it after the commit; with CUSTOS_PRIVACY_KEY they go
// to --out and the operator updates the environment. --new-data-key also starts a new data key
// for values written from now on. Running servers keep working (they hold the data keys); each
// must get the new key before its next start.
int keys_rotate(const Config& config, const std::string& out_file, bool new_data_key) {
  const bool from_env = !config.privacy.key.empty();
  if (from_env && out_file.empty())
    throw std::runtime_error(
        "the key comes from CUSTOS_PRIVACY_KEY: give --out FILE for the new key material");
  auto database = open_migrated(config);
  const crypto::KeyMaterial old_keys =
      crypto::load_key_material(config.privacy.key_file, config.privacy.key, /*create=*/false);
  const crypto::KeyMaterial new_keys = crypto::fresh_key_material(old_keys.bidx);
  const std::string staged = out_file.empty() ? config.privacy.key_file + ".new" : out_file;
  crypto::write_key_file(staged, new_keys);
  int rewrapped = 0;
  try {
    rewrapped = crypto::FieldCipher::rewrap(*database, old_keys, new_keys);
  } catch (...) {
    if (out_file.empty()) std::filesystem::remove(staged);
    throw;
  }
  if (out_file.empty()) std::filesystem::rename(staged, config.privacy.key_file);
  SystemClock clock;
  const auto suite = *crypto::parse_suite(config.privacy.suite);
  int64_t dek = 0;
  if (new_data_key) {
    crypto::FieldCipher cipher(*database, new_keys, suite);
    cipher.open();
    dek = cipher.new_data_key();
  }
  database->write([&](db::Tx& tx) {
    audit::record(tx, audit::Actor{},
                  {.action = "privacy.keys.rotate",
                   .object_type = "data_keys",
                   .changes = "{\"from\":\"" + old_keys.kek_id() + "\",\"to\":\"" +
                              new_keys.kek_id() + "\",\"rewrapped\":" + std::to_string(rewrapped) +
                              ",\"new_data_key\":" + std::to_string(dek) + "}"},
                  clock.now_ms());
  });
  database->close();
  std::printf("re-wrapped %d data key(s) under key %s (was %s)%s\n", rewrapped,
              new_keys.kek_id().c_str(), old_keys.kek_id().c_str(),
              new_data_key ? "; new values use a new data key" : "");
  std::printf("the new key is in %s: copy it to every server before it next starts\n",
              out_file.empty() ? config.privacy.key_file.c_str() : out_file.c_str());
  return 0;
}

// `custos demo --scale N`: demo data for the console and benchmarks (modules/demo/demo.h).
int demo_cmd(const Config& config, const demo::Options& options) {
  auto database = open_migrated(config);
  SystemClock clock;
  api::Services services(*database, clock, config, api::security_policy(config));
  services.cipher.open();
  const auto started = std::chrono::steady_clock::now();
  const demo::Result r = demo::load(*database, clock, services.registry, options);
  const int processes = demo::add_processes(*database, services.workflow);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  database->close();
  if (r.structure_created)
    std::printf(
        "demo organisation created: %lld departments, %lld staff (user names such as kf.wang, "
        "kf.zhou, wx.ma; see docs/operations.md). Their shared password: %s\n",
        static_cast<long long>(r.departments), static_cast<long long>(r.staff), r.password.c_str());
  if (processes) std::printf("added %d approval processes for the equipment forms\n", processes);
  std::printf("added %lld customers, %lld service requests, %lld feedback, %lld assets in %.1f s\n",
              static_cast<long long>(r.customers), static_cast<long long>(r.requests),
              static_cast<long long>(r.feedback), static_cast<long long>(r.assets), seconds);
  return 0;
}

int config_check(const Config& config) {
  for (const auto& [k, v] : describe(config)) std::printf("%s = %s\n", k.c_str(), v.c_str());
  std::printf("config ok\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Custos — service information management"};
  cli.require_subcommand(1);

  CommonFlags serve_flags, migrate_flags, check_flags;
  auto* serve_cmd = cli.add_subcommand("serve", "Serve the API and the console");
  add_common(serve_cmd, serve_flags, true);
  auto* migrate = cli.add_subcommand("migrate", "Bring the database schema up to date");
  add_common(migrate, migrate_flags, false);
  auto* config_cmd = cli.add_subcommand("config", "Configuration tools");
  config_cmd->require_subcommand(1);
  auto* check = config_cmd->add_subcommand("check", "Validate the configuration and print it");
  add_common(check, check_flags, true);
  cli.add_subcommand("version", "Print the version");
  CommonFlags admin_flags;
  bool admin_json = false;
  auto* admin = cli.add_subcommand("admin", "Administration");
  admin->require_subcommand(1);
  auto* init =
      admin->add_subcommand("init", "Create the system, security and audit administrators");
  add_common(init, admin_flags, false);
  init->add_flag("--json", admin_json, "Print the accounts as JSON");

  CommonFlags verify_flags, anchor_flags;
  std::string anchor_in, anchor_out;
  auto* audit_cmd = cli.add_subcommand("audit", "Audit trail tools");
  audit_cmd->require_subcommand(1);
  auto* verify_cmd = audit_cmd->add_subcommand(
      "verify", "Verify every organisation's audit chain (exit 3 when tampered)");
  add_common(verify_cmd, verify_flags, false);
  verify_cmd->add_option("--anchor", anchor_in, "Anchor file from `custos audit anchor`")
      ->check(CLI::ExistingFile);
  auto* anchor_cmd =
      audit_cmd->add_subcommand("anchor", "Sign checkpoints now and export them to a file");
  add_common(anchor_cmd, anchor_flags, false);
  anchor_cmd->add_option("--out", anchor_out, "Anchor file to write")->required();

  CommonFlags keys_flags;
  std::string keys_out;
  bool keys_new_dek = false;
  auto* keys_cmd = cli.add_subcommand("keys", "Keys of the personal-field encryption");
  keys_cmd->require_subcommand(1);
  auto* rotate_cmd = keys_cmd->add_subcommand(
      "rotate", "New key-encryption key; re-wraps the data keys (the data is untouched)");
  add_common(rotate_cmd, keys_flags, false);
  rotate_cmd->add_option("--out", keys_out,
                         "Write the new key here (required with CUSTOS_PRIVACY_KEY; default: "
                         "replace privacy.key_file)");
  rotate_cmd->add_flag("--new-data-key", keys_new_dek, "Also start a new data key for new values");

  CommonFlags demo_flags;
  demo::Options demo_options;
  auto* demo_command =
      cli.add_subcommand("demo", "Load demo data: an organisation, customers, service requests");
  add_common(demo_command, demo_flags, false);
  demo_command->add_option("--scale", demo_options.requests, "Service requests to add")
      ->check(CLI::Range(int64_t{0}, int64_t{100'000'000}));
  demo_command
      ->add_option("--customers", demo_options.customers, "Customers to add (default: scale / 5)")
      ->check(CLI::Range(int64_t{0}, int64_t{100'000'000}));
  demo_command->add_option("--assets", demo_options.assets, "Assets to add (default: scale / 10)")
      ->check(CLI::Range(int64_t{0}, int64_t{10'000'000}));
  demo_command->add_option("--seed", demo_options.seed, "Random seed (same seed, same data)");

  CLI11_PARSE(cli, argc, argv);
  try {
    if (*serve_cmd) return serve(load(serve_flags));
    if (*migrate) return migrate_cmd(load(migrate_flags));
    if (*check) return config_check(load(check_flags));
    if (*init) return admin_init(load(admin_flags), admin_json);
    if (*verify_cmd) return audit_verify(load(verify_flags), anchor_in);
    if (*anchor_cmd) return audit_anchor(load(anchor_flags), anchor_out);
    if (*demo_command) return demo_cmd(load(demo_flags), demo_options);
    if (*rotate_cmd) return keys_rotate(load(keys_flags), keys_out, keys_new_dek);
    if (cli.got_subcommand("version")) {
      std::printf("custos 0.1.0\n");
      return 0;
    }
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "custos: %s\n", e.what());
    return 1;
  }
  return 0;
}
