#include "modules/registry/internal.h"

#include "platform/log/log.h"
#include "platform/text/utf8.h"

namespace custos::registry::detail {

void check_classification(db::Tx& tx, const authz::Principal& p, int level, const char* field) {
  const int top = authz::top_level(tx, p.org_id);
  if (level < 0 || level > top)
    throw Error(ErrorCode::validation_failed, field,
                "a classification level from 0 to " + std::to_string(top));
  // Nobody files a record above their own clearance: they could not read it back.
  if (level > p.clearance) throw Error(ErrorCode::forbidden, field, "above your clearance");
}

bool read_is_audited(db::Db& db, int64_t org, int level, const db::Value& column) {
  if (!db::is_null(column)) return db::as_int(column) != 0;
  return db.read([&](db::Tx& tx) { return authz::audits_reads(tx, org, level); });
}

void audit_read(db::Tx& tx, const audit::Actor& a, const std::string& action,
                const std::string& object_type, const std::string& ids, int classification,
                int64_t now) {
  audit::record(
      tx, a,
      {.action = action,
       .object_type = object_type,
       .object_id = ids,
       .changes = boost::json::serialize(boost::json::object{{"classification", classification}})},
      now);
}

}  // namespace custos::registry::detail

namespace custos::registry {

void Registry::audit_read_by_id(const audit::Actor& a, std::optional<int64_t> grant,
                                const char* permission, const char* action, const char* object_type,
                                int64_t id, int level, DeferredAudit* deferred) {
  auto record = [a, grant, permission, action, object_type, id, level,
                 at = clock_.now_ms()](db::Tx& tx) {
    if (grant)
      authz::GrantService::record_use(tx, a, *grant, permission, object_type, id, at);
    else
      detail::audit_read(tx, a, action, object_type, std::to_string(id), level, at);
  };
  if (!deferred) return read_audits_.write(record);
  *deferred = [this, record = std::move(record), object_type, id](std::function<void(bool)> done) {
    read_audits_.write_async(record,
                             [done = std::move(done), object_type, id](std::exception_ptr e) {
                               if (e) {
                                 try {
                                   std::rethrow_exception(e);
                                 } catch (const std::exception& x) {
                                   log::app().error("the audit record of reading {} {} failed: {}",
                                                    object_type, id, x.what());
                                 } catch (...) {
                                 }
                               }
                               done(!e);
                             });
  };
}

}  // namespace custos::registry
