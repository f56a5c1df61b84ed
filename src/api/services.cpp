#include "api/services.h"

#include "modules/assets/forms.h"
#include "modules/oa/reward_penalty.h"

namespace custos::api {

authn::SecurityPolicy security_policy(const Config& c) {
  authn::SecurityPolicy p;
  p.password.min_length = c.security.password_min_length;
  p.password.rotation_days = c.security.password_rotation_days;
  p.lockout_threshold = c.security.lockout_threshold;
  p.lockout_ms = int64_t{c.security.lockout_minutes} * 60'000;
  p.ip_max_failures = c.security.ip_max_failures;
  p.idle_timeout_ms = int64_t{c.security.session_idle_minutes} * 60'000;
  p.absolute_timeout_ms = int64_t{c.security.session_absolute_hours} * 3'600'000;
  p.reauth_window_ms = int64_t{c.security.reauth_minutes} * 60'000;
  return p;
}

privacy::Masker masker_of(const Config& c) {
  privacy::MaskRules r;
  r.mobile = {c.privacy.mobile_keep_start, c.privacy.mobile_keep_end};
  r.id_card = {c.privacy.id_card_keep_start, c.privacy.id_card_keep_end};
  r.name = {c.privacy.name_keep_start, c.privacy.name_keep_end};
  r.email = {c.privacy.email_keep_start, 0};
  r.address = {c.privacy.address_keep_start, c.privacy.address_keep_end};
  return privacy::Masker(r);
}

Services::Services(db::Db& db_, const Clock& clock_, const Config& config_,
                   authn::SecurityPolicy policy)
    : db(db_),
      clock(clock_),
      config(config_),
      masker(masker_of(config_)),
      auth(db_, clock_, policy),
      classifications(db_, clock_),
      grants(db_, clock_, config_.security.grant_max_days, [this] { auth.invalidate_sessions(); }),
      org(db_, clock_, auth, masker),
      offboarding(db_, clock_, auth, config_.security.offboarding_days),
      notifier(config_.mail.enabled),
      workflow(db_, clock_, directory, notifier),
      todo(notifier),
      cipher(
          db_,
          [&config_] {
            return crypto::load_key_material(config_.privacy.key_file, config_.privacy.key,
                                             /*create=*/true);
          },
          *crypto::parse_suite(config_.privacy.suite)),
      registry(db_, clock_, cipher, masker, notifier, todo),
      assets(db_, clock_, todo),
      network(db_, clock_),
      violations(db_, clock_, todo),
      inventory(db_, clock_, violations) {
  mail.smtp_url = config_.mail.smtp_url;
  mail.from = config_.mail.from;
  mail.username = config_.mail.username;
  mail.password = config_.mail.password;
  mail.require_tls = config_.mail.require_tls;
  mail.timeout_ms = config_.mail.timeout_ms;
  mail.give_up_after_ms = int64_t{config_.mail.give_up_hours} * 3'600'000;
  mail.retry_base_ms = int64_t{config_.mail.retry_seconds} * 1000;
  // Form types of the modules.
  oa::register_forms(workflow);
  assets::register_forms(workflow, todo);
  assets::register_offboarding_check(offboarding, todo);
  // Records an explicit grant may name.
  grants.register_type(
      "customer", {registry::perm::customers_read, registry::perm::customers_unmask},
      [](db::Tx& tx, int64_t org_id, int64_t id) {
        return tx.one("SELECT 1 FROM customers WHERE org_id = ? AND id = ?", {org_id, id})
            .has_value();
      });
  grants.register_type(
      "service_request", {registry::perm::requests_read},
      [](db::Tx& tx, int64_t org_id, int64_t id) {
        return tx.one("SELECT 1 FROM service_requests WHERE org_id = ? AND id = ?", {org_id, id})
            .has_value();
      });
  classifications.register_usage(
      "customers.classification",
      "SELECT COALESCE(MAX(classification), 0) FROM customers WHERE org_id = ?");
  classifications.register_usage(
      "service_requests.classification",
      "SELECT COALESCE(MAX(classification), 0) FROM service_requests WHERE org_id = ?");
  grants.register_type(
      "user", {org::perm::users_read, org::perm::users_unmask},
      [](db::Tx& tx, int64_t org_id, int64_t id) {
        return tx.one("SELECT 1 FROM users WHERE org_id = ? AND id = ?", {org_id, id}).has_value();
      });
}

void Services::register_jobs(jobs::JobRunner& runner) {
  offboarding.register_jobs(runner, config.jobs.interval_ms);
  workflow.register_jobs(runner, config.jobs.interval_ms);
  registry.register_jobs(runner, config.jobs.interval_ms);
  if (config.mail.enabled)
    runner.add("notify.mail", config.jobs.interval_ms,
               [this](int64_t now) { notify::drain_outbox(db, mail, now); });
}

Deps Services::deps(http::Metrics& metrics) {
  return Deps{db,         config,    metrics, auth,     org,      offboarding, classifications,
              grants,     workflow,  todo,    notifier, registry, assets,      network,
              violations, inventory, {}};
}

}  // namespace custos::api
