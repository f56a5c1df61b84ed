// The product's services, composed once from a database, a clock and the configuration, in
// dependency order: identity first, then the modules that build on it. `custos serve`, the
// other subcommands and the fuzz target all compose through here, so a new module is wired in
// one place (its constructor arguments, its start-up registrations and its jobs).
#pragma once

#include "api/api.h"
#include "modules/org/offboarding.h"
#include "modules/org/org_directory.h"
#include "modules/org/org_service.h"
#include "modules/registry/registry.h"
#include "platform/authn/auth_service.h"
#include "platform/authz/classification.h"
#include "platform/authz/grants.h"
#include "platform/clock.h"
#include "platform/config/config.h"
#include "platform/crypto/field_cipher.h"
#include "platform/jobs/job_runner.h"
#include "platform/notify/mailer.h"
#include "platform/notify/notifier.h"
#include "platform/privacy/mask.h"
#include "platform/storage/db.h"
#include "platform/workflow/engine.h"
#include "platform/workflow/todo.h"

namespace custos::api {

authn::SecurityPolicy security_policy(const Config& c);
privacy::Masker masker_of(const Config& c);

struct Services {
  // `policy` is security_policy(config) unless a caller lowers the password cost (fuzzing).
  Services(db::Db& db, const Clock& clock, const Config& config, authn::SecurityPolicy policy);
  Services(const Services&) = delete;
  Services& operator=(const Services&) = delete;

  // The background jobs every module runs (leased: one server at a time).
  void register_jobs(jobs::JobRunner& runner);

  // The API's view of the services.
  Deps deps(http::Metrics& metrics);

  db::Db& db;
  const Clock& clock;
  const Config& config;
  const privacy::Masker masker;
  authn::AuthService auth;
  authz::ClassificationService classifications;
  authz::GrantService grants;
  org::OrgService org;
  org::Offboarding offboarding;
  org::OrgDirectory directory;
  notify::Notifier notifier;
  workflow::Engine workflow;
  workflow::Todo todo;
  notify::MailSettings mail;
  crypto::FieldCipher cipher;
  registry::Registry registry;
  assets::Assets assets;
  assets::Network network;
  assets::Violations violations;
  assets::Inventory inventory;
};

}  // namespace custos::api
