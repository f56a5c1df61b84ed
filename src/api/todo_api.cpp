// /api/v1/todo (待办中心) and /api/v1/notifications: the caller's own pending approvals,
// done items, requests they started, what was copied to them, assigned tasks, must-read items
// and the unread counts the console shows as badges.
#include <boost/json.hpp>

#include "api/caller.h"
#include "api/json.h"
#include "platform/text/time.h"

namespace custos::api {

using http::Method;
using http::Request;
using http::Response;
namespace json = boost::json;

// workflow_api.cpp
json::object task_json(const workflow::Task& t, int64_t now);
json::object instance_json(const workflow::Instance& i, bool details, int64_t now);

namespace {

json::object notification_json(const notify::Notification& n) {
  return {
      {"id", std::to_string(n.id)},
      {"kind", n.kind},
      {"title_zh", n.title_zh},
      {"title_en", n.title_en},
      {"body_zh", n.body_zh},
      {"body_en", n.body_en},
      {"object_type", n.object_type.empty() ? json::value(nullptr) : json::value(n.object_type)},
      {"object_id", n.object_id.empty() ? json::value(nullptr) : json::value(n.object_id)},
      {"must_read", n.must_read},
      {"created_at", text::rfc3339(n.created_at)},
      {"read_at", json_time(n.read_at)}};
}

json::object todo_json(const workflow::TodoItem& t, int64_t now) {
  return {{"id", std::to_string(t.id)},
          {"kind", t.kind},
          {"title_zh", t.title_zh},
          {"title_en", t.title_en},
          {"object_type", t.object_type},
          {"object_id", t.object_id},
          {"status", t.status},
          {"due_at", json_time(t.due_at)},
          {"overdue", t.status == "open" && t.due_at && *t.due_at < now},
          {"created_at", text::rfc3339(t.created_at)},
          {"done_at", json_time(t.done_at)}};
}

json::object counts_json(const workflow::Counts& c) {
  return {{"pending", c.pending},
          {"overdue", c.overdue},
          {"cc_unread", c.cc_unread},
          {"started_running", c.started_running},
          {"tasks_open", c.tasks_open},
          {"must_read", c.must_read},
          {"notifications_unread", c.notifications_unread},
          {"badge", c.pending + c.tasks_open + c.must_read}};
}

template <class T, class F>
Response page_of(const workflow::Page<T>& page, F&& convert) {
  json::array items;
  for (const auto& x : page.items) items.push_back(convert(x));
  return list_response(std::move(items), page.next_cursor, page.total);
}

}  // namespace

void register_todo_routes(http::Router& router, Deps& deps) {
  router.add(Method::get, "/api/v1/todo",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const int64_t now = text::now_ms();
               auto counts = deps.workflow.counts(c.principal);
               json::array pending, tasks, must_read;
               for (const auto& t : deps.workflow.pending(c.principal, 10, std::nullopt).items)
                 pending.push_back(task_json(t, now));
               for (const auto& t : deps.todo
                                        .list(deps.db, c.principal.org_id, c.principal.user_id,
                                              "open", 10, std::nullopt)
                                        .items)
                 tasks.push_back(todo_json(t, now));
               notify::Query q;
               q.limit = 10;
               q.unread_only = true;
               q.must_read_only = true;
               for (const auto& n :
                    deps.notifier.list(deps.db, c.principal.org_id, c.principal.user_id, q).items)
                 must_read.push_back(notification_json(n));
               return json_response(200, json::object{{"counts", counts_json(counts)},
                                                      {"pending", pending},
                                                      {"tasks", tasks},
                                                      {"must_read", must_read}});
             },
             {.summary = "The to-do centre at a glance: counts for badges, the newest pending "
                         "approvals, assigned tasks and must-read items",
              .tag = "todo",
              .response_schema = R"({"type":"object"})",
              .public_route = false});
  router.add(Method::get, "/api/v1/todo/counts",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return json_response(200, counts_json(deps.workflow.counts(c.principal)));
             },
             {.summary = "Unread and pending counts (the console's badges)",
              .tag = "todo",
              .response_schema = R"({"type":"object"})",
              .public_route = false});
  router.add(Method::get, "/api/v1/todo/pending",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               PageParams pp = page_params(req);
               const bool overdue = req.query_param("overdue").value_or("") == "true";
               const int64_t now = text::now_ms();
               return page_of(deps.workflow.pending(c.principal, pp.limit, pp.after_id, overdue),
                              [&](const workflow::Task& t) { return task_json(t, now); });
             },
             {.summary = "Approvals waiting for the caller (?overdue=true: past their time "
                         "limit), newest first",
              .tag = "todo",
              .response_schema = R"({"type":"object"})",
              .query_params = {"limit", "cursor", "overdue"},
              .public_route = false});
  router.add(Method::get, "/api/v1/todo/done",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               PageParams pp = page_params(req);
               const int64_t now = text::now_ms();
               return page_of(deps.workflow.done(c.principal, pp.limit, pp.after_id),
                              [&](const workflow::Task& t) { return task_json(t, now); });
             },
             {.summary = "Done (已办): tasks the caller decided",
              .tag = "todo",
              .response_schema = R"({"type":"object"})",
              .query_params = {"limit", "cursor"},
              .public_route = false});
  router.add(Method::get, "/api/v1/todo/started",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               PageParams pp = page_params(req);
               const int64_t now = text::now_ms();
               return page_of(
                   deps.workflow.started(c.principal, pp.limit, pp.after_id),
                   [&](const workflow::Instance& i) { return instance_json(i, false, now); });
             },
             {.summary = "Started by me (我发起的)",
              .tag = "todo",
              .response_schema = R"({"type":"object"})",
              .query_params = {"limit", "cursor"},
              .public_route = false});
  router.add(Method::get, "/api/v1/todo/cc",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               PageParams pp = page_params(req);
               const int64_t now = text::now_ms();
               return page_of(
                   deps.workflow.copied(c.principal, pp.limit, pp.after_id),
                   [&](const workflow::Instance& i) { return instance_json(i, false, now); });
             },
             {.summary = "Copied to me (抄送我的)",
              .tag = "todo",
              .response_schema = R"({"type":"object"})",
              .query_params = {"limit", "cursor"},
              .public_route = false});
  router.add(Method::get, "/api/v1/todo/tasks",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               PageParams pp = page_params(req);
               const std::string status = req.query_param("status").value_or("open");
               if (status != "open" && status != "done" && status != "all")
                 throw Error(ErrorCode::validation_failed, "query.status", "open, done or all");
               auto page = deps.todo.list(deps.db, c.principal.org_id, c.principal.user_id,
                                          status == "all" ? "" : status, pp.limit, pp.after_id);
               const int64_t now = text::now_ms();
               json::array items;
               for (const auto& t : page.items) items.push_back(todo_json(t, now));
               return list_response(std::move(items), page.next_cursor, page.total);
             },
             {.summary = "Tasks assigned to the caller (reviews, handovers, forms to process)",
              .tag = "todo",
              .response_schema = R"({"type":"object"})",
              .query_params = {"limit", "cursor", "status"},
              .public_route = false});

  router.add(Method::get, "/api/v1/notifications",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               PageParams pp = page_params(req);
               notify::Query q;
               q.limit = pp.limit;
               q.after_id = pp.after_id;
               q.unread_only = req.query_param("unread").value_or("") == "true";
               q.must_read_only = req.query_param("must_read").value_or("") == "true";
               auto page = deps.notifier.list(deps.db, c.principal.org_id, c.principal.user_id, q);
               json::array items;
               for (const auto& n : page.items) items.push_back(notification_json(n));
               json::object o{{"items", items},
                              {"next_cursor", page.next_cursor ? json::value(*page.next_cursor)
                                                               : json::value(nullptr)},
                              {"total", page.total},
                              {"unread", page.unread}};
               return json_response(200, o);
             },
             {.summary = "The caller's notifications, newest first",
              .tag = "todo",
              .response_schema = R"({"type":"object"})",
              .query_params = {"limit", "cursor", "unread", "must_read"},
              .public_route = false});
  router.add(Method::post, "/api/v1/notifications/{id}/read",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return json_response(200, notification_json(deps.notifier.mark_read(
                                             deps.db, c.principal.org_id, c.principal.user_id,
                                             path_id(req), text::now_ms())));
             },
             {.summary = "Mark one notification read (acknowledges a must-read item)",
              .tag = "todo",
              .response_schema = R"({"type":"object"})",
              .public_route = false});
  router.add(Method::post, "/api/v1/notifications/read-all",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const int64_t n = deps.notifier.mark_all_read(deps.db, c.principal.org_id,
                                                             c.principal.user_id, text::now_ms());
               return json_response(200, json::object{{"marked", n}});
             },
             {.summary = "Mark every notification read, except must-read items (acknowledged one "
                         "by one)",
              .tag = "todo",
              .response_schema = R"({"type":"object"})",
              .public_route = false});
}

}  // namespace custos::api
