// Issue #2 item 5: one TOML file + CUSTOS_* environment + CLI flags; unknown keys and bad values
// are rejected with a message naming the key.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "platform/config/config.h"

namespace custos {
namespace {

std::string write_toml(const std::string& body) {
  static int n = 0;
  auto p =
      std::filesystem::temp_directory_path() /
      ("custos-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".toml");
  std::ofstream(p) << body;
  return p.string();
}

std::string error_of(const ConfigSources& src) {
  try {
    load_config(src);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, DefaultsAreSafe) {
  Config c = load_config({});
  EXPECT_EQ(c.server.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.server.max_body_bytes, 1 << 20);
  EXPECT_EQ(c.database.url, "sqlite://./data/custos.db");
  EXPECT_FALSE(c.diagnostics.enabled);
  EXPECT_GE(io_threads(c), 1);
  EXPECT_GE(worker_threads(c), 4);
}

TEST(Config, FileThenEnvironmentThenCommandLine) {
  ConfigSources src;
  src.file = write_toml(
      "[server]\nlisten = \"0.0.0.0:9000\"\nio_threads = 3\n[database]\npool_size = 4\n"
      "[log]\nformat = \"text\"\n");
  src.environment = {{"CUSTOS_SERVER_IO_THREADS", "5"}, {"CUSTOS_LISTEN", "127.0.0.1:9001"}};
  src.overrides = {{"server.io_threads", "7"}};
  Config c = load_config(src);
  EXPECT_EQ(c.server.listen, "127.0.0.1:9001");
  EXPECT_EQ(c.server.io_threads, 7);
  EXPECT_EQ(c.database.pool_size, 4);
  EXPECT_EQ(c.log.format, "text");
}

TEST(Config, UnknownKeysAreRejectedByName) {
  ConfigSources src;
  src.file = write_toml("[server]\nlisten = \"127.0.0.1:1\"\nlisen_typo = 1\n");
  EXPECT_NE(error_of(src).find("server.lisen_typo"), std::string::npos) << error_of(src);

  ConfigSources section;
  section.file = write_toml("[nosuch]\nkey = 1\n");
  EXPECT_NE(error_of(section).find("nosuch.key"), std::string::npos);

  ConfigSources env;
  env.environment = {{"CUSTOS_SERVER_BOGUS", "1"}};
  EXPECT_NE(error_of(env).find("CUSTOS_SERVER_BOGUS"), std::string::npos);

  ConfigSources cli;
  cli.overrides = {{"database.nope", "1"}};
  EXPECT_NE(error_of(cli).find("database.nope"), std::string::npos);
}

TEST(Config, BadValuesNameTheKeyAndTheSource) {
  ConfigSources wrong_type;
  wrong_type.file = write_toml("[server]\nio_threads = \"four\"\n");
  std::string e = error_of(wrong_type);
  EXPECT_NE(e.find("server.io_threads"), std::string::npos) << e;
  EXPECT_NE(e.find("integer"), std::string::npos) << e;

  ConfigSources out_of_range;
  out_of_range.environment = {{"CUSTOS_DATABASE_POOL_SIZE", "0"}};
  e = error_of(out_of_range);
  EXPECT_NE(e.find("database.pool_size"), std::string::npos) << e;
  EXPECT_NE(e.find("CUSTOS_DATABASE_POOL_SIZE"), std::string::npos) << e;

  ConfigSources not_a_number;
  not_a_number.overrides = {{"server.max_body_bytes", "12abc"}};
  EXPECT_NE(error_of(not_a_number).find("server.max_body_bytes"), std::string::npos);

  ConfigSources bad_choice;
  bad_choice.overrides = {{"log.level", "loud"}};
  EXPECT_NE(error_of(bad_choice).find("log.level"), std::string::npos);

  ConfigSources bad_bool;
  bad_bool.environment = {{"CUSTOS_DIAGNOSTICS_ENABLED", "maybe"}};
  EXPECT_NE(error_of(bad_bool).find("diagnostics.enabled"), std::string::npos);

  ConfigSources bad_listen;
  bad_listen.overrides = {{"server.listen", "localhost"}};
  EXPECT_NE(error_of(bad_listen).find("server.listen"), std::string::npos);

  ConfigSources bad_url;
  bad_url.overrides = {{"database.url", "mysql://x"}};
  EXPECT_NE(error_of(bad_url).find("database.url"), std::string::npos);

  ConfigSources tls_without_files;
  tls_without_files.overrides = {{"server.tls_enabled", "true"}};
  EXPECT_NE(error_of(tls_without_files).find("server.tls_enabled"), std::string::npos);

  ConfigSources syntax;
  syntax.file = write_toml("[server\nlisten = 1\n");
  EXPECT_NE(error_of(syntax).find(":1:"), std::string::npos) << error_of(syntax);
}

TEST(Config, DescribeRedactsDatabaseCredentials) {
  ConfigSources src;
  src.overrides = {{"database.url", "postgresql://custos:s3cret@db.internal:5432/custos"}};
  Config c = load_config(src);
  bool found = false;
  for (const auto& [k, v] : describe(c)) {
    EXPECT_EQ(v.find("s3cret"), std::string::npos) << k;
    if (k == "database.url") {
      found = true;
      EXPECT_EQ(v, "postgresql://custos:***@db.internal:5432/custos");
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(redact_url("sqlite://./data/custos.db"), "sqlite://./data/custos.db");
  EXPECT_EQ(redact_url("postgresql://user@h/db"), "postgresql://user@h/db");
}

TEST(Config, MailPasswordAndSmtpCredentialsNeverPrint) {
  ConfigSources src;
  src.overrides = {{"mail.enabled", "true"},
                   {"mail.smtp_url", "smtp://relay:p4ss@mail.internal:587"},
                   {"mail.from", "custos@hospital.example"},
                   {"mail.password", "m4il-s3cret"}};
  Config c = load_config(src);
  EXPECT_EQ(c.mail.password, "m4il-s3cret");
  for (const auto& [k, v] : describe(c)) {
    EXPECT_EQ(v.find("m4il-s3cret"), std::string::npos) << k;
    EXPECT_EQ(v.find("p4ss"), std::string::npos) << k;
    if (k == "mail.password") {
      EXPECT_EQ(v, "***");
    }
  }
  src.overrides = {{"mail.enabled", "true"}, {"mail.smtp_url", "http://mail"}};
  EXPECT_THROW(load_config(src), ConfigError);
  src.overrides = {{"mail.enabled", "true"}, {"mail.from", "nobody"}};
  EXPECT_THROW(load_config(src), ConfigError);
}

}  // namespace
}  // namespace custos
