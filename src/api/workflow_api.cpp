// /api/v1/workflow/*: the approval engine (issue #5) — form types, process definitions,
// instances and the actions on their tasks. Thin handlers over workflow::Engine; an instance the
// caller may not see answers 404 like a missing one.
#include <algorithm>
#include <boost/json.hpp>

#include "api/caller.h"
#include "api/export.h"
#include "api/json.h"
#include "platform/audit/changes.h"
#include "platform/text/time.h"
#include "platform/text/utf8.h"

namespace custos::api {

using http::Method;
using http::Request;
using http::Response;
namespace json = boost::json;

json::object task_json(const workflow::Task& t, int64_t now) {
  return {{"id", std::to_string(t.id)},
          {"instance_id", std::to_string(t.instance_id)},
          {"node_id", t.node_id},
          {"node_name", t.node_name},
          {"assignee_id", std::to_string(t.assignee_id)},
          {"assignee_name", t.assignee_name},
          {"kind", t.kind},
          {"status", t.status},
          {"position", t.position},
          {"parent_task_id", json_id(t.parent_task_id)},
          {"created_at", text::rfc3339(t.created_at)},
          {"due_at", json_time(t.due_at)},
          {"overdue", t.status == "pending" && t.due_at && *t.due_at < now},
          {"acted_at", json_time(t.acted_at)},
          {"comment", t.comment},
          {"summary", t.summary},
          {"form_type", t.form_type},
          {"process_name", t.process_name},
          {"instance_status", t.instance_status},
          {"initiator_id", std::to_string(t.initiator_id)},
          {"initiator_name", t.initiator_name}};
}

json::object instance_json(const workflow::Instance& i, bool details, int64_t now) {
  json::error_code ec;
  json::value form = json::parse(i.form_json, ec);
  json::object o{
      {"id", std::to_string(i.id)},
      {"definition_id", std::to_string(i.definition_id)},
      {"definition_key", i.definition_key},
      {"definition_version", i.definition_version},
      {"process_name", i.process_name},
      {"form_type", i.form_type},
      {"form", ec ? json::value(json::object()) : form},
      {"summary", i.summary},
      {"subject_type", i.subject_type.empty() ? json::value(nullptr) : json::value(i.subject_type)},
      {"subject_id", json_id(i.subject_id)},
      {"initiator_id", std::to_string(i.initiator_id)},
      {"initiator_name", i.initiator_name},
      {"initiator_department_id", json_id(i.initiator_department_id)},
      {"initiator_department_name", i.initiator_department_name.empty()
                                        ? json::value(nullptr)
                                        : json::value(i.initiator_department_name)},
      {"status", i.status},
      {"created_at", text::rfc3339(i.created_at)},
      {"updated_at", text::rfc3339(i.updated_at)},
      {"completed_at", json_time(i.completed_at)},
      {"version", i.version},
      {"etag", etag_of(i.version)}};
  if (i.cc_read) o["cc_read"] = *i.cc_read;
  if (!details) return o;
  json::array tasks, history, attachments, cc;
  for (const auto& t : i.tasks) tasks.push_back(task_json(t, now));
  for (const auto& h : i.history) {
    json::value data = json::parse(h.data, ec);
    history.push_back({{"id", std::to_string(h.id)},
                       {"task_id", json_id(h.task_id)},
                       {"node_id", h.node_id},
                       {"actor_id", json_id(h.actor_id)},
                       {"actor_name", h.actor_name},
                       {"action", h.action},
                       {"comment", h.comment},
                       {"data", ec ? json::value(json::object()) : data},
                       {"at", text::rfc3339(h.at)}});
  }
  for (const auto& a : i.attachments)
    attachments.push_back({{"id", std::to_string(a.id)},
                           {"name", a.name},
                           {"content_type", a.content_type},
                           {"size", a.size},
                           {"sha256", a.sha256},
                           {"uploaded_by", json_id(a.uploaded_by)},
                           {"at", text::rfc3339(a.at)}});
  for (int64_t u : i.cc) cc.emplace_back(std::to_string(u));
  o["tasks"] = std::move(tasks);
  o["history"] = std::move(history);
  o["attachments"] = std::move(attachments);
  o["cc_user_ids"] = std::move(cc);
  json::object names;
  for (const auto& [field, name] : i.form_names) names[field] = name;
  o["form_names"] = std::move(names);
  return o;
}

namespace {

json::object definition_json(const workflow::Definition& d) {
  json::error_code ec;
  json::value graph = json::parse(workflow::graph_json(d.graph), ec);
  return {{"id", std::to_string(d.id)},
          {"key", d.key},
          {"version", d.version},
          {"latest", d.latest},
          {"name", d.name},
          {"form_type", d.form_type},
          {"description", d.description},
          {"status", d.status},
          {"allow_self_approval", d.allow_self_approval},
          {"graph", graph},
          {"created_by", json_id(d.created_by)},
          {"created_at", text::rfc3339(d.created_at)}};
}

json::object form_type_json(const workflow::FormType& f) {
  json::array fields;
  for (const auto& x : f.fields) {
    json::object o{{"name", x.name},
                   {"type", workflow::field_type_name(x.type)},
                   {"label_zh", x.label_zh},
                   {"label_en", x.label_en},
                   {"required", x.required}};
    if (x.type == workflow::FieldType::text) o["max_length"] = x.max_length;
    if (x.min) o["min"] = *x.min;
    if (x.max) o["max"] = *x.max;
    if (!x.choices.empty()) {
      json::array c;
      for (const auto& s : x.choices) c.emplace_back(s);
      o["choices"] = std::move(c);
    }
    fields.push_back(std::move(o));
  }
  return {{"key", f.key},
          {"name_zh", f.name_zh},
          {"name_en", f.name_en},
          {"summary", f.summary},
          {"start_permission", f.start_permission},
          {"subject_type", f.subject_type},
          {"fields", fields}};
}

Response instance_response(const workflow::Instance& i, int status = 200) {
  Response r = object_response(
      status, instance_json(i, true, text::now_ms()),
      status == 201 ? "/api/v1/workflow/instances/" + std::to_string(i.id) : std::string());
  return r;
}

workflow::DefinitionInput definition_input(const json::object& b) {
  workflow::DefinitionInput in;
  in.key = required_string(b, "key", 64);
  in.name = required_string(b, "name", 100);
  in.form_type = required_string(b, "form_type", 64);
  in.description = optional_string(b, "description", 1000).value_or("");
  in.allow_self_approval = optional_bool(b, "allow_self_approval").value_or(false);
  const json::value* g = b.if_contains("graph");
  if (!g || !g->is_object())
    throw Error(ErrorCode::validation_failed, "body.graph", "an object with nodes and edges");
  in.graph_json = json::serialize(*g);
  return in;
}

std::string comment_of(const json::object& b, const char* name = "comment") {
  return optional_string(b, name, 1000).value_or("");
}

const char* kInstance = "#/components/schemas/WorkflowInstance";
const char* kDefinition = "#/components/schemas/WorkflowDefinition";
const char* kCommentBody =
    R"({"type":"object","properties":{"comment":{"type":"string","maxLength":1000}}})";
const char* kReasonBody =
    R"({"type":"object","required":["reason"],"properties":{"reason":{"type":"string","maxLength":1000}}})";

}  // namespace

void register_workflow_routes(http::Router& router, Deps& deps) {
  deps.schemas["WorkflowDefinition"] =
      R"({"type":"object","required":["key","name","form_type","graph"],"properties":{"id":{"type":"string"},"key":{"type":"string","pattern":"^[a-z][a-z0-9_.]{1,63}$"},"version":{"type":"integer"},"latest":{"type":"boolean"},"name":{"type":"string"},"form_type":{"type":"string"},"description":{"type":"string"},"status":{"type":"string","enum":["active","retired"]},"allow_self_approval":{"type":"boolean"},"graph":{"type":"object","required":["nodes","edges"],"properties":{"nodes":{"type":"array","items":{"type":"object","required":["id","kind"],"properties":{"id":{"type":"string"},"kind":{"type":"string","enum":["start","approval","cc","condition","parallel","join","end"]},"name":{"type":"string"},"mode":{"type":"string","enum":["single","all","any","sequence"]},"approvers":{"type":"array","items":{"type":"object","required":["rule"],"properties":{"rule":{"type":"string","enum":["user","role","post","post_in_department","initiator_head","department_head","superior","department_kind","record_owner"]},"user_id":{"type":"string"},"code":{"type":"string"},"department":{"type":"string"},"field":{"type":"string"},"of":{"type":"string","enum":["initiator","field_head"]},"level":{"type":"integer","minimum":1,"maximum":5},"kind":{"type":"string"}}}},"authority":{"type":"string","description":"none, post (a post with approval authority) or a permission"},"time_limit_hours":{"type":"integer","minimum":0},"on_timeout":{"type":"string","enum":["remind","escalate","approve","reject"]}}}},"edges":{"type":"array","items":{"type":"object","required":["from","to"],"properties":{"from":{"type":"string"},"to":{"type":"string"},"when":{"type":"object","properties":{"field":{"type":"string"},"op":{"type":"string","enum":["eq","ne","lt","le","gt","ge","in"]},"value":{}}}}}}}}}})";
  deps.schemas["WorkflowTask"] =
      R"({"type":"object","properties":{"id":{"type":"string"},"instance_id":{"type":"string"},"node_id":{"type":"string"},"node_name":{"type":"string"},"assignee_id":{"type":"string"},"kind":{"type":"string","enum":["approval","delegate","added"]},"status":{"type":"string"},"due_at":{"type":["string","null"],"format":"date-time"},"overdue":{"type":"boolean"},"summary":{"type":"string"},"process_name":{"type":"string"}}})";
  deps.schemas["WorkflowInstance"] =
      R"({"type":"object","properties":{"id":{"type":"string"},"definition_key":{"type":"string"},"definition_version":{"type":"integer"},"process_name":{"type":"string"},"form_type":{"type":"string"},"form":{"type":"object"},"summary":{"type":"string"},"initiator_id":{"type":"string"},"initiator_department_id":{"type":["string","null"]},"initiator_department_name":{"type":["string","null"]},"subject_type":{"type":["string","null"]},"subject_id":{"type":["string","null"]},"status":{"type":"string","enum":["running","returned","approved","rejected","withdrawn","terminated"]},"tasks":{"type":"array","items":{"$ref":"#/components/schemas/WorkflowTask"}},"history":{"type":"array","items":{"type":"object"}},"attachments":{"type":"array","items":{"type":"object"}},"form_names":{"type":"object","description":"field -> name of the user or department a user/department field names","additionalProperties":{"type":"string"}},"cc_read":{"type":"boolean","description":"in /todo/cc: whether the caller has opened it since it was copied"},"etag":{"type":"string"}}})";

  router.add(Method::get, "/api/v1/workflow/form-types",
             [&deps](Request& req) {
               authenticate(req, deps);
               json::array items;
               for (const auto& f : deps.workflow.form_types()) items.push_back(form_type_json(f));
               return list_response(std::move(items));
             },
             {.summary = "Form types modules registered (fields, summary, who may start one)",
              .tag = "workflow",
              .response_schema = R"({"type":"object"})",
              .public_route = false});

  // Definitions.
  router.add(Method::get, "/api/v1/workflow/definitions",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               workflow::DefinitionQuery q;
               q.key = query_text(req, "key", 64);
               q.limit = limit_param(req, q.limit, 500);
               q.after = query_text(req, "cursor", 64);
               auto page = deps.workflow.list_definitions(c.principal, q);
               json::array items;
               for (const auto& d : page.items) items.push_back(definition_json(d));
               return list_response(std::move(items), page.next_cursor, page.total);
             },
             {.summary = "Process definitions: the latest version of each (by key), or every "
                         "version of ?key= (by version); keyset-paged",
              .tag = "workflow",
              .response_schema = R"({"type":"object"})",
              .query_params = {"key", "limit", "cursor"},
              .public_route = false});
  router.add(Method::post, "/api/v1/workflow/definitions",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               auto d = deps.workflow.save_definition(c.principal,
                                                      audit::actor_of(c.principal, c.client),
                                                      definition_input(parse_object(req)));
               return object_response(201, definition_json(d),
                                      "/api/v1/workflow/definitions/" + std::to_string(d.id));
             },
             {.summary = "Save a process definition: version 1 of a new key, or the next version "
                         "of an existing one (running instances keep theirs); checked on save",
              .tag = "workflow",
              .request_schema = kDefinition,
              .response_schema = kDefinition,
              .success_status = 201,
              .public_route = false});
  router.add(Method::get, "/api/v1/workflow/definitions/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return json_response(
                   200, definition_json(deps.workflow.get_definition(c.principal, path_id(req))));
             },
             {.summary = "One version of a process definition",
              .tag = "workflow",
              .response_schema = kDefinition,
              .public_route = false});
  router.add(Method::post, "/api/v1/workflow/definitions/{id}/retire",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return json_response(
                   200, definition_json(deps.workflow.retire_definition(
                            c.principal, audit::actor_of(c.principal, c.client), path_id(req))));
             },
             {.summary = "Retire a process: no new instances (running ones finish)",
              .tag = "workflow",
              .response_schema = kDefinition,
              .public_route = false});

  // Instances.
  router.add(
      Method::get, "/api/v1/workflow/instances",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        PageParams pp = page_params(req);
        workflow::ListQuery q;
        q.limit = pp.limit;
        q.after_id = pp.after_id;
        q.status = query_text(req, "status", 16);
        q.form_type = query_text(req, "form_type", 64);
        q.q = query_text(req, "q", 100);
        if (!text::valid_utf8(q.q))
          throw Error(ErrorCode::validation_failed, "query.q", "not UTF-8");
        q.initiator_id = query_id(req, "initiator_id");
        q.subject_id = query_id(req, "subject_id");
        q.subject_type = query_text(req, "subject_type", 32);
        if (q.subject_id.has_value() != !q.subject_type.empty())
          throw Error(ErrorCode::validation_failed,
                      q.subject_id ? "query.subject_type" : "query.subject_id",
                      "subject_type and subject_id go together");
        const std::string sort = query_text(req, "sort", 16);
        if (!sort.empty() && sort != "created_desc" && sort != "created_asc")
          throw Error(ErrorCode::validation_failed, "query.sort", "created_desc or created_asc");
        q.oldest_first = sort == "created_asc";
        auto page = deps.workflow.list(c.principal, q);
        const int64_t now = text::now_ms();
        json::array items;
        for (const auto& i : page.items) items.push_back(instance_json(i, false, now));
        return list_response(std::move(items), page.next_cursor, page.total);
      },
      {.summary = "Instances the caller started, acts on, is copied on, or may read; "
                  "q searches the summary and the process name; sort=created_desc "
                  "(default) or created_asc",
       .tag = "workflow",
       .response_schema = R"({"type":"object"})",
       .query_params = {"limit", "cursor", "sort", "q", "status", "form_type", "initiator_id",
                        "subject_type", "subject_id"},
       .public_route = false});
  router.add(
      Method::post, "/api/v1/workflow/instances",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        auto b = parse_object(req);
        workflow::StartInput in;
        in.definition_key = required_string(b, "definition_key", 64);
        const json::value* form = b.if_contains("form");
        if (form && !form->is_object())
          throw Error(ErrorCode::validation_failed, "body.form", "an object");
        in.form_json = form ? json::serialize(*form) : "{}";
        if (b.contains("subject_id")) in.subject_id = required_id(b, "subject_id");
        return instance_response(
            deps.workflow.start(c.principal, audit::actor_of(c.principal, c.client), in), 201);
      },
      {.summary = "Start an approval (the latest active version of the process)",
       .tag = "workflow",
       .request_schema =
           R"({"type":"object","required":["definition_key"],"properties":{"definition_key":{"type":"string"},"form":{"type":"object"},"subject_id":{"type":"string"}}})",
       .response_schema = kInstance,
       .success_status = 201,
       .public_route = false});
  router.add(Method::get, "/api/v1/workflow/instances/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               auto i = deps.workflow.get(c.principal, path_id(req));
               deps.workflow.mark_copies_read(c.principal, i.id);
               return instance_response(i);
             },
             {.summary = "One instance with its tasks, history and attachments",
              .tag = "workflow",
              .response_schema = kInstance,
              .public_route = false});

  struct InstanceAction {
    const char* path;
    const char* summary;
    const char* body;
  };
  auto instance_action = [&](const char* path, const char* summary, const char* body, auto fn) {
    router.add(Method::post, std::string("/api/v1/workflow/instances/{id}/") + path,
               [&deps, fn](Request& req) {
                 Caller c = authenticate(req, deps);
                 const int64_t id = path_id(req);
                 auto b = parse_object(req);
                 return instance_response(fn(deps, c, id, b));
               },
               {.summary = summary,
                .tag = "workflow",
                .request_schema = body,
                .response_schema = kInstance,
                .public_route = false});
  };
  instance_action("withdraw", "Withdraw (撤销) by the initiator, even after a first approval",
                  R"({"type":"object","properties":{"reason":{"type":"string","maxLength":1000}}})",
                  [](Deps& d, Caller& c, int64_t id, const json::object& b) {
                    return d.workflow.withdraw(c.principal, audit::actor_of(c.principal, c.client),
                                               id, comment_of(b, "reason"));
                  });
  instance_action("terminate", "Terminate (administrators holding workflow:instances:terminate)",
                  kReasonBody, [](Deps& d, Caller& c, int64_t id, const json::object& b) {
                    return d.workflow.terminate(c.principal, audit::actor_of(c.principal, c.client),
                                                id, required_string(b, "reason", 1000));
                  });
  instance_action(
      "resubmit", "Resubmit a request sent back to the initiator (optionally with a new form)",
      R"({"type":"object","properties":{"form":{"type":"object"}}})",
      [](Deps& d, Caller& c, int64_t id, const json::object& b) {
        std::optional<std::string> form;
        if (const json::value* f = b.if_contains("form")) {
          if (!f->is_object()) throw Error(ErrorCode::validation_failed, "body.form", "an object");
          form = json::serialize(*f);
        }
        return d.workflow.resubmit(c.principal, audit::actor_of(c.principal, c.client), id, form);
      });
  instance_action(
      "comments", "Comment on an instance (its participants)",
      R"({"type":"object","required":["text"],"properties":{"text":{"type":"string","maxLength":2000}}})",
      [](Deps& d, Caller& c, int64_t id, const json::object& b) {
        return d.workflow.comment(c.principal, audit::actor_of(c.principal, c.client), id,
                                  required_string(b, "text", 2000));
      });

  router.add(Method::post, "/api/v1/workflow/instances/{id}/attachments",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const int64_t id = path_id(req);
               const std::string name = req.query_param("name").value_or("");
               std::string type(req.headers.get("Content-Type"));
               if (type.empty()) type = "application/octet-stream";
               if (type.size() > 100)
                 throw Error(ErrorCode::validation_failed, "header.content-type", "too long");
               auto a = deps.workflow.attach(c.principal, audit::actor_of(c.principal, c.client),
                                             id, name, type, req.body);
               return json_response(201, json::object{{"id", std::to_string(a.id)},
                                                      {"name", a.name},
                                                      {"content_type", a.content_type},
                                                      {"size", a.size},
                                                      {"sha256", a.sha256}});
             },
             {.summary = "Attach a file (the body; ?name= its file name; at most 10 MiB)",
              .tag = "workflow",
              .response_schema = R"({"type":"object"})",
              .success_status = 201,
              .query_params = {"name"},
              .request_content_types = {"application/octet-stream", "application/pdf", "image/png",
                                        "image/jpeg", "text/plain"},
              .public_route = false,
              .upload = true});
  router.add(Method::get, "/api/v1/workflow/instances/{id}/attachments/{attachment_id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               auto [a, bytes] = deps.workflow.attachment(c.principal, path_id(req),
                                                          path_id(req, "attachment_id"));
               Response r;
               r.status = 200;
               r.content_type = a.content_type;
               r.body = std::move(bytes);
               // The uploaded name (UTF-8), with an ASCII fallback keeping its extension.
               const bool ascii = std::all_of(a.name.begin(), a.name.end(),
                                              [](char ch) { return ch >= 0x20 && ch < 0x7f; });
               const auto dot = a.name.rfind('.');
               std::string fallback = "attachment-" + std::to_string(a.id);
               if (dot != std::string::npos && a.name.size() - dot <= 8 &&
                   std::all_of(a.name.begin() + static_cast<std::ptrdiff_t>(dot), a.name.end(),
                               [](char ch) {
                                 return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.';
                               }))
                 fallback += a.name.substr(dot);
               r.headers.set("Content-Disposition", attachment(ascii ? a.name : fallback, a.name));
               r.headers.set("X-Content-Type-Options", "nosniff");
               return r;
             },
             {.summary = "Download an attachment",
              .tag = "workflow",
              .success_content_type = "application/octet-stream",
              .public_route = false});

  // Task actions.
  auto task_action = [&](const char* path, const char* summary, const char* body, auto fn) {
    router.add(Method::post, std::string("/api/v1/workflow/tasks/{id}/") + path,
               [&deps, fn](Request& req) {
                 Caller c = authenticate(req, deps);
                 const int64_t id = path_id(req);
                 auto b = parse_object(req);
                 return instance_response(fn(deps, c, id, b));
               },
               {.summary = summary,
                .tag = "workflow",
                .request_schema = body,
                .response_schema = kInstance,
                .public_route = false});
  };
  const char* user_body =
      R"({"type":"object","required":["user_id"],"properties":{"user_id":{"type":"string"},"comment":{"type":"string","maxLength":1000}}})";
  task_action("approve", "Approve", kCommentBody,
              [](Deps& d, Caller& c, int64_t id, const json::object& b) {
                return d.workflow.approve(c.principal, audit::actor_of(c.principal, c.client), id,
                                          comment_of(b));
              });
  task_action("reject", "Reject with a reason", kReasonBody,
              [](Deps& d, Caller& c, int64_t id, const json::object& b) {
                return d.workflow.reject(c.principal, audit::actor_of(c.principal, c.client), id,
                                         required_string(b, "reason", 1000));
              });
  task_action(
      "return", "Send back (驳回) to the initiator or to an earlier approval step",
      R"({"type":"object","required":["reason"],"properties":{"reason":{"type":"string","maxLength":1000},"target_node":{"type":"string","description":"empty: the initiator"}}})",
      [](Deps& d, Caller& c, int64_t id, const json::object& b) {
        return d.workflow.send_back(c.principal, audit::actor_of(c.principal, c.client), id,
                                    optional_string(b, "target_node", 64).value_or(""),
                                    required_string(b, "reason", 1000));
      });
  task_action("transfer", "Transfer (转办) to someone else who may approve the step", user_body,
              [](Deps& d, Caller& c, int64_t id, const json::object& b) {
                return d.workflow.transfer(c.principal, audit::actor_of(c.principal, c.client), id,
                                           required_id(b, "user_id"), comment_of(b));
              });
  task_action("delegate", "Delegate (委派): the delegate hands the task back with resolve",
              user_body, [](Deps& d, Caller& c, int64_t id, const json::object& b) {
                return d.workflow.delegate(c.principal, audit::actor_of(c.principal, c.client), id,
                                           required_id(b, "user_id"), comment_of(b));
              });
  task_action("resolve", "Hand a delegated task back to whoever delegated it", kCommentBody,
              [](Deps& d, Caller& c, int64_t id, const json::object& b) {
                return d.workflow.resolve(c.principal, audit::actor_of(c.principal, c.client), id,
                                          comment_of(b));
              });
  task_action(
      "add-approver", "Add an approver (加签) before or after oneself",
      R"({"type":"object","required":["user_id","position"],"properties":{"user_id":{"type":"string"},"position":{"type":"string","enum":["before","after"]},"comment":{"type":"string","maxLength":1000}}})",
      [](Deps& d, Caller& c, int64_t id, const json::object& b) {
        const std::string where = required_string(b, "position", 16);
        if (where != "before" && where != "after")
          throw Error(ErrorCode::validation_failed, "body.position", "before or after");
        return d.workflow.add_approver(c.principal, audit::actor_of(c.principal, c.client), id,
                                       required_id(b, "user_id"), where == "before", comment_of(b));
      });
}

}  // namespace custos::api
