#include "platform/workflow/engine.h"

#include <algorithm>
#include <boost/json.hpp>
#include <regex>
#include <set>

#include "platform/crypto/crypto.h"
#include "platform/errors/error.h"
#include "platform/log/log.h"
#include "platform/text/utf8.h"

namespace custos::workflow {
namespace json = boost::json;

namespace {

constexpr int64_t kHourMs = 3'600'000;
constexpr int kMaxSteps = 500;  // nodes passed in one action: a graph that loops is refused
constexpr size_t kMaxAttachment = 10u << 20;

void check_text(const std::string& s, const char* field, size_t max, bool required) {
  if (required && s.empty()) throw Error(ErrorCode::validation_failed, field, "required");
  if (text::utf8_length(s) > max)
    throw Error(ErrorCode::validation_failed, field,
                "at most " + std::to_string(max) + " characters");
}

// ---- rows -------------------------------------------------------------------------------------

constexpr const char* kDefColumns =
    "id, process_key, version, name, form_type, description, graph, allow_self_approval, status, "
    "created_by, created_at";

template <class GraphOf>
Definition def_from(const std::vector<db::Value>& r, GraphOf&& graph_of) {
  Definition d;
  d.id = db::as_int(r[0]);
  d.key = db::as_text(r[1]);
  d.version = static_cast<int>(db::as_int(r[2]));
  d.name = db::as_text(r[3]);
  d.form_type = db::as_text(r[4]);
  d.description = db::as_text(r[5]);
  d.graph = *graph_of(db::as_text(r[6]));
  d.allow_self_approval = db::as_int(r[7]) != 0;
  d.status = db::as_text(r[8]);
  d.created_by = db::as_opt_int(r[9]);
  d.created_at = db::as_int(r[10]);
  return d;
}

struct TaskRow {
  int64_t id = 0, instance_id = 0, run_id = 0, assignee = 0;
  std::string node_id, kind, status;
  int position = 0;
  std::optional<int64_t> parent, due_at;
};

constexpr const char* kTaskRowColumns =
    "id, instance_id, node_run_id, assignee_id, node_id, kind, status, position, parent_task_id, "
    "due_at";

TaskRow task_row(const std::vector<db::Value>& r) {
  TaskRow t;
  t.id = db::as_int(r[0]);
  t.instance_id = db::as_int(r[1]);
  t.run_id = db::as_int(r[2]);
  t.assignee = db::as_int(r[3]);
  t.node_id = db::as_text(r[4]);
  t.kind = db::as_text(r[5]);
  t.status = db::as_text(r[6]);
  t.position = static_cast<int>(db::as_int(r[7]));
  t.parent = db::as_opt_int(r[8]);
  t.due_at = db::as_opt_int(r[9]);
  return t;
}

std::optional<TaskRow> load_task(db::Tx& tx, int64_t org, int64_t id) {
  auto r = tx.one(
      std::string("SELECT ") + kTaskRowColumns + " FROM workflow_tasks WHERE org_id = ? AND id = ?",
      {org, id});
  if (!r) return std::nullopt;
  return task_row(*r);
}

std::vector<TaskRow> run_tasks(db::Tx& tx, int64_t org, int64_t run_id) {
  std::vector<TaskRow> out;
  for (const auto& r : tx.query(std::string("SELECT ") + kTaskRowColumns +
                                    " FROM workflow_tasks WHERE org_id = ? AND node_run_id = ? "
                                    "ORDER BY position, id",
                                {org, run_id})
                           .rows)
    out.push_back(task_row(r));
  return out;
}

void set_task(db::Tx& tx, int64_t org, int64_t id, const std::string& status, int64_t now,
              const std::string& comment = {}) {
  tx.exec(
      "UPDATE workflow_tasks SET status = ?, acted_at = ?, comment = ? WHERE org_id = ? AND id = ?",
      {status, now, comment, org, id});
}

}  // namespace

// ---- the action context -------------------------------------------------------------------------

struct Engine::Ctx {
  Engine& e;
  db::Tx& tx;
  const audit::Actor& actor;
  int64_t org = 0;
  int64_t now = 0;
  int64_t id = 0;  // the instance
  Definition def;
  FormType form;
  std::string form_json, summary, status;
  int64_t initiator = 0;
  std::optional<int64_t> initiator_dept, subject_id, subject_owner;
  std::string subject_type;
  int steps = 0;

  void history(const std::string& action, std::optional<int64_t> task, const std::string& node,
               const std::string& comment, const json::object& data = {}) {
    tx.exec(
        "INSERT INTO workflow_history (org_id, instance_id, task_id, node_id, actor_id, action, "
        "comment, data, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {org, id, db::optional(task), node, db::optional(actor.user_id), action, comment,
         json::serialize(data), now});
  }

  void audit_event(const std::string& action, json::object changes, const std::string& reason) {
    changes["form_type"] = {{"before", nullptr}, {"after", form.key}};
    audit::record(tx, actor,
                  {.action = "workflow." + action,
                   .object_type = "workflow_instance",
                   .object_id = std::to_string(id),
                   .changes = json::serialize(changes),
                   .reason = reason},
                  now);
  }

  void notify(int64_t user, const std::string& kind, std::map<std::string, std::string> params) {
    params["summary"] = summary;
    params["process"] = def.name;
    params["initiator"] = e.directory_.display_name(tx, org, initiator);
    e.notifier_.send(tx, org,
                     {.user_id = user,
                      .kind = kind,
                      .params = std::move(params),
                      .object_type = "workflow_instance",
                      .object_id = std::to_string(id)},
                     now);
  }

  const Node& node(const std::string& node_id) const {
    const Node* n = def.graph.node(node_id);
    if (!n) throw std::runtime_error("workflow: node " + node_id + " is not in the definition");
    return *n;
  }

  // -- approvers ---------------------------------------------------------------------------------

  std::optional<int64_t> field_department(const std::string& field) {
    const std::string v = form_text(form_json, field);
    if (v.empty()) return std::nullopt;
    const int64_t dept = std::stoll(v);
    if (!e.directory_.department_exists(tx, org, dept)) return std::nullopt;
    return dept;
  }

  std::vector<int64_t> apply_rule(const Rule& r) {
    Directory& d = e.directory_;
    auto one = [](std::optional<int64_t> v) {
      return v ? std::vector<int64_t>{*v} : std::vector<int64_t>{};
    };
    switch (r.kind) {
      case RuleKind::user:
        return {r.user_id};
      case RuleKind::role:
        return d.role_holders(tx, org, r.code);
      case RuleKind::post:
        return d.post_holders(tx, org, r.code, std::nullopt);
      case RuleKind::post_in_department: {
        auto dept = d.department_by_code(tx, org, r.department);
        if (!dept) return {};
        return d.post_holders(tx, org, r.code, dept);
      }
      case RuleKind::initiator_head:
        return initiator_dept ? one(d.department_head(tx, org, *initiator_dept))
                              : std::vector<int64_t>{};
      case RuleKind::department_head: {
        auto dept = field_department(r.field);
        return dept ? one(d.department_head(tx, org, *dept)) : std::vector<int64_t>{};
      }
      case RuleKind::superior: {
        std::optional<int64_t> who = initiator;
        if (r.of == "field_head") {
          auto dept = field_department(r.field);
          who = dept ? d.department_head(tx, org, *dept) : std::nullopt;
        }
        for (int i = 0; i < r.level && who; ++i) who = d.superior_of(tx, org, *who);
        return one(who);
      }
      case RuleKind::department_kind:
        return one(d.head_of_kind(tx, org, r.kind_name));
      case RuleKind::record_owner:
        return one(subject_owner);
    }
    return {};
  }

  // May `user` hold a task of `n`? Active, with the node's authority, and not the initiator
  // unless the definition allows self-approval.
  bool eligible(const Node& n, int64_t user) {
    Directory& d = e.directory_;
    if (!d.active_user(tx, org, user)) return false;
    if (user == initiator && !def.allow_self_approval) return false;
    switch (n.authority.kind) {
      case Authority::Kind::none:
        return true;
      case Authority::Kind::post:
        return d.has_approval_post(tx, org, user);
      case Authority::Kind::permission:
        return d.has_permission(tx, org, user, n.authority.permission);
    }
    return false;
  }

  // The node's approvers in rule order, each once, every one eligible. When a rule names the
  // initiator and self-approval is off, the initiator's superior stands in.
  std::vector<int64_t> resolve(const Node& n) {
    std::vector<int64_t> out;
    auto add = [&](int64_t u) {
      if (std::find(out.begin(), out.end(), u) == out.end() && eligible(n, u)) out.push_back(u);
    };
    for (const Rule& r : n.approvers)
      for (int64_t u : apply_rule(r)) {
        if (u == initiator && !def.allow_self_approval) {
          if (auto boss = e.directory_.superior_of(tx, org, initiator)) add(*boss);
          continue;
        }
        add(u);
      }
    if (n.mode == Mode::single && out.size() > 1) out.resize(1);
    return out;
  }

  [[noreturn]] void no_approver(const Node& n) {
    throw Error(ErrorCode::no_approver, "node." + n.id,
                "nobody with the authority step " + n.id + " requires can approve it");
  }

  // -- moving through the graph -------------------------------------------------------------------

  int64_t new_run(const std::string& node_id, const std::string& status) {
    auto r = tx.one(
        "INSERT INTO workflow_node_runs (org_id, instance_id, node_id, status, created_at, "
        "done_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        {org, id, node_id, status, now, status == "done" ? db::Value{now} : db::null()});
    return db::as_int(r->at(0));
  }

  int64_t new_task(int64_t run, const Node& n, int64_t assignee, const std::string& kind,
                   const std::string& status, int position, std::optional<int64_t> parent) {
    std::optional<int64_t> due;
    if (n.time_limit_hours > 0 && status == "pending") due = now + n.time_limit_hours * kHourMs;
    auto r = tx.one(
        "INSERT INTO workflow_tasks (org_id, instance_id, node_run_id, node_id, assignee_id, "
        "kind, status, position, parent_task_id, created_at, due_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?) RETURNING id",
        {org, id, run, n.id, assignee, kind, status, int64_t{position}, db::optional(parent), now,
         db::optional(due)});
    if (status == "pending")
      notify(assignee, "workflow.task", {{"node", n.name.empty() ? n.id : n.name}});
    return db::as_int(r->at(0));
  }

  // A waiting task becomes the one to act on now.
  void wake(const TaskRow& t) {
    const Node& n = node(t.node_id);
    std::optional<int64_t> due;
    if (n.time_limit_hours > 0) due = now + n.time_limit_hours * kHourMs;
    tx.exec("UPDATE workflow_tasks SET status = 'pending', due_at = ? WHERE org_id = ? AND id = ?",
            {db::optional(due), org, t.id});
    notify(t.assignee, "workflow.task", {{"node", n.name.empty() ? n.id : n.name}});
  }

  void activate(const std::string& node_id) {
    if (++steps > kMaxSteps)
      throw Error(ErrorCode::conflict, "definition", "the process loops without waiting");
    const Node& n = node(node_id);
    switch (n.kind) {
      case NodeKind::start:
      case NodeKind::parallel:
        for (const Edge* edge : def.graph.out(n.id)) activate(edge->to);
        return;
      case NodeKind::end:
        finish("approved", "");
        return;
      case NodeKind::condition: {
        const Edge* chosen = nullptr;
        for (const Edge* edge : def.graph.out(n.id))
          if (edge->when && condition_holds(*edge->when, form, form_json)) {
            chosen = edge;
            break;
          }
        if (!chosen)
          for (const Edge* edge : def.graph.out(n.id))
            if (!edge->when) chosen = edge;
        if (!chosen) throw Error(ErrorCode::conflict, "definition", "no branch applies");
        history("branch", std::nullopt, n.id, "", {{"to", chosen->to}});
        activate(chosen->to);
        return;
      }
      case NodeKind::join: {
        auto run = tx.one(
            "SELECT id, arrivals FROM workflow_node_runs WHERE org_id = ? AND instance_id = ? AND "
            "node_id = ? AND status = 'active'",
            {org, id, n.id});
        int64_t run_id = run ? db::as_int(run->at(0)) : new_run(n.id, "active");
        const int64_t arrivals = (run ? db::as_int(run->at(1)) : 0) + 1;
        const bool all_in = arrivals >= static_cast<int64_t>(def.graph.in(n.id).size());
        tx.exec(
            "UPDATE workflow_node_runs SET arrivals = ?, status = ?, done_at = ? WHERE org_id = ? "
            "AND id = ?",
            {arrivals, std::string(all_in ? "done" : "active"),
             all_in ? db::Value{now} : db::null(), org, run_id});
        if (all_in)
          for (const Edge* edge : def.graph.out(n.id)) activate(edge->to);
        return;
      }
      case NodeKind::cc: {
        for (int64_t u : resolve(n)) {
          tx.exec(
              "INSERT INTO workflow_cc (org_id, instance_id, user_id, node_id, created_at) VALUES "
              "(?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
              {org, id, u, n.id, now});
          notify(u, "workflow.cc", {});
        }
        new_run(n.id, "done");
        for (const Edge* edge : def.graph.out(n.id)) activate(edge->to);
        return;
      }
      case NodeKind::approval: {
        const std::vector<int64_t> who = resolve(n);
        if (who.empty()) no_approver(n);
        const int64_t run = new_run(n.id, "active");
        for (size_t i = 0; i < who.size(); ++i) {
          const bool now_due = n.mode != Mode::sequence || i == 0;
          new_task(run, n, who[i], "approval", now_due ? "pending" : "waiting", static_cast<int>(i),
                   std::nullopt);
        }
        history("reach", std::nullopt, n.id, "", {{"approvers", static_cast<int64_t>(who.size())}});
        return;
      }
    }
  }

  void complete_run(int64_t run_id, const std::string& node_id) {
    tx.exec(
        "UPDATE workflow_node_runs SET status = 'done', done_at = ? WHERE org_id = ? AND id = ?",
        {now, org, run_id});
    for (const Edge* edge : def.graph.out(node_id)) activate(edge->to);
  }

  // After `t` approved: what its node does next (the modes, 加签, sequence).
  void progress(const TaskRow& t) {
    auto tasks = run_tasks(tx, org, t.run_id);
    auto open = [](const TaskRow& x) { return x.status == "pending" || x.status == "waiting"; };
    // 加签 before: the parked task comes back.
    if (t.kind == "added" && t.parent) {
      for (const auto& x : tasks)
        if (x.id == *t.parent && x.status == "waiting") return wake(x);
    }
    const Node& n = node(t.node_id);
    // 加签 after: whoever was added after this task acts next.
    std::vector<TaskRow> after;
    for (const auto& x : tasks)
      if (x.kind == "added" && x.parent == t.id && x.status == "waiting") after.push_back(x);
    if (!after.empty()) {
      if (n.mode == Mode::any || n.mode == Mode::single)
        for (const auto& x : tasks)
          if (x.kind == "approval" && open(x) && x.id != t.id)
            set_task(tx, org, x.id, "cancelled", now);
      wake(after.front());
      return;
    }
    // Added approvers still to act hold the node open.
    for (const auto& x : tasks)
      if (x.kind == "added" && open(x) && x.id != t.id) {
        if (x.status == "waiting" &&
            (!x.parent || !std::any_of(tasks.begin(), tasks.end(), [&](const TaskRow& y) {
              return y.id == *x.parent && open(y);
            })))
          wake(x);
        return;
      }
    switch (n.mode) {
      case Mode::all:
        for (const auto& x : tasks)
          if (open(x) && x.id != t.id) return;
        return complete_run(t.run_id, n.id);
      case Mode::sequence:
        for (const auto& x : tasks)
          if (x.status == "waiting" && x.kind == "approval") return wake(x);
        for (const auto& x : tasks)
          if (x.status == "pending" && x.id != t.id) return;
        return complete_run(t.run_id, n.id);
      case Mode::any:
      case Mode::single:
        for (const auto& x : tasks)
          if (open(x) && x.id != t.id) set_task(tx, org, x.id, "cancelled", now);
        return complete_run(t.run_id, n.id);
    }
  }

  // Every open task and node run of the instance is cancelled.
  void cancel_open() {
    tx.exec(
        "UPDATE workflow_tasks SET status = 'cancelled', acted_at = ? WHERE org_id = ? AND "
        "instance_id = ? AND status IN ('pending', 'waiting')",
        {now, org, id});
    tx.exec(
        "UPDATE workflow_node_runs SET status = 'cancelled', done_at = ? WHERE org_id = ? AND "
        "instance_id = ? AND status = 'active'",
        {now, org, id});
  }

  // The instance ends: status, the form type's callback (same transaction), the initiator told.
  void finish(const std::string& outcome, const std::string& reason) {
    cancel_open();
    status = outcome;
    tx.exec(
        "UPDATE workflow_instances SET status = ?, completed_at = ?, updated_at = ? WHERE org_id = "
        "? AND id = ?",
        {outcome, now, now, org, id});
    history(outcome == "approved" ? "complete" : outcome, std::nullopt, "", reason);
    if (form.on_end)
      form.on_end(tx,
                  {org, id, form.key, form_json, subject_type, subject_id, initiator, outcome,
                   actor.user_id},
                  now);
    if (outcome != "withdrawn" || actor.user_id != initiator)
      notify(initiator, "workflow." + outcome, {{"reason", reason}});
  }
};

// ---- form types -------------------------------------------------------------------------------

std::shared_ptr<const Graph> Engine::graph_of(const std::string& json) const {
  {
    std::lock_guard lock(graphs_mu_);
    if (auto it = graphs_.find(json); it != graphs_.end()) return it->second;
  }
  auto g = std::make_shared<const Graph>(parse_graph(json));
  std::lock_guard lock(graphs_mu_);
  if (graphs_.size() >= 1000) graphs_.clear();  // bounded; refills on demand
  graphs_.emplace(json, g);
  return g;
}

Engine::Engine(db::Db& db, const Clock& clock, Directory& directory,
               const notify::Notifier& notifier)
    : db_(db), clock_(clock), directory_(directory), notifier_(notifier) {}

void Engine::register_form_type(FormType type) {
  static const std::regex key_re("[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*");
  if (!std::regex_match(type.key, key_re))
    throw std::invalid_argument("workflow form type key " + type.key + ": module.form expected");
  std::lock_guard lock(mu_);
  if (forms_.count(type.key))
    throw std::invalid_argument("workflow form type " + type.key + " registered twice");
  forms_.emplace(type.key, std::move(type));
}

std::vector<FormType> Engine::form_types() const {
  std::lock_guard lock(mu_);
  std::vector<FormType> out;
  for (const auto& [k, f] : forms_) out.push_back(f);
  return out;
}

std::optional<FormType> Engine::form_type(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = forms_.find(key);
  if (it == forms_.end()) return std::nullopt;
  return it->second;
}

// ---- definitions ------------------------------------------------------------------------------

void Engine::check_rules_exist(db::Tx& tx, int64_t org, const Graph& g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    for (size_t j = 0; j < n.approvers.size(); ++j) {
      const Rule& r = n.approvers[j];
      const std::string at =
          "body.graph.nodes[" + std::to_string(i) + "].approvers[" + std::to_string(j) + "]";
      switch (r.kind) {
        case RuleKind::user:
          if (!directory_.active_user(tx, org, r.user_id))
            throw Error(ErrorCode::validation_failed, at + ".user_id", "no such active user");
          break;
        case RuleKind::role:
          if (!directory_.role_exists(tx, org, r.code))
            throw Error(ErrorCode::validation_failed, at + ".code", "no such role");
          break;
        case RuleKind::post:
          if (!directory_.post_exists(tx, org, r.code))
            throw Error(ErrorCode::validation_failed, at + ".code", "no such post");
          break;
        case RuleKind::post_in_department:
          if (!directory_.post_exists(tx, org, r.code))
            throw Error(ErrorCode::validation_failed, at + ".code", "no such post");
          if (!directory_.department_by_code(tx, org, r.department))
            throw Error(ErrorCode::validation_failed, at + ".department", "no such department");
          break;
        case RuleKind::department_kind:
          if (!directory_.head_of_kind(tx, org, r.kind_name))
            throw Error(ErrorCode::validation_failed, at + ".kind",
                        "no department of this kind has a head");
          break;
        case RuleKind::initiator_head:
        case RuleKind::department_head:
        case RuleKind::superior:
        case RuleKind::record_owner:
          break;  // resolved when the node is reached
      }
    }
  }
}

Definition Engine::load_definition(db::Tx& tx, int64_t org, int64_t id) {
  auto r = tx.one(std::string("SELECT ") + kDefColumns +
                      " FROM workflow_definitions WHERE org_id = ? AND id = ?",
                  {org, id});
  if (!r) throw Error(ErrorCode::not_found, "path.id");
  Definition d = def_from(*r, [this](const std::string& g) { return graph_of(g); });
  auto latest =
      tx.one("SELECT MAX(version) FROM workflow_definitions WHERE org_id = ? AND process_key = ?",
             {org, d.key});
  d.latest = db::as_int(latest->at(0)) == d.version;
  return d;
}

namespace {

bool definition_key_valid(const std::string& key) {
  static const std::regex key_re("[a-z][a-z0-9_.]{1,63}");
  return std::regex_match(key, key_re);
}

// A version number as the definitions' cursor carries it.
std::optional<int64_t> version_of(const std::string& s) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoll(s);
}

}  // namespace

Definition Engine::save_definition(const authz::Principal& p, const audit::Actor& actor,
                                   const DefinitionInput& in) {
  if (!authz::may(p, perm::definitions_write)) throw Error(ErrorCode::forbidden);
  if (!definition_key_valid(in.key))
    throw Error(ErrorCode::validation_failed, "body.key",
                "2-64 of lower-case letters, digits, '_' or '.'");
  check_text(in.name, "body.name", 100, true);
  check_text(in.description, "body.description", 1000, false);
  auto form = form_type(in.form_type);
  if (!form) throw Error(ErrorCode::validation_failed, "body.form_type", "no such form type");
  Graph g = parse_graph(in.graph_json);
  check_graph(g, *form);
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    check_rules_exist(tx, p.org_id, g);
    auto prev = tx.one(
        "SELECT MAX(version), MIN(form_type) FROM workflow_definitions WHERE org_id = ? AND "
        "process_key = ?",
        {p.org_id, in.key});
    const int version =
        prev && !db::is_null(prev->at(0)) ? static_cast<int>(db::as_int(prev->at(0))) + 1 : 1;
    if (version > 1 && db::as_text(prev->at(1)) != in.form_type)
      throw Error(ErrorCode::validation_failed, "body.form_type",
                  "a new version keeps the form type of the process");
    auto r = tx.one(
        "INSERT INTO workflow_definitions (org_id, process_key, version, name, form_type, "
        "description, graph, allow_self_approval, status, created_by, created_at) VALUES (?, ?, "
        "?, ?, ?, ?, ?, ?, 'active', ?, ?) RETURNING id",
        {p.org_id, in.key, int64_t{version}, in.name, in.form_type, in.description, graph_json(g),
         int64_t{in.allow_self_approval}, p.user_id, now});
    const int64_t id = db::as_int(r->at(0));
    audit::record(
        tx, actor,
        {.action = version == 1 ? "workflow.definition.create" : "workflow.definition.version",
         .object_type = "workflow_definition",
         .object_id = std::to_string(id),
         .changes = json::serialize(
             json::object{{"key", {{"before", nullptr}, {"after", in.key}}},
                          {"version",
                           {{"before", version > 1 ? json::value(version - 1) : nullptr},
                            {"after", version}}}})},
        now);
    return load_definition(tx, p.org_id, id);
  });
}

Definition Engine::get_definition(const authz::Principal& p, int64_t id) {
  return db_.read([&](db::Tx& tx) { return load_definition(tx, p.org_id, id); });
}

Page<Definition> Engine::list_definitions(const authz::Principal& p, const DefinitionQuery& q) {
  return db_.read([&](db::Tx& tx) {
    std::string where = " FROM workflow_definitions d WHERE d.org_id = ?";
    std::vector<db::Value> params{p.org_id};
    std::string order;
    if (q.key.empty()) {
      where +=
          " AND d.version = (SELECT MAX(version) FROM workflow_definitions m WHERE m.org_id = "
          "d.org_id AND m.process_key = d.process_key)";
      order = "d.process_key";
    } else {
      where += " AND d.process_key = ?";
      params.emplace_back(q.key);
      order = "d.version";
    }
    Page<Definition> page;
    // The total and, of `key`'s versions, the latest one, before the cursor narrows the rows.
    const auto counted =
        tx.query("SELECT COUNT(*), MAX(d.version)" + where, std::span<const db::Value>(params))
            .rows.at(0);
    page.total = db::as_int(counted.at(0));
    const int64_t newest = db::as_opt_int(counted.at(1)).value_or(0);
    if (!q.after.empty()) {
      // The cursor is the last key (or version) of the previous page.
      const auto version = version_of(q.after);
      if (q.key.empty() ? !definition_key_valid(q.after) : !version)
        throw Error(ErrorCode::validation_failed, "query.cursor", "a cursor from next_cursor");
      where += " AND " + order + " > ?";
      params.emplace_back(q.key.empty() ? db::Value{q.after} : db::Value{*version});
    }
    params.emplace_back(int64_t{q.limit + 1});
    auto rows =
        tx.query(std::string("SELECT ") + kDefColumns + where + " ORDER BY " + order + " LIMIT ?",
                 std::span<const db::Value>(params))
            .rows;
    for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(q.limit); ++i) {
      Definition d = def_from(rows[i], [this](const std::string& g) { return graph_of(g); });
      d.latest = q.key.empty() || d.version == newest;
      page.items.push_back(std::move(d));
    }
    if (rows.size() > static_cast<size_t>(q.limit) && !page.items.empty())
      page.next_cursor =
          q.key.empty() ? page.items.back().key : std::to_string(page.items.back().version);
    return page;
  });
}

Definition Engine::retire_definition(const authz::Principal& p, const audit::Actor& actor,
                                     int64_t id) {
  if (!authz::may(p, perm::definitions_write)) throw Error(ErrorCode::forbidden);
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    Definition d = load_definition(tx, p.org_id, id);
    tx.exec(
        "UPDATE workflow_definitions SET status = 'retired' WHERE org_id = ? AND process_key = ?",
        {p.org_id, d.key});
    audit::record(tx, actor,
                  {.action = "workflow.definition.retire",
                   .object_type = "workflow_definition",
                   .object_id = std::to_string(id)},
                  now);
    return load_definition(tx, p.org_id, id);
  });
}

// ---- instances ----------------------------------------------------------------------------------

namespace {

constexpr const char* kInstanceColumns =
    "i.id, i.definition_id, d.process_key, d.version, d.name, i.form_type, i.form, i.summary, "
    "COALESCE(i.subject_type, ''), i.subject_id, i.subject_owner_id, i.initiator_id, u.name, "
    "i.initiator_department_id, i.status, i.created_at, i.updated_at, i.completed_at, i.version, "
    "COALESCE(idp.name, '')";
constexpr const char* kInstanceFrom =
    " FROM workflow_instances i JOIN workflow_definitions d ON d.id = i.definition_id JOIN users "
    "u ON u.id = i.initiator_id LEFT JOIN departments idp ON idp.id = i.initiator_department_id";

Instance instance_from(const std::vector<db::Value>& r) {
  Instance i;
  i.id = db::as_int(r[0]);
  i.definition_id = db::as_int(r[1]);
  i.definition_key = db::as_text(r[2]);
  i.definition_version = static_cast<int>(db::as_int(r[3]));
  i.process_name = db::as_text(r[4]);
  i.form_type = db::as_text(r[5]);
  i.form_json = db::as_text(r[6]);
  i.summary = db::as_text(r[7]);
  i.subject_type = db::as_text(r[8]);
  i.subject_id = db::as_opt_int(r[9]);
  i.subject_owner_id = db::as_opt_int(r[10]);
  i.initiator_id = db::as_int(r[11]);
  i.initiator_name = db::as_text(r[12]);
  i.initiator_department_id = db::as_opt_int(r[13]);
  i.initiator_department_name = db::as_text(r[19]);
  i.status = db::as_text(r[14]);
  i.created_at = db::as_int(r[15]);
  i.updated_at = db::as_int(r[16]);
  i.completed_at = db::as_opt_int(r[17]);
  i.version = db::as_int(r[18]);
  return i;
}

constexpr const char* kTaskColumns =
    "t.id, t.instance_id, t.node_id, t.assignee_id, a.name, t.kind, t.status, t.position, "
    "t.parent_task_id, t.created_at, t.due_at, t.acted_at, t.comment, i.summary, i.form_type, "
    "d.name, i.status, i.initiator_id, iu.name, d.graph";
constexpr const char* kTaskFrom =
    " FROM workflow_tasks t JOIN users a ON a.id = t.assignee_id JOIN workflow_instances i ON "
    "i.id = t.instance_id JOIN workflow_definitions d ON d.id = i.definition_id JOIN users iu ON "
    "iu.id = i.initiator_id";

template <class GraphOf>
Task task_from(const std::vector<db::Value>& r, GraphOf&& graph_of) {
  Task t;
  t.id = db::as_int(r[0]);
  t.instance_id = db::as_int(r[1]);
  t.node_id = db::as_text(r[2]);
  t.assignee_id = db::as_int(r[3]);
  t.assignee_name = db::as_text(r[4]);
  t.kind = db::as_text(r[5]);
  t.status = db::as_text(r[6]);
  t.position = static_cast<int>(db::as_int(r[7]));
  t.parent_task_id = db::as_opt_int(r[8]);
  t.created_at = db::as_int(r[9]);
  t.due_at = db::as_opt_int(r[10]);
  t.acted_at = db::as_opt_int(r[11]);
  t.comment = db::as_text(r[12]);
  t.summary = db::as_text(r[13]);
  t.form_type = db::as_text(r[14]);
  t.process_name = db::as_text(r[15]);
  t.instance_status = db::as_text(r[16]);
  t.initiator_id = db::as_int(r[17]);
  t.initiator_name = db::as_text(r[18]);
  // The node's name from the definition the instance runs.
  t.node_name = t.node_id;
  try {
    if (const Node* n = graph_of(db::as_text(r[19]))->node(t.node_id); n && !n->name.empty())
      t.node_name = n->name;
  } catch (const Error&) {
  }
  return t;
}

}  // namespace

Instance Engine::load(db::Tx& tx, int64_t org, int64_t id, bool details) {
  auto r = tx.one(std::string("SELECT ") + kInstanceColumns + kInstanceFrom +
                      " WHERE i.org_id = ? AND i.id = ?",
                  {org, id});
  if (!r) throw Error(ErrorCode::not_found, "path.id");
  Instance i = instance_from(*r);
  if (!details) return i;
  for (const auto& t : tx.query(std::string("SELECT ") + kTaskColumns + kTaskFrom +
                                    " WHERE t.org_id = ? AND t.instance_id = ? ORDER BY t.id",
                                {org, id})
                           .rows)
    i.tasks.push_back(task_from(t, [this](const std::string& g) { return graph_of(g); }));
  for (const auto& h :
       tx.query("SELECT h.id, h.task_id, h.node_id, h.actor_id, COALESCE(u.name, ''), "
                "h.action, h.comment, h.data, h.at FROM workflow_history h LEFT JOIN "
                "users u ON u.id = h.actor_id WHERE h.org_id = ? AND h.instance_id = ? "
                "ORDER BY h.id",
                {org, id})
           .rows)
    i.history.push_back({db::as_int(h[0]), db::as_opt_int(h[1]), db::as_text(h[2]),
                         db::as_opt_int(h[3]), db::as_text(h[4]), db::as_text(h[5]),
                         db::as_text(h[6]), db::as_text(h[7]), db::as_int(h[8])});
  for (const auto& a :
       tx.query("SELECT id, name, content_type, sha256, size, uploaded_by, at FROM "
                "workflow_attachments WHERE org_id = ? AND instance_id = ? ORDER BY id",
                {org, id})
           .rows)
    i.attachments.push_back({db::as_int(a[0]), db::as_text(a[1]), db::as_text(a[2]),
                             db::as_text(a[3]), db::as_int(a[4]), db::as_opt_int(a[5]),
                             db::as_int(a[6])});
  for (const auto& c : tx.query("SELECT DISTINCT user_id FROM workflow_cc WHERE org_id = ? AND "
                                "instance_id = ? ORDER BY user_id",
                                {org, id})
                           .rows)
    i.cc.push_back(db::as_int(c[0]));
  if (auto type = form_type(i.form_type))
    for (const Field& f : type->fields) {
      if (f.type != FieldType::user && f.type != FieldType::department) continue;
      const std::string v = form_text(i.form_json, f.name);
      if (v.empty()) continue;
      auto n = tx.one(f.type == FieldType::user
                          ? "SELECT name FROM users WHERE org_id = ? AND id = ?"
                          : "SELECT name FROM departments WHERE org_id = ? AND id = ?",
                      {org, static_cast<int64_t>(std::stoll(v))});
      if (n) i.form_names[f.name] = db::as_text(n->at(0));
    }
  return i;
}

bool Engine::may_see(db::Tx& tx, const authz::Principal& p, const Instance& i) {
  if (i.initiator_id == p.user_id) return true;
  if (tx.one(
          "SELECT 1 FROM workflow_tasks WHERE org_id = ? AND instance_id = ? AND assignee_id = ?",
          {p.org_id, i.id, p.user_id}))
    return true;
  if (tx.one("SELECT 1 FROM workflow_cc WHERE org_id = ? AND instance_id = ? AND user_id = ?",
             {p.org_id, i.id, p.user_id}))
    return true;
  authz::Resource r;
  r.department_id = i.initiator_department_id;
  if (i.initiator_department_id)
    if (auto d = tx.one("SELECT path FROM departments WHERE org_id = ? AND id = ?",
                        {p.org_id, *i.initiator_department_id}))
      r.department_path = db::as_text(d->at(0));
  r.owner_user_id = i.initiator_id;
  return authz::may(p, perm::instances_read, r);
}

int64_t Engine::start_in(db::Tx& tx, const audit::Actor& actor, int64_t initiator,
                         const StartInput& in, int64_t now) {
  auto def_row = tx.one(std::string("SELECT ") + kDefColumns +
                            " FROM workflow_definitions WHERE org_id = ? AND process_key = ? AND "
                            "status = 'active' ORDER BY version DESC LIMIT 1",
                        {actor.org_id, in.definition_key});
  if (!def_row) throw Error(ErrorCode::validation_failed, "body.definition_key", "no such process");
  Ctx c{*this, tx, actor};
  c.org = actor.org_id;
  c.now = now;
  c.def = def_from(*def_row, [this](const std::string& g) { return graph_of(g); });
  auto form = form_type(c.def.form_type);
  if (!form) throw Error(ErrorCode::conflict, "body.definition_key", "its form type is gone");
  c.form = *form;
  c.form_json = check_form(c.form, in.form_json);
  // Ids in user and department fields must name records of this organisation.
  for (const Field& f : c.form.fields) {
    const std::string v = form_text(c.form_json, f.name);
    if (v.empty()) continue;
    if (f.type == FieldType::department && !directory_.department_exists(tx, c.org, std::stoll(v)))
      throw Error(ErrorCode::validation_failed, "body.form." + f.name, "no such department");
    if (f.type == FieldType::user && !directory_.active_user(tx, c.org, std::stoll(v)))
      throw Error(ErrorCode::validation_failed, "body.form." + f.name, "no such user");
  }
  if (!c.form.subject_type.empty() && in.subject_id) c.subject_type = c.form.subject_type;
  c.subject_id = in.subject_id;
  c.subject_owner = in.subject_owner_id;
  c.initiator = initiator;
  c.initiator_dept = directory_.department_of(tx, c.org, initiator);
  c.summary = render_summary(c.form, c.form_json);
  c.status = "running";
  auto r = tx.one(
      "INSERT INTO workflow_instances (org_id, definition_id, form_type, form, summary, "
      "subject_type, subject_id, subject_owner_id, initiator_id, initiator_department_id, status, "
      "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?) RETURNING id",
      {c.org, c.def.id, c.form.key, c.form_json, c.summary,
       c.subject_type.empty() ? db::null() : db::Value{c.subject_type}, db::optional(c.subject_id),
       db::optional(c.subject_owner), initiator, db::optional(c.initiator_dept), now, now});
  c.id = db::as_int(r->at(0));
  c.history("start", std::nullopt, c.def.graph.start().id, "", {{"version", c.def.version}});
  c.audit_event(
      "instance.start",
      {{"definition",
        {{"before", nullptr}, {"after", c.def.key + " v" + std::to_string(c.def.version)}}},
       {"summary", {{"before", nullptr}, {"after", c.summary}}}},
      "");
  c.activate(c.def.graph.start().id);
  return c.id;
}

Instance Engine::start(const authz::Principal& p, const audit::Actor& actor, const StartInput& in) {
  const int64_t now = clock_.now_ms();
  const int64_t id = db_.write([&](db::Tx& tx) {
    auto def = tx.one(
        "SELECT form_type FROM workflow_definitions WHERE org_id = ? AND process_key = ? AND "
        "status = 'active' ORDER BY version DESC LIMIT 1",
        {p.org_id, in.definition_key});
    if (!def) throw Error(ErrorCode::validation_failed, "body.definition_key", "no such process");
    auto form = form_type(db::as_text(def->at(0)));
    if (form && !form->start_permission.empty() && !authz::may(p, form->start_permission))
      throw Error(ErrorCode::forbidden);
    if (form && form->on_start) {
      StartInput checked = in;
      checked.subject_owner_id =
          form->on_start(tx, p, in.subject_id, check_form(*form, in.form_json));
      return start_in(tx, actor, p.user_id, checked, now);
    }
    return start_in(tx, actor, p.user_id, in, now);
  });
  return db_.read([&](db::Tx& tx) { return load(tx, p.org_id, id, true); });
}

Instance Engine::get(const authz::Principal& p, int64_t id) {
  return db_.read([&](db::Tx& tx) {
    Instance i = load(tx, p.org_id, id, true);
    if (!may_see(tx, p, i)) throw Error(ErrorCode::not_found, "path.id");
    return i;
  });
}

Page<Instance> Engine::list(const authz::Principal& p, const ListQuery& q) {
  authz::Filter f = authz::visible(p, perm::instances_read,
                                   {.department_id = "i.initiator_department_id",
                                    .department_path = "idp.path",
                                    .owner_user_id = "i.initiator_id"});
  return db_.read([&](db::Tx& tx) {
    std::string where =
        " WHERE i.org_id = ? AND (i.initiator_id = ? OR EXISTS (SELECT 1 FROM workflow_tasks t "
        "WHERE t.org_id = i.org_id AND t.instance_id = i.id AND t.assignee_id = ?) OR EXISTS "
        "(SELECT 1 FROM workflow_cc c WHERE c.org_id = i.org_id AND c.instance_id = i.id AND "
        "c.user_id = ?) OR " +
        f.sql + ")";
    std::vector<db::Value> params{p.org_id, p.user_id, p.user_id, p.user_id};
    params.insert(params.end(), f.params.begin(), f.params.end());
    if (!q.status.empty()) {
      where += " AND i.status = ?";
      params.emplace_back(q.status);
    }
    if (!q.form_type.empty()) {
      where += " AND i.form_type = ?";
      params.emplace_back(q.form_type);
    }
    if (q.initiator_id) {
      where += " AND i.initiator_id = ?";
      params.emplace_back(*q.initiator_id);
    }
    if (q.subject_id) {
      where += " AND i.subject_type = ? AND i.subject_id = ?";
      params.emplace_back(q.subject_type);
      params.emplace_back(*q.subject_id);
    }
    if (!q.q.empty()) {
      where += " AND (i.summary LIKE ? ESCAPE '\\' OR d.name LIKE ? ESCAPE '\\')";
      const std::string pattern = db::like_contains(q.q);
      params.emplace_back(pattern);
      params.emplace_back(pattern);
    }
    // kInstanceFrom joins the initiator's department (idp) already: its path serves the scope.
    const std::string from = kInstanceFrom;
    Page<Instance> page;
    page.total =
        db::as_int(tx.query("SELECT COUNT(*)" + from + where, std::span<const db::Value>(params))
                       .rows.at(0)
                       .at(0));
    // Ids grow with creation: the keyset runs over them either way.
    if (q.after_id) {
      where += q.oldest_first ? " AND i.id > ?" : " AND i.id < ?";
      params.emplace_back(*q.after_id);
    }
    params.emplace_back(int64_t{q.limit + 1});
    auto rows =
        tx.query(std::string("SELECT ") + kInstanceColumns + from + where +
                     (q.oldest_first ? " ORDER BY i.id LIMIT ?" : " ORDER BY i.id DESC LIMIT ?"),
                 std::span<const db::Value>(params))
            .rows;
    for (size_t k = 0; k < rows.size() && k < static_cast<size_t>(q.limit); ++k)
      page.items.push_back(instance_from(rows[k]));
    if (rows.size() > static_cast<size_t>(q.limit) && !page.items.empty())
      page.next_cursor = std::to_string(page.items.back().id);
    return page;
  });
}

// ---- acting -----------------------------------------------------------------------------------

namespace {

// Takes the instance's row lock (PostgreSQL: held to commit, so actions on one instance queue;
// SQLite has one writer anyway) and returns its status.
std::string lock_instance(db::Tx& tx, int64_t org, int64_t id, int64_t now) {
  auto r = tx.one(
      "UPDATE workflow_instances SET version = version + 1, updated_at = ? WHERE org_id = ? AND "
      "id = ? RETURNING status",
      {now, org, id});
  if (!r) throw Error(ErrorCode::not_found, "path.id");
  return db::as_text(r->at(0));
}

}  // namespace

template <class F>
Instance Engine::act_on_instance(const authz::Principal& p, const audit::Actor& actor, int64_t id,
                                 F&& fn) {
  const int64_t now = clock_.now_ms();
  db_.write([&](db::Tx& tx) {
    lock_instance(tx, p.org_id, id, now);
    Instance before = load(tx, p.org_id, id, false);
    if (!may_see(tx, p, before)) throw Error(ErrorCode::not_found, "path.id");
    Ctx c{*this, tx, actor};
    c.org = p.org_id;
    c.now = now;
    c.id = id;
    c.def = load_definition(tx, p.org_id, before.definition_id);
    auto form = form_type(before.form_type);
    if (!form) throw Error(ErrorCode::conflict, "path.id", "its form type is gone");
    c.form = *form;
    c.form_json = before.form_json;
    c.summary = before.summary;
    c.status = before.status;
    c.initiator = before.initiator_id;
    c.initiator_dept = before.initiator_department_id;
    c.subject_type = before.subject_type;
    c.subject_id = before.subject_id;
    c.subject_owner = before.subject_owner_id;
    fn(c, before);
  });
  // The result is read after the commit, outside the single writer's lock.
  return db_.read([&](db::Tx& tx) { return load(tx, p.org_id, id, true); });
}

template <class F>
Instance Engine::act_on_task(const authz::Principal& p, const audit::Actor& actor, int64_t task_id,
                             const char* action, F&& fn) {
  const auto instance = db_.read([&](db::Tx& tx) { return load_task(tx, p.org_id, task_id); });
  if (!instance) throw Error(ErrorCode::not_found, "path.id");
  return act_on_instance(p, actor, instance->instance_id, [&](Ctx& c, const Instance&) {
    // Read again under the lock: another action may have decided it meanwhile.
    TaskRow t = *load_task(c.tx, c.org, task_id);
    if (t.assignee != p.user_id) throw Error(ErrorCode::forbidden, "path.id", "not your task");
    if (c.status != "running")
      throw Error(ErrorCode::conflict, "path.id", "the process is " + c.status);
    if (t.status != "pending")
      throw Error(ErrorCode::conflict, "path.id", "this task is already " + t.status);
    fn(c, t);
    (void)action;
  });
}

Instance Engine::approve(const authz::Principal& p, const audit::Actor& actor, int64_t task_id,
                         const std::string& comment) {
  check_text(comment, "body.comment", 1000, false);
  return act_on_task(p, actor, task_id, "approve", [&](Ctx& c, const TaskRow& t) {
    if (t.kind == "delegate")
      throw Error(ErrorCode::conflict, "path.id", "a delegated task is handed back with resolve");
    set_task(c.tx, c.org, t.id, "approved", c.now, comment);
    c.history("approve", t.id, t.node_id, comment);
    c.audit_event("task.approve",
                  {{"task", {{"before", nullptr}, {"after", t.id}}},
                   {"node", {{"before", nullptr}, {"after", t.node_id}}}},
                  comment);
    c.progress(t);
  });
}

Instance Engine::reject(const authz::Principal& p, const audit::Actor& actor, int64_t task_id,
                        const std::string& reason) {
  check_text(reason, "body.reason", 1000, true);
  return act_on_task(p, actor, task_id, "reject", [&](Ctx& c, const TaskRow& t) {
    if (t.kind == "delegate")
      throw Error(ErrorCode::conflict, "path.id", "a delegated task is handed back with resolve");
    set_task(c.tx, c.org, t.id, "rejected", c.now, reason);
    c.history("reject", t.id, t.node_id, reason);
    c.audit_event("task.reject",
                  {{"task", {{"before", nullptr}, {"after", t.id}}},
                   {"node", {{"before", nullptr}, {"after", t.node_id}}}},
                  reason);
    c.tx.exec(
        "UPDATE workflow_node_runs SET status = 'rejected', done_at = ? WHERE org_id = ? AND id = "
        "?",
        {c.now, c.org, t.run_id});
    c.finish("rejected", reason);
  });
}

Instance Engine::send_back(const authz::Principal& p, const audit::Actor& actor, int64_t task_id,
                           const std::string& target, const std::string& reason) {
  check_text(reason, "body.reason", 1000, true);
  return act_on_task(p, actor, task_id, "return", [&](Ctx& c, const TaskRow& t) {
    if (t.kind == "delegate")
      throw Error(ErrorCode::conflict, "path.id", "a delegated task is handed back with resolve");
    if (!target.empty()) {
      const Node* n = c.def.graph.node(target);
      if (!n || n->kind != NodeKind::approval || target == t.node_id ||
          !c.tx.one("SELECT 1 FROM workflow_node_runs WHERE org_id = ? AND instance_id = ? AND "
                    "node_id = ? AND status = 'done'",
                    {c.org, c.id, target}))
        throw Error(ErrorCode::validation_failed, "body.target_node",
                    "an approval step this process has passed");
    }
    set_task(c.tx, c.org, t.id, "returned", c.now, reason);
    c.history("return", t.id, t.node_id, reason, {{"to", target.empty() ? "initiator" : target}});
    c.audit_event("task.return",
                  {{"task", {{"before", nullptr}, {"after", t.id}}},
                   {"to", {{"before", nullptr}, {"after", target.empty() ? "initiator" : target}}}},
                  reason);
    c.cancel_open();
    if (target.empty()) {
      c.status = "returned";
      c.tx.exec("UPDATE workflow_instances SET status = 'returned' WHERE org_id = ? AND id = ?",
                {c.org, c.id});
      c.notify(c.initiator, "workflow.returned", {{"reason", reason}});
    } else {
      c.activate(target);
    }
  });
}

Instance Engine::transfer(const authz::Principal& p, const audit::Actor& actor, int64_t task_id,
                          int64_t to_user, const std::string& comment) {
  check_text(comment, "body.comment", 1000, false);
  return act_on_task(p, actor, task_id, "transfer", [&](Ctx& c, const TaskRow& t) {
    const Node& n = c.node(t.node_id);
    if (to_user == t.assignee || !c.eligible(n, to_user))
      throw Error(ErrorCode::validation_failed, "body.user_id",
                  "someone else who may approve this step");
    for (const auto& x : run_tasks(c.tx, c.org, t.run_id))
      if (x.assignee == to_user && (x.status == "pending" || x.status == "waiting"))
        throw Error(ErrorCode::conflict, "body.user_id", "already an approver of this step");
    set_task(c.tx, c.org, t.id, "transferred", c.now, comment);
    const int64_t next = c.new_task(t.run_id, n, to_user, t.kind, "pending", t.position, t.parent);
    c.history("transfer", t.id, t.node_id, comment, {{"to", to_user}, {"task", next}});
    c.audit_event("task.transfer",
                  {{"task", {{"before", t.id}, {"after", next}}},
                   {"assignee", {{"before", t.assignee}, {"after", to_user}}}},
                  comment);
  });
}

Instance Engine::delegate(const authz::Principal& p, const audit::Actor& actor, int64_t task_id,
                          int64_t to_user, const std::string& comment) {
  check_text(comment, "body.comment", 1000, false);
  return act_on_task(p, actor, task_id, "delegate", [&](Ctx& c, const TaskRow& t) {
    if (t.kind == "delegate")
      throw Error(ErrorCode::conflict, "path.id", "a delegated task cannot be delegated again");
    if (to_user == t.assignee || !directory_.active_user(c.tx, c.org, to_user))
      throw Error(ErrorCode::validation_failed, "body.user_id", "another active user");
    const Node& n = c.node(t.node_id);
    set_task(c.tx, c.org, t.id, "delegated", c.now, comment);
    const int64_t next = c.new_task(t.run_id, n, to_user, "delegate", "pending", t.position, t.id);
    c.notify(to_user, "workflow.delegated",
             {{"from", directory_.display_name(c.tx, c.org, t.assignee)}});
    c.history("delegate", t.id, t.node_id, comment, {{"to", to_user}, {"task", next}});
    c.audit_event("task.delegate",
                  {{"task", {{"before", t.id}, {"after", next}}},
                   {"delegate", {{"before", nullptr}, {"after", to_user}}}},
                  comment);
  });
}

Instance Engine::resolve(const authz::Principal& p, const audit::Actor& actor, int64_t task_id,
                         const std::string& comment) {
  check_text(comment, "body.comment", 1000, false);
  return act_on_task(p, actor, task_id, "resolve", [&](Ctx& c, const TaskRow& t) {
    if (t.kind != "delegate" || !t.parent)
      throw Error(ErrorCode::conflict, "path.id", "only a delegated task is handed back");
    set_task(c.tx, c.org, t.id, "resolved", c.now, comment);
    auto parent = load_task(c.tx, c.org, *t.parent);
    c.tx.exec("UPDATE workflow_tasks SET status = 'pending' WHERE org_id = ? AND id = ?",
              {c.org, parent->id});
    c.notify(parent->assignee, "workflow.task", {{"node", c.node(t.node_id).name}});
    c.history("resolve", t.id, t.node_id, comment, {{"back_to", parent->assignee}});
    c.audit_event("task.resolve", {{"task", {{"before", t.id}, {"after", parent->id}}}}, comment);
  });
}

Instance Engine::add_approver(const authz::Principal& p, const audit::Actor& actor, int64_t task_id,
                              int64_t user, bool before, const std::string& comment) {
  check_text(comment, "body.comment", 1000, false);
  return act_on_task(p, actor, task_id, "add_approver", [&](Ctx& c, const TaskRow& t) {
    if (t.kind == "delegate")
      throw Error(ErrorCode::conflict, "path.id", "a delegated task is handed back with resolve");
    const Node& n = c.node(t.node_id);
    if (user == t.assignee || !c.eligible(n, user))
      throw Error(ErrorCode::validation_failed, "body.user_id",
                  "someone else who may approve this step");
    for (const auto& x : run_tasks(c.tx, c.org, t.run_id))
      if (x.assignee == user && (x.status == "pending" || x.status == "waiting"))
        throw Error(ErrorCode::conflict, "body.user_id", "already an approver of this step");
    int64_t added = 0;
    if (before) {
      c.tx.exec("UPDATE workflow_tasks SET status = 'waiting' WHERE org_id = ? AND id = ?",
                {c.org, t.id});
      added = c.new_task(t.run_id, n, user, "added", "pending", t.position, t.id);
    } else {
      added = c.new_task(t.run_id, n, user, "added", "waiting", t.position, t.id);
    }
    c.history("add_approver", t.id, t.node_id, comment,
              {{"user", user}, {"where", before ? "before" : "after"}, {"task", added}});
    c.audit_event("task.add_approver",
                  {{"approver", {{"before", nullptr}, {"after", user}}},
                   {"where", {{"before", nullptr}, {"after", before ? "before" : "after"}}}},
                  comment);
  });
}

Instance Engine::withdraw(const authz::Principal& p, const audit::Actor& actor, int64_t id,
                          const std::string& reason) {
  check_text(reason, "body.reason", 1000, false);
  return act_on_instance(p, actor, id, [&](Ctx& c, const Instance& i) {
    if (i.initiator_id != p.user_id)
      throw Error(ErrorCode::forbidden, "path.id", "only the initiator withdraws a request");
    if (c.status != "running" && c.status != "returned")
      throw Error(ErrorCode::conflict, "path.id", "the process is " + c.status);
    c.audit_event("instance.withdraw", {{"status", {{"before", c.status}, {"after", "withdrawn"}}}},
                  reason);
    c.finish("withdrawn", reason);
  });
}

Instance Engine::terminate(const authz::Principal& p, const audit::Actor& actor, int64_t id,
                           const std::string& reason) {
  check_text(reason, "body.reason", 1000, true);
  return act_on_instance(p, actor, id, [&](Ctx& c, const Instance&) {
    if (!authz::may(p, perm::instances_terminate)) throw Error(ErrorCode::forbidden);
    if (c.status != "running" && c.status != "returned")
      throw Error(ErrorCode::conflict, "path.id", "the process is " + c.status);
    c.audit_event("instance.terminate",
                  {{"status", {{"before", c.status}, {"after", "terminated"}}}}, reason);
    c.finish("terminated", reason);
  });
}

Instance Engine::resubmit(const authz::Principal& p, const audit::Actor& actor, int64_t id,
                          const std::optional<std::string>& form_json) {
  return act_on_instance(p, actor, id, [&](Ctx& c, const Instance& i) {
    if (i.initiator_id != p.user_id)
      throw Error(ErrorCode::forbidden, "path.id", "only the initiator resubmits a request");
    if (c.status != "returned")
      throw Error(ErrorCode::conflict, "path.id", "only a request sent back is resubmitted");
    if (form_json) {
      c.form_json = check_form(c.form, *form_json);
      c.summary = render_summary(c.form, c.form_json);
    }
    c.status = "running";
    c.tx.exec(
        "UPDATE workflow_instances SET status = 'running', form = ?, summary = ? WHERE org_id = ? "
        "AND id = ?",
        {c.form_json, c.summary, c.org, c.id});
    c.history("resubmit", std::nullopt, c.def.graph.start().id, "");
    c.audit_event("instance.resubmit", {{"status", {{"before", "returned"}, {"after", "running"}}}},
                  "");
    c.activate(c.def.graph.start().id);
  });
}

Instance Engine::comment(const authz::Principal& p, const audit::Actor& actor, int64_t id,
                         const std::string& text) {
  check_text(text, "body.text", 2000, true);
  return act_on_instance(p, actor, id, [&](Ctx& c, const Instance&) {
    c.history("comment", std::nullopt, "", text);
    c.audit_event("instance.comment", {}, "");
  });
}

Attachment Engine::attach(const authz::Principal& p, const audit::Actor& actor, int64_t id,
                          const std::string& name, const std::string& content_type,
                          const std::string& bytes) {
  check_text(name, "query.name", 200, true);
  for (unsigned char ch : name)
    if (ch < 0x20 || ch == '/' || ch == '\\')
      throw Error(ErrorCode::validation_failed, "query.name", "a file name without paths");
  if (bytes.empty()) throw Error(ErrorCode::validation_failed, "body", "an empty file");
  if (bytes.size() > kMaxAttachment)
    throw Error(ErrorCode::attachment_too_large, "body", "at most 10 MiB");
  const std::string digest = crypto::hex(crypto::sha256(bytes));
  int64_t attachment_id = 0;
  act_on_instance(p, actor, id, [&](Ctx& c, const Instance&) {
    if (c.status != "running" && c.status != "returned")
      throw Error(ErrorCode::conflict, "path.id", "the process is " + c.status);
    auto r = c.tx.one(
        "INSERT INTO workflow_attachments (org_id, instance_id, name, content_type, size, sha256, "
        "data, uploaded_by, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {c.org, c.id, name, content_type, static_cast<int64_t>(bytes.size()), digest,
         db::Blob{bytes}, p.user_id, c.now});
    attachment_id = db::as_int(r->at(0));
    c.history("attach", std::nullopt, "", name, {{"attachment", attachment_id}});
    c.audit_event("instance.attach",
                  {{"attachment",
                    {{"before", nullptr}, {"after", name + " (" + digest.substr(0, 16) + ")"}}}},
                  "");
  });
  return attachment(p, id, attachment_id).first;
}

std::pair<Attachment, std::string> Engine::attachment(const authz::Principal& p,
                                                      int64_t instance_id, int64_t attachment_id) {
  return db_.read([&](db::Tx& tx) {
    Instance i = load(tx, p.org_id, instance_id, false);
    if (!may_see(tx, p, i)) throw Error(ErrorCode::not_found, "path.id");
    auto r = tx.one(
        "SELECT id, name, content_type, sha256, size, uploaded_by, at, data FROM "
        "workflow_attachments WHERE org_id = ? AND instance_id = ? AND id = ?",
        {p.org_id, instance_id, attachment_id});
    if (!r) throw Error(ErrorCode::not_found, "path.attachment_id");
    Attachment a{db::as_int(r->at(0)),  db::as_text(r->at(1)), db::as_text(r->at(2)),
                 db::as_text(r->at(3)), db::as_int(r->at(4)),  db::as_opt_int(r->at(5)),
                 db::as_int(r->at(6))};
    const auto* blob = std::get_if<db::Blob>(&r->at(7));
    return std::pair<Attachment, std::string>(a, blob ? blob->bytes : db::as_text(r->at(7)));
  });
}

// ---- the to-do centre -------------------------------------------------------------------------

namespace {

template <class T>
Page<T> keyset(std::vector<T> items, int limit) {
  Page<T> page;
  if (items.size() > static_cast<size_t>(limit)) {
    items.resize(static_cast<size_t>(limit));
    page.next_cursor = std::to_string(items.back().id);
  }
  page.items = std::move(items);
  return page;
}

}  // namespace

Page<Task> Engine::pending(const authz::Principal& p, int limit, std::optional<int64_t> after_id,
                           bool overdue_only) {
  const int64_t now = clock_.now_ms();
  return db_.read([&](db::Tx& tx) {
    std::string where = " WHERE t.org_id = ? AND t.assignee_id = ? AND t.status = 'pending'";
    std::vector<db::Value> params{p.org_id, p.user_id};
    if (overdue_only) {
      where += " AND t.due_at IS NOT NULL AND t.due_at < ?";
      params.emplace_back(now);
    }
    const int64_t total = db::as_int(tx.query("SELECT COUNT(*) FROM workflow_tasks t" + where,
                                              std::span<const db::Value>(params))
                                         .rows.at(0)
                                         .at(0));
    if (after_id) {
      where += " AND t.id < ?";
      params.emplace_back(*after_id);
    }
    params.emplace_back(int64_t{limit + 1});
    std::vector<Task> items;
    for (const auto& r : tx.query(std::string("SELECT ") + kTaskColumns + kTaskFrom + where +
                                      " ORDER BY t.id DESC LIMIT ?",
                                  std::span<const db::Value>(params))
                             .rows)
      items.push_back(task_from(r, [this](const std::string& g) { return graph_of(g); }));
    auto page = keyset(std::move(items), limit);
    page.total = total;
    return page;
  });
}

Page<Task> Engine::done(const authz::Principal& p, int limit, std::optional<int64_t> after_id) {
  return db_.read([&](db::Tx& tx) {
    std::string where =
        " WHERE t.org_id = ? AND t.assignee_id = ? AND t.status IN ('approved', 'rejected', "
        "'returned', 'transferred', 'delegated', 'resolved')";
    std::vector<db::Value> params{p.org_id, p.user_id};
    const int64_t total = db::as_int(tx.query("SELECT COUNT(*) FROM workflow_tasks t" + where,
                                              std::span<const db::Value>(params))
                                         .rows.at(0)
                                         .at(0));
    if (after_id) {
      where += " AND t.id < ?";
      params.emplace_back(*after_id);
    }
    params.emplace_back(int64_t{limit + 1});
    std::vector<Task> items;
    for (const auto& r : tx.query(std::string("SELECT ") + kTaskColumns + kTaskFrom + where +
                                      " ORDER BY t.id DESC LIMIT ?",
                                  std::span<const db::Value>(params))
                             .rows)
      items.push_back(task_from(r, [this](const std::string& g) { return graph_of(g); }));
    auto page = keyset(std::move(items), limit);
    page.total = total;
    return page;
  });
}

Page<Instance> Engine::started(const authz::Principal& p, int limit,
                               std::optional<int64_t> after_id) {
  return db_.read([&](db::Tx& tx) {
    std::string where = " WHERE i.org_id = ? AND i.initiator_id = ?";
    std::vector<db::Value> params{p.org_id, p.user_id};
    const int64_t total = db::as_int(tx.query("SELECT COUNT(*) FROM workflow_instances i" + where,
                                              std::span<const db::Value>(params))
                                         .rows.at(0)
                                         .at(0));
    if (after_id) {
      where += " AND i.id < ?";
      params.emplace_back(*after_id);
    }
    params.emplace_back(int64_t{limit + 1});
    std::vector<Instance> items;
    for (const auto& r : tx.query(std::string("SELECT ") + kInstanceColumns + kInstanceFrom +
                                      where + " ORDER BY i.id DESC LIMIT ?",
                                  std::span<const db::Value>(params))
                             .rows)
      items.push_back(instance_from(r));
    auto page = keyset(std::move(items), limit);
    page.total = total;
    return page;
  });
}

Page<Instance> Engine::copied(const authz::Principal& p, int limit,
                              std::optional<int64_t> after_id) {
  return db_.read([&](db::Tx& tx) {
    std::string where =
        " WHERE i.org_id = ? AND i.id IN (SELECT instance_id FROM workflow_cc WHERE org_id = ? AND "
        "user_id = ?)";
    std::vector<db::Value> params{p.org_id, p.org_id, p.user_id};
    const int64_t total = db::as_int(tx.query("SELECT COUNT(*) FROM workflow_instances i" + where,
                                              std::span<const db::Value>(params))
                                         .rows.at(0)
                                         .at(0));
    if (after_id) {
      where += " AND i.id < ?";
      params.emplace_back(*after_id);
    }
    params.emplace_back(int64_t{limit + 1});
    // The unread count goes first: its parameter precedes the WHERE clause's.
    params.insert(params.begin(), db::Value{p.user_id});
    std::vector<Instance> items;
    for (const auto& r :
         tx.query(std::string("SELECT ") + kInstanceColumns +
                      ", (SELECT COUNT(*) FROM workflow_cc c WHERE c.org_id = i.org_id AND "
                      "c.instance_id = i.id AND c.user_id = ? AND c.read_at IS NULL)" +
                      kInstanceFrom + where + " ORDER BY i.id DESC LIMIT ?",
                  std::span<const db::Value>(params))
             .rows) {
      items.push_back(instance_from(r));
      items.back().cc_read = db::as_int(r.back()) == 0;
    }
    auto page = keyset(std::move(items), limit);
    page.total = total;
    return page;
  });
}

void Engine::mark_copies_read(const authz::Principal& p, int64_t instance_id) {
  const bool unread = db_.read([&](db::Tx& tx) {
    return tx
        .one(
            "SELECT 1 FROM workflow_cc WHERE org_id = ? AND instance_id = ? AND user_id = ? AND "
            "read_at IS NULL",
            {p.org_id, instance_id, p.user_id})
        .has_value();
  });
  if (!unread) return;
  db_.write([&](db::Tx& tx) {
    tx.exec(
        "UPDATE workflow_cc SET read_at = ? WHERE org_id = ? AND instance_id = ? AND user_id = ? "
        "AND read_at IS NULL",
        {clock_.now_ms(), p.org_id, instance_id, p.user_id});
  });
}

Counts Engine::counts(const authz::Principal& p) {
  const int64_t now = clock_.now_ms();
  return db_.read([&](db::Tx& tx) {
    Counts c;
    auto r = tx.one(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN due_at IS NOT NULL AND due_at < ? THEN 1 ELSE 0 "
        "END), 0) FROM workflow_tasks WHERE org_id = ? AND assignee_id = ? AND status = "
        "'pending'",
        {now, p.org_id, p.user_id});
    c.pending = db::as_int(r->at(0));
    c.overdue = db::as_int(r->at(1));
    c.cc_unread = db::as_int(tx.one("SELECT COUNT(*) FROM workflow_cc WHERE org_id = ? AND "
                                    "user_id = ? AND read_at IS NULL",
                                    {p.org_id, p.user_id})
                                 ->at(0));
    c.started_running = db::as_int(tx.one("SELECT COUNT(*) FROM workflow_instances WHERE org_id "
                                          "= ? AND initiator_id = ? AND status IN ('running', "
                                          "'returned')",
                                          {p.org_id, p.user_id})
                                       ->at(0));
    c.tasks_open = db::as_int(tx.one("SELECT COUNT(*) FROM todo_items WHERE org_id = ? AND "
                                     "user_id = ? AND status = 'open'",
                                     {p.org_id, p.user_id})
                                  ->at(0));
    c.must_read = notify::Notifier::must_read_count(tx, p.org_id, p.user_id);
    c.notifications_unread = notify::Notifier::unread_count(tx, p.org_id, p.user_id);
    return c;
  });
}

// ---- time limits ------------------------------------------------------------------------------

int Engine::run_deadlines(int64_t now) {
  auto due = db_.read([&](db::Tx& tx) {
    return tx.query(
        "SELECT t.org_id, t.id, t.instance_id FROM workflow_tasks t WHERE t.status = 'pending' "
        "AND t.due_at IS NOT NULL AND t.due_at <= ? AND t.reminded_at IS NULL ORDER BY t.due_at "
        "LIMIT 500",
        {now});
  });
  int handled = 0;
  for (const auto& row : due.rows) {
    const int64_t org = db::as_int(row[0]), task_id = db::as_int(row[1]);
    const int64_t instance_id = db::as_int(row[2]);
    try {
      db_.write([&](db::Tx& tx) {
        const std::string status = lock_instance(tx, org, instance_id, now);
        auto t = load_task(tx, org, task_id);
        if (status != "running" || !t || t->status != "pending") return;
        const audit::Actor system{org, std::nullopt, std::nullopt, "", "workflow.deadlines"};
        Ctx c{*this, tx, system};
        c.org = org;
        c.now = now;
        c.id = instance_id;
        Instance i = load(tx, org, instance_id, false);
        c.def = load_definition(tx, org, i.definition_id);
        auto form = form_type(i.form_type);
        if (!form) return;
        c.form = *form;
        c.form_json = i.form_json;
        c.summary = i.summary;
        c.status = i.status;
        c.initiator = i.initiator_id;
        c.initiator_dept = i.initiator_department_id;
        c.subject_type = i.subject_type;
        c.subject_id = i.subject_id;
        c.subject_owner = i.subject_owner_id;
        const Node& n = c.node(t->node_id);
        auto remind = [&] {
          tx.exec("UPDATE workflow_tasks SET reminded_at = ? WHERE org_id = ? AND id = ?",
                  {now, org, t->id});
          c.notify(t->assignee, "workflow.reminder", {});
          c.history("remind", t->id, t->node_id, "");
        };
        switch (n.on_timeout) {
          case OnTimeout::remind:
            remind();
            break;
          case OnTimeout::escalate: {
            auto boss = directory_.superior_of(tx, org, t->assignee);
            bool busy = false;
            if (boss)
              for (const auto& x : run_tasks(tx, org, t->run_id))
                busy = busy || (x.assignee == *boss && x.status == "pending");
            if (!boss || busy || !c.eligible(n, *boss)) {
              remind();  // nobody to escalate to: the approver is reminded instead
              break;
            }
            set_task(tx, org, t->id, "transferred", now, "time limit passed");
            const int64_t next =
                c.new_task(t->run_id, n, *boss, t->kind, "pending", t->position, t->parent);
            c.notify(*boss, "workflow.escalated",
                     {{"from", directory_.display_name(tx, org, t->assignee)}});
            c.history("escalate", t->id, t->node_id, "time limit passed",
                      {{"to", *boss}, {"task", next}});
            c.audit_event("task.escalate",
                          {{"assignee", {{"before", t->assignee}, {"after", *boss}}}},
                          "time limit passed");
            break;
          }
          case OnTimeout::approve:
            set_task(tx, org, t->id, "approved", now, "time limit passed");
            c.history("timeout", t->id, t->node_id, "approved automatically");
            c.audit_event("task.timeout",
                          {{"outcome", {{"before", nullptr}, {"after", "approved"}}}},
                          "time limit passed");
            c.progress(*t);
            break;
          case OnTimeout::reject:
            set_task(tx, org, t->id, "rejected", now, "time limit passed");
            c.history("timeout", t->id, t->node_id, "rejected automatically");
            c.audit_event("task.timeout",
                          {{"outcome", {{"before", nullptr}, {"after", "rejected"}}}},
                          "time limit passed");
            c.finish("rejected", "time limit passed");
            break;
        }
        ++handled;
      });
    } catch (const std::exception& e) {
      // One instance that cannot move (no approver for the next step, …) does not stop the rest.
      log::app().warn("workflow deadline of task {} not handled: {}", task_id, e.what());
      db_.write([&](db::Tx& tx) {
        tx.exec("UPDATE workflow_tasks SET reminded_at = ? WHERE org_id = ? AND id = ?",
                {now, org, task_id});
      });
    }
  }
  return handled;
}

void Engine::register_jobs(jobs::JobRunner& runner, int64_t interval_ms) {
  runner.add("workflow.deadlines", interval_ms, [this](int64_t now) { run_deadlines(now); });
}

}  // namespace custos::workflow
