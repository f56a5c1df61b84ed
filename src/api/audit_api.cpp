// /api/v1/audit/*: the auditor's view of the audit trail (MLPS 安全审计; checklist C).
//  * GET  /audit/events           list, newest first, keyset on seq (audit:events:read)
//  * GET  /audit/events/export    the same filters as CSV or XLSX, watermarked, itself audited
//  * POST /audit/verify           runs the verifier (audit:events:verify), itself audited
//  * POST /audit/checkpoints      signs checkpoints now and returns them with an anchor file
// Reading the trail is not audited per row (every read would append to what it reads); export,
// verify and checkpoint are.

#include <boost/json.hpp>
#include <cstdio>

#include "api/caller.h"
#include "api/export.h"
#include "api/json.h"
#include "platform/audit/changes.h"
#include "platform/audit/checkpoint.h"
#include "platform/audit/purge.h"
#include "platform/audit/verify.h"
#include "platform/tabular/tabular.h"
#include "platform/text/time.h"

namespace custos::api {

using http::Method;
using http::Request;
using http::Response;
namespace json = boost::json;

namespace {

constexpr const char* kRead = "audit:events:read";
constexpr const char* kVerify = "audit:events:verify";
constexpr const char* kPurge = "audit:events:purge";
constexpr const char* kColumns =
    "SELECT seq, at, actor_user_id, session_id, ip, request_id, action, object_type, object_id, "
    "outcome, error_code, changes, reason, hash, (SELECT u.username FROM users u WHERE u.id = "
    "audit_events.actor_user_id), (SELECT u.name FROM users u WHERE u.id = "
    "audit_events.actor_user_id) FROM audit_events WHERE ";

Caller require(const Request& req, Deps& deps, const char* permission) {
  Caller c = authenticate(req, deps);
  if (!authz::may(c.principal, permission)) throw Error(ErrorCode::forbidden);
  return c;
}

audit::Actor actor_of(const Caller& c) {
  return audit::actor_of(c.principal, c.client);
}

// The WHERE clause of the filters (always scoped to the caller's organisation) and a text form
// of them for the export watermark and audit record.
struct Filter {
  std::string where = "org_id = ?";
  std::vector<db::Value> params;
  std::string text;
};

Filter parse_filter(const Request& req, int64_t org_id) {
  Filter f;
  f.params.emplace_back(org_id);
  auto add = [&](const char* name, const std::string& clause, db::Value v) {
    f.where += " AND " + clause;
    f.params.push_back(std::move(v));
    const auto shown = req.query_param(name).value_or("");
    f.text += (f.text.empty() ? "" : " ") + std::string(name) + "=" + shown.substr(0, 100);
  };
  if (auto v = req.query_param("actor"); v && !v->empty()) {
    int64_t id = 0;
    try {
      id = std::stoll(*v);
    } catch (...) {
      throw Error(ErrorCode::validation_failed, "query.actor", "a user id");
    }
    add("actor", "actor_user_id = ?", id);
  }
  for (const char* name : {"object_type", "object_id", "action", "outcome"})
    if (auto v = req.query_param(name); v && !v->empty()) {
      if (v->size() > 200) throw Error(ErrorCode::validation_failed, std::string("query.") + name);
      add(name, std::string(name) + " = ?", *v);
    }
  for (const char* bound : {"from", "to"}) {
    auto v = req.query_param(bound);
    if (!v || v->empty()) continue;
    auto t = text::parse_rfc3339(*v);
    if (!t)
      throw Error(ErrorCode::validation_failed, std::string("query.") + bound, "RFC 3339 time");
    add(bound, std::string("at ") + (bound[0] == 'f' ? ">= ?" : "< ?"), *t);
  }
  return f;
}

std::string text_of(const db::Value& v) {
  return db::is_null(v) ? std::string() : db::as_text(v);
}

json::object event_json(const std::vector<db::Value>& r) {
  json::value changes = nullptr;
  if (!db::is_null(r[11])) {
    boost::system::error_code ec;
    changes = json::parse(db::as_text(r[11]), ec);
    if (ec) changes = db::as_text(r[11]);  // not JSON: show it as stored
  }
  return {{"seq", db::as_int(r[0])},
          {"at", text::rfc3339(db::as_int(r[1]))},
          {"actor_user_id", json_id(db::as_opt_int(r[2]))},
          {"session_id", json_id(db::as_opt_int(r[3]))},
          {"ip", text_of(r[4])},
          {"request_id", text_of(r[5])},
          {"action", db::as_text(r[6])},
          {"object_type", text_of(r[7])},
          {"object_id", text_of(r[8])},
          {"outcome", db::as_text(r[9])},
          {"error_code", text_of(r[10])},
          {"changes", changes},
          {"reason", text_of(r[12])},
          {"hash", db::as_text(r[13])},
          // Who the actor is, so the auditor need not read the user register.
          {"actor_username", json_text(db::as_opt_text(r[14]))},
          {"actor_name", json_text(db::as_opt_text(r[15]))}};
}

std::vector<std::string> event_cells(const std::vector<db::Value>& r) {
  std::vector<std::string> cells;
  cells.push_back(std::to_string(db::as_int(r[0])));
  cells.push_back(text::rfc3339(db::as_int(r[1])));
  cells.push_back(db::is_null(r[2]) ? "" : std::to_string(db::as_int(r[2])));
  cells.push_back(db::is_null(r[3]) ? "" : std::to_string(db::as_int(r[3])));
  for (int i = 4; i <= 13; ++i) cells.push_back(text_of(r[i]));
  return cells;
}

const std::vector<std::string> kExportHeader = {
    "seq",         "at",        "actor_user_id", "session_id", "ip",      "request_id", "action",
    "object_type", "object_id", "outcome",       "error_code", "changes", "reason",     "hash"};

// One page of events, newest first, strictly below `before` (keyset on seq).
db::Result page(Deps& deps, const Filter& f, std::optional<int64_t> before, int limit) {
  return deps.db.read([&](db::Tx& tx) {
    auto params = f.params;
    std::string sql = kColumns + f.where;
    if (before) {
      sql += " AND seq < ?";
      params.emplace_back(*before);
    }
    sql += " ORDER BY seq DESC LIMIT ?";
    params.emplace_back(int64_t{limit});
    return tx.query(sql, params);
  });
}

Response list_events(Request& req, Deps& deps) {
  Caller c = require(req, deps, kRead);
  PageParams pp = page_params(req);
  Filter f = parse_filter(req, c.principal.org_id);
  const int64_t total = deps.db.read([&](db::Tx& tx) {
    return db::as_int(
        tx.query("SELECT COUNT(*) FROM audit_events WHERE " + f.where, f.params).rows.at(0).at(0));
  });
  db::Result r = page(deps, f, pp.after_id, pp.limit + 1);
  json::array items;
  for (size_t i = 0; i < r.rows.size() && i < static_cast<size_t>(pp.limit); ++i)
    items.push_back(event_json(r.rows[i]));
  json::value next = nullptr;
  if (r.rows.size() > static_cast<size_t>(pp.limit))
    next = std::to_string(db::as_int(r.rows[pp.limit - 1][0]));
  return json_response(200,
                       json::object{{"items", items}, {"next_cursor", next}, {"total", total}});
}

// Walks every matching event newest first from one snapshot, in batches (constant memory).
template <class F>
void for_each_event(Deps& deps, const Filter& f, F&& fn) {
  deps.db.read([&](db::Tx& tx) {
    tx.each(kColumns + f.where + " ORDER BY seq DESC", f.params, 1000, [&](db::Result& chunk) {
      for (const auto& row : chunk.rows) fn(event_cells(row));
    });
  });
}

void record_action(Deps& deps, const Caller& c, const std::string& action, audit::Outcome outcome,
                   json::object changes) {
  deps.db.write([&](db::Tx& tx) {
    audit::record(tx, actor_of(c),
                  {.action = action,
                   .object_type = "audit_events",
                   .outcome = outcome,
                   .changes = json::serialize(changes)},
                  text::now_ms());
  });
}

Response export_events(Request& req, Deps& deps) {
  Caller c = require(req, deps, kRead);
  require_recent_auth(c, deps);
  const std::string format = req.query_param("format").value_or("csv");
  Filter f = parse_filter(req, c.principal.org_id);
  const std::string watermark = c.principal.username + " " + text::rfc3339(text::now_ms()) +
                                " filter: " + (f.text.empty() ? "(none)" : f.text);
  Export out(format, "audit", watermark, kExportHeader);
  for_each_event(deps, f, [&](const std::vector<std::string>& cells) { out.row(cells); });
  Response res = out.finish("audit-events", "审计记录");
  record_action(deps, c, "audit.export", audit::Outcome::success,
                {{"format", format}, {"filter", f.text}, {"rows", out.rows()}});
  return res;
}

json::object finding_json(const audit::Finding& f) {
  return {
      {"org_id", std::to_string(f.org_id)}, {"seq", f.seq}, {"code", f.code}, {"detail", f.detail}};
}

Response verify_trail(Request& req, Deps& deps, const audit::Signer* signer) {
  Caller c = require(req, deps, kVerify);
  audit::VerifyOptions opts;
  opts.signer = signer;
  audit::VerifyReport report = audit::verify(deps.db, opts);
  json::object out{{"ok", report.ok}, {"records_checked", report.records_checked}};
  if (auto bad = report.first_bad()) out["first_bad"] = finding_json(*bad);
  json::object changes{{"ok", report.ok}, {"records_checked", report.records_checked}};
  if (auto bad = report.first_bad()) changes["first_bad"] = finding_json(*bad);
  record_action(deps, c, "audit.verify",
                report.ok ? audit::Outcome::success : audit::Outcome::failed, changes);
  return json_response(200, out);
}

json::object checkpoint_json(const audit::Checkpoint& cp) {
  return {{"org_id", std::to_string(cp.org_id)},
          {"seq", cp.seq},
          {"root", cp.root},
          {"at", text::rfc3339(cp.at)},
          {"suite", cp.suite},
          {"key_id", cp.key_id},
          {"signature", cp.signature}};
}

Response checkpoint_now(Request& req, Deps& deps, const audit::Signer* signer) {
  Caller c = require(req, deps, kVerify);
  if (!signer) throw Error(ErrorCode::internal_error, {}, "audit signing key unavailable");
  audit::write_checkpoints(deps.db, *signer, text::now_ms(), {}, /*force=*/true);
  auto latest = deps.db.read([](db::Tx& tx) { return audit::latest_checkpoints(tx); });
  json::array items;
  for (const auto& cp : latest)
    if (cp.org_id == c.principal.org_id) items.push_back(checkpoint_json(cp));
  std::vector<audit::Checkpoint> mine;
  for (const auto& cp : latest)
    if (cp.org_id == c.principal.org_id) mine.push_back(cp);
  record_action(deps, c, "audit.checkpoint", audit::Outcome::success, {{"count", items.size()}});
  return json_response(200, json::object{{"items", items}, {"anchor", audit::format_anchor(mine)}});
}

// POST /audit/purge {"before": RFC 3339}: removes records older than `before`, which must be
// at least audit.retention_days ago (audit administrator; the purge itself is audited).
Response purge_trail(Request& req, Deps& deps, const audit::Signer* signer) {
  Caller c = require(req, deps, kPurge);
  if (!signer) throw Error(ErrorCode::internal_error, {}, "audit signing key unavailable");
  json::object body = parse_object(req);
  const std::string before_text = required_string(body, "before", 64);
  auto before = text::parse_rfc3339(before_text);
  if (!before) throw Error(ErrorCode::validation_failed, "body.before", "RFC 3339 time");
  const int64_t now = text::now_ms();
  const int retention = deps.config.audit.retention_days;
  if (*before > now - int64_t{retention} * 86'400'000)
    throw Error(
        ErrorCode::validation_failed, "body.before",
        "must be at least audit.retention_days (" + std::to_string(retention) + ") days ago");
  auto result = deps.db.write(
      [&](db::Tx& tx) { return audit::purge(tx, *signer, actor_of(c), *before, now, retention); });
  json::object out{{"removed", result.removed}, {"through_seq", result.through_seq}};
  out["checkpoint"] =
      result.checkpoint ? json::value(checkpoint_json(*result.checkpoint)) : json::value(nullptr);
  return json_response(200, out);
}

}  // namespace

void register_audit_routes(http::Router& router, Deps& deps) {
  // The signing key is made at the first start (0600, outside the database). A key that cannot
  // be loaded stops the server: checkpoints are a compliance control, not an option.
  std::shared_ptr<audit::Signer> signer =
      audit::load_signer(deps.config.audit.suite, deps.config.audit.key_file, /*create=*/true);
  router.add(Method::get, "/api/v1/audit/events",
             [&deps](Request& req) { return list_events(req, deps); },
             {.summary = "The audit trail, newest first (auditor)",
              .tag = "audit",
              .response_schema = R"({"type":"object"})",
              .query_params = {"limit", "cursor", "actor", "object_type", "object_id", "action",
                               "outcome", "from", "to"},
              .public_route = false});
  router.add(Method::get, "/api/v1/audit/events/export",
             [&deps](Request& req) { return export_events(req, deps); },
             {.summary = "Export the audit trail as CSV or XLSX, watermarked (auditor; audited)",
              .tag = "audit",
              .success_content_type = "text/csv",
              .query_params = {"format", "actor", "object_type", "object_id", "action", "outcome",
                               "from", "to"},
              .public_route = false});
  router.add(
      Method::post, "/api/v1/audit/verify",
      [&deps, signer](Request& req) { return verify_trail(req, deps, signer.get()); },
      {.summary = "Verify the hash chain and signed checkpoints (auditor; audited)",
       .tag = "audit",
       .response_schema =
           R"({"type":"object","required":["ok","records_checked"],"properties":{"ok":{"type":"boolean"},"records_checked":{"type":"integer"},"first_bad":{"type":"object"}}})",
       .public_route = false});
  router.add(
      Method::post, "/api/v1/audit/purge",
      [&deps, signer](Request& req) { return purge_trail(req, deps, signer.get()); },
      {.summary = "Purge records older than the retention period (audit administrator; audited)",
       .tag = "audit",
       .response_schema = R"({"type":"object"})",
       .public_route = false});
  router.add(
      Method::post, "/api/v1/audit/checkpoints",
      [&deps, signer](Request& req) { return checkpoint_now(req, deps, signer.get()); },
      {.summary = "Sign a checkpoint of the trail now; returns it and an anchor file (auditor)",
       .tag = "audit",
       .response_schema = R"({"type":"object"})",
       .public_route = false});
}

}  // namespace custos::api
