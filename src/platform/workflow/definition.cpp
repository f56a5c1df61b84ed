#include "platform/workflow/definition.h"

#include <boost/json.hpp>
#include <functional>
#include <regex>
#include <set>

#include "platform/errors/error.h"
#include "platform/text/utf8.h"

namespace custos::workflow {
namespace json = boost::json;

// ---- names ------------------------------------------------------------------------------------

std::optional<NodeKind> parse_node_kind(std::string_view s) {
  if (s == "start") return NodeKind::start;
  if (s == "approval") return NodeKind::approval;
  if (s == "cc") return NodeKind::cc;
  if (s == "condition") return NodeKind::condition;
  if (s == "parallel") return NodeKind::parallel;
  if (s == "join") return NodeKind::join;
  if (s == "end") return NodeKind::end;
  return std::nullopt;
}

std::string_view node_kind_name(NodeKind k) {
  switch (k) {
    case NodeKind::start:
      return "start";
    case NodeKind::approval:
      return "approval";
    case NodeKind::cc:
      return "cc";
    case NodeKind::condition:
      return "condition";
    case NodeKind::parallel:
      return "parallel";
    case NodeKind::join:
      return "join";
    case NodeKind::end:
      return "end";
  }
  return "approval";
}

std::optional<Mode> parse_mode(std::string_view s) {
  if (s == "single") return Mode::single;
  if (s == "all") return Mode::all;
  if (s == "any") return Mode::any;
  if (s == "sequence") return Mode::sequence;
  return std::nullopt;
}

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::single:
      return "single";
    case Mode::all:
      return "all";
    case Mode::any:
      return "any";
    case Mode::sequence:
      return "sequence";
  }
  return "single";
}

std::optional<RuleKind> parse_rule_kind(std::string_view s) {
  if (s == "user") return RuleKind::user;
  if (s == "role") return RuleKind::role;
  if (s == "post") return RuleKind::post;
  if (s == "post_in_department") return RuleKind::post_in_department;
  if (s == "initiator_head") return RuleKind::initiator_head;
  if (s == "department_head") return RuleKind::department_head;
  if (s == "superior") return RuleKind::superior;
  if (s == "department_kind") return RuleKind::department_kind;
  if (s == "record_owner") return RuleKind::record_owner;
  return std::nullopt;
}

std::string_view rule_kind_name(RuleKind k) {
  switch (k) {
    case RuleKind::user:
      return "user";
    case RuleKind::role:
      return "role";
    case RuleKind::post:
      return "post";
    case RuleKind::post_in_department:
      return "post_in_department";
    case RuleKind::initiator_head:
      return "initiator_head";
    case RuleKind::department_head:
      return "department_head";
    case RuleKind::superior:
      return "superior";
    case RuleKind::department_kind:
      return "department_kind";
    case RuleKind::record_owner:
      return "record_owner";
  }
  return "user";
}

std::optional<OnTimeout> parse_on_timeout(std::string_view s) {
  if (s == "remind") return OnTimeout::remind;
  if (s == "escalate") return OnTimeout::escalate;
  if (s == "approve") return OnTimeout::approve;
  if (s == "reject") return OnTimeout::reject;
  return std::nullopt;
}

std::string_view on_timeout_name(OnTimeout t) {
  switch (t) {
    case OnTimeout::remind:
      return "remind";
    case OnTimeout::escalate:
      return "escalate";
    case OnTimeout::approve:
      return "approve";
    case OnTimeout::reject:
      return "reject";
  }
  return "remind";
}

// ---- the graph --------------------------------------------------------------------------------

const Node* Graph::node(std::string_view id) const {
  for (const auto& n : nodes)
    if (n.id == id) return &n;
  return nullptr;
}

std::vector<const Edge*> Graph::out(std::string_view id) const {
  std::vector<const Edge*> v;
  for (const auto& e : edges)
    if (e.from == id) v.push_back(&e);
  return v;
}

std::vector<const Edge*> Graph::in(std::string_view id) const {
  std::vector<const Edge*> v;
  for (const auto& e : edges)
    if (e.to == id) v.push_back(&e);
  return v;
}

const Node& Graph::start() const {
  for (const auto& n : nodes)
    if (n.kind == NodeKind::start) return n;
  throw Error(ErrorCode::validation_failed, "body.graph.nodes", "no start node");
}

namespace {

constexpr size_t kMaxNodes = 100, kMaxEdges = 200, kMaxRules = 20;

[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw Error(ErrorCode::validation_failed, "body.graph" + field, why);
}

std::string str(const json::object& o, const char* key, const std::string& at, bool required,
                size_t max = 100) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) {
    if (required) bad(at + "." + key, "required");
    return {};
  }
  if (!v->is_string()) bad(at + "." + key, "a string");
  std::string s(v->as_string());
  if (required && s.empty()) bad(at + "." + key, "required");
  if (text::utf8_length(s) > max)
    bad(at + "." + key, "at most " + std::to_string(max) + " characters");
  return s;
}

int64_t integer(const json::object& o, const char* key, const std::string& at, int64_t dflt,
                int64_t min, int64_t max) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return dflt;
  int64_t n = 0;
  if (v->is_int64())
    n = v->as_int64();
  else if (v->is_string()) {
    const std::string s(v->as_string());
    static const std::regex re("[0-9]{1,18}");
    if (!std::regex_match(s, re)) bad(at + "." + key, "an integer");
    n = std::stoll(s);
  } else {
    bad(at + "." + key, "an integer");
  }
  if (n < min || n > max)
    bad(at + "." + key, "from " + std::to_string(min) + " to " + std::to_string(max));
  return n;
}

Rule parse_rule(const json::value& v, const std::string& at) {
  if (!v.is_object()) bad(at, "an object");
  const json::object& o = v.as_object();
  Rule r;
  auto kind = parse_rule_kind(str(o, "rule", at, true, 32));
  if (!kind)
    bad(at + ".rule",
        "one of user, role, post, post_in_department, initiator_head, department_head, "
        "superior, department_kind, record_owner");
  r.kind = *kind;
  switch (r.kind) {
    case RuleKind::user:
      r.user_id = integer(o, "user_id", at, 0, 1, INT64_MAX);
      if (!r.user_id) bad(at + ".user_id", "required");
      break;
    case RuleKind::role:
    case RuleKind::post:
      r.code = str(o, "code", at, true, 64);
      break;
    case RuleKind::post_in_department:
      r.code = str(o, "code", at, true, 64);
      r.department = str(o, "department", at, true, 64);
      break;
    case RuleKind::department_head:
      r.field = str(o, "field", at, true, 64);
      break;
    case RuleKind::superior:
      r.level = static_cast<int>(integer(o, "level", at, 1, 1, 5));
      r.of = str(o, "of", at, false, 16);
      if (r.of.empty()) r.of = "initiator";
      if (r.of != "initiator" && r.of != "field_head") bad(at + ".of", "initiator or field_head");
      if (r.of == "field_head") r.field = str(o, "field", at, true, 64);
      break;
    case RuleKind::department_kind:
      r.kind_name = str(o, "kind", at, true, 32);
      break;
    case RuleKind::initiator_head:
    case RuleKind::record_owner:
      break;
  }
  return r;
}

std::vector<std::string> strings_of(const json::value& v, const std::string& at) {
  std::vector<std::string> out;
  auto one = [&](const json::value& x) {
    if (x.is_string())
      out.emplace_back(x.as_string());
    else if (x.is_int64() || x.is_double() || x.is_bool())
      out.push_back(json::serialize(x));
    else
      bad(at, "a string, a number or a list of them");
  };
  if (v.is_array()) {
    if (v.as_array().empty() || v.as_array().size() > 50) bad(at, "1 to 50 values");
    for (const auto& x : v.as_array()) one(x);
  } else {
    one(v);
  }
  return out;
}

}  // namespace

Graph parse_graph(std::string_view text) {
  json::error_code ec;
  json::parse_options opt;
  opt.max_depth = 16;
  json::value v = json::parse(text, ec, {}, opt);
  if (ec || !v.is_object()) bad("", "an object with nodes and edges");
  const json::object& o = v.as_object();
  Graph g;
  const json::value* nodes = o.if_contains("nodes");
  if (!nodes || !nodes->is_array() || nodes->as_array().empty() ||
      nodes->as_array().size() > kMaxNodes)
    bad(".nodes", "a list of 1 to " + std::to_string(kMaxNodes) + " nodes");
  static const std::regex id_re("[a-z0-9_]{1,64}");
  std::set<std::string> ids;
  const auto& na = nodes->as_array();
  for (size_t i = 0; i < na.size(); ++i) {
    const std::string at = ".nodes[" + std::to_string(i) + "]";
    if (!na[i].is_object()) bad(at, "an object");
    const json::object& no = na[i].as_object();
    Node n;
    n.id = str(no, "id", at, true, 64);
    if (!std::regex_match(n.id, id_re)) bad(at + ".id", "lower-case letters, digits and '_'");
    if (!ids.insert(n.id).second) bad(at + ".id", "used twice");
    auto kind = parse_node_kind(str(no, "kind", at, true, 16));
    if (!kind) bad(at + ".kind", "one of start, approval, cc, condition, parallel, join, end");
    n.kind = *kind;
    n.name = str(no, "name", at, false, 100);
    if (n.kind == NodeKind::approval || n.kind == NodeKind::cc) {
      if (const json::value* m = no.if_contains("mode"); m && !m->is_null()) {
        auto mode = m->is_string() ? parse_mode(std::string_view(m->as_string())) : std::nullopt;
        if (!mode) bad(at + ".mode", "one of single, all, any, sequence");
        n.mode = *mode;
      }
      const json::value* ap = no.if_contains("approvers");
      if (!ap || !ap->is_array() || ap->as_array().size() > kMaxRules)
        bad(at + ".approvers", "a list of at most " + std::to_string(kMaxRules) + " rules");
      for (size_t j = 0; j < ap->as_array().size(); ++j)
        n.approvers.push_back(
            parse_rule(ap->as_array()[j], at + ".approvers[" + std::to_string(j) + "]"));
      if (const json::value* a = no.if_contains("authority"); a && !a->is_null()) {
        if (!a->is_string()) bad(at + ".authority", "none, post or a permission");
        const std::string s(a->as_string());
        static const std::regex perm_re("[a-z0-9_]+:[a-z0-9_]+:[a-z0-9_]+");
        if (s == "none" || s.empty())
          n.authority.kind = Authority::Kind::none;
        else if (s == "post")
          n.authority.kind = Authority::Kind::post;
        else if (std::regex_match(s, perm_re))
          n.authority = {Authority::Kind::permission, s};
        else
          bad(at + ".authority", "none, post or a permission module:resource:action");
      }
      n.time_limit_hours = static_cast<int>(integer(no, "time_limit_hours", at, 0, 0, 24 * 90));
      if (const json::value* t = no.if_contains("on_timeout"); t && !t->is_null()) {
        auto ot =
            t->is_string() ? parse_on_timeout(std::string_view(t->as_string())) : std::nullopt;
        if (!ot) bad(at + ".on_timeout", "one of remind, escalate, approve, reject");
        n.on_timeout = *ot;
      }
    }
    g.nodes.push_back(std::move(n));
  }
  const json::value* edges = o.if_contains("edges");
  if (!edges || !edges->is_array() || edges->as_array().size() > kMaxEdges)
    bad(".edges", "a list of at most " + std::to_string(kMaxEdges) + " edges");
  const auto& ea = edges->as_array();
  for (size_t i = 0; i < ea.size(); ++i) {
    const std::string at = ".edges[" + std::to_string(i) + "]";
    if (!ea[i].is_object()) bad(at, "an object");
    const json::object& eo = ea[i].as_object();
    Edge e;
    e.from = str(eo, "from", at, true, 64);
    e.to = str(eo, "to", at, true, 64);
    if (!ids.count(e.from)) bad(at + ".from", "no such node");
    if (!ids.count(e.to)) bad(at + ".to", "no such node");
    if (const json::value* w = eo.if_contains("when"); w && !w->is_null()) {
      if (!w->is_object()) bad(at + ".when", "an object with field, op and value");
      const json::object& wo = w->as_object();
      Condition c;
      c.field = str(wo, "field", at + ".when", true, 64);
      c.op = str(wo, "op", at + ".when", true, 4);
      static const std::set<std::string> ops{"eq", "ne", "lt", "le", "gt", "ge", "in"};
      if (!ops.count(c.op)) bad(at + ".when.op", "one of eq, ne, lt, le, gt, ge, in");
      const json::value* val = wo.if_contains("value");
      if (!val || val->is_null()) bad(at + ".when.value", "required");
      c.values = strings_of(*val, at + ".when.value");
      if (c.op != "in" && c.values.size() != 1) bad(at + ".when.value", "one value");
      e.when = std::move(c);
    }
    g.edges.push_back(std::move(e));
  }
  return g;
}

std::string graph_json(const Graph& g) {
  json::array nodes, edges;
  for (const Node& n : g.nodes) {
    json::object o{{"id", n.id}, {"kind", node_kind_name(n.kind)}};
    if (!n.name.empty()) o["name"] = n.name;
    if (n.kind == NodeKind::approval || n.kind == NodeKind::cc) {
      o["mode"] = mode_name(n.mode);
      json::array rules;
      for (const Rule& r : n.approvers) {
        json::object ro{{"rule", rule_kind_name(r.kind)}};
        switch (r.kind) {
          case RuleKind::user:
            ro["user_id"] = std::to_string(r.user_id);
            break;
          case RuleKind::role:
          case RuleKind::post:
            ro["code"] = r.code;
            break;
          case RuleKind::post_in_department:
            ro["code"] = r.code;
            ro["department"] = r.department;
            break;
          case RuleKind::department_head:
            ro["field"] = r.field;
            break;
          case RuleKind::superior:
            ro["level"] = r.level;
            ro["of"] = r.of;
            if (r.of == "field_head") ro["field"] = r.field;
            break;
          case RuleKind::department_kind:
            ro["kind"] = r.kind_name;
            break;
          case RuleKind::initiator_head:
          case RuleKind::record_owner:
            break;
        }
        rules.push_back(std::move(ro));
      }
      o["approvers"] = std::move(rules);
      o["authority"] = n.authority.kind == Authority::Kind::none   ? "none"
                       : n.authority.kind == Authority::Kind::post ? "post"
                                                                   : n.authority.permission;
      if (n.time_limit_hours) {
        o["time_limit_hours"] = n.time_limit_hours;
        o["on_timeout"] = on_timeout_name(n.on_timeout);
      }
    }
    nodes.push_back(std::move(o));
  }
  for (const Edge& e : g.edges) {
    json::object o{{"from", e.from}, {"to", e.to}};
    if (e.when) {
      json::value val;
      if (e.when->op == "in") {
        json::array a;
        for (const auto& x : e.when->values) a.emplace_back(x);
        val = std::move(a);
      } else {
        val = json::string(e.when->values.at(0));
      }
      o["when"] = {{"field", e.when->field}, {"op", e.when->op}, {"value", val}};
    }
    edges.push_back(std::move(o));
  }
  return json::serialize(json::object{{"nodes", nodes}, {"edges", edges}});
}

// ---- checks -----------------------------------------------------------------------------------

namespace {

std::string node_at(const Graph& g, const Node& n) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (&g.nodes[i] == &n) return ".nodes[" + std::to_string(i) + "]";
  return ".nodes";
}

bool reaches(const Graph& g, const std::string& from, const std::function<bool(const Node&)>& goal,
             const std::function<bool(const Node&)>& stop) {
  std::set<std::string> seen;
  std::vector<std::string> stack{from};
  while (!stack.empty()) {
    std::string id = stack.back();
    stack.pop_back();
    if (!seen.insert(id).second) continue;
    const Node* n = g.node(id);
    if (!n) continue;
    if (id != from && goal(*n)) return true;
    if (id != from && stop(*n)) continue;
    for (const Edge* e : g.out(id)) stack.push_back(e->to);
  }
  return false;
}

}  // namespace

void check_graph(const Graph& g, const FormType& form) {
  int starts = 0, ends = 0;
  for (const Node& n : g.nodes) {
    starts += n.kind == NodeKind::start;
    ends += n.kind == NodeKind::end;
  }
  if (starts != 1) bad(".nodes", "exactly one start node");
  if (ends < 1) bad(".nodes", "at least one end node");
  const Node& start = g.start();
  // Every node reachable from the start, and every node reaching an end.
  std::set<std::string> reachable;
  {
    std::vector<std::string> stack{start.id};
    while (!stack.empty()) {
      std::string id = stack.back();
      stack.pop_back();
      if (!reachable.insert(id).second) continue;
      for (const Edge* e : g.out(id)) stack.push_back(e->to);
    }
  }
  auto is_end = [](const Node& n) { return n.kind == NodeKind::end; };
  auto never = [](const Node&) { return false; };
  for (const Node& n : g.nodes) {
    const std::string at = node_at(g, n);
    if (!reachable.count(n.id)) bad(at, "node " + n.id + " cannot be reached from the start");
    const auto out = g.out(n.id);
    const auto in = g.in(n.id);
    switch (n.kind) {
      case NodeKind::start:
        if (!in.empty()) bad(at, "nothing leads back to the start");
        if (out.size() != 1) bad(at, "the start leads to exactly one node");
        break;
      case NodeKind::end:
        if (!out.empty()) bad(at, "an end leads nowhere");
        break;
      case NodeKind::approval:
      case NodeKind::cc:
        if (n.approvers.empty()) bad(at + ".approvers", "at least one approver rule");
        if (out.size() != 1) bad(at, "node " + n.id + " leads to exactly one node");
        for (size_t j = 0; j < n.approvers.size(); ++j) {
          const Rule& r = n.approvers[j];
          const std::string rat = at + ".approvers[" + std::to_string(j) + "]";
          if (!r.field.empty()) {
            const Field* f = form.field(r.field);
            if (!f || f->type != FieldType::department)
              bad(rat + ".field", "the form has no department field " + r.field);
          }
          if (r.kind == RuleKind::record_owner && form.subject_type.empty())
            bad(rat + ".rule", "the form is not about a record");
        }
        if (n.kind == NodeKind::cc && n.time_limit_hours)
          bad(at + ".time_limit_hours", "a cc node does not wait");
        break;
      case NodeKind::condition: {
        if (out.empty()) bad(at, "a condition needs branches");
        int defaults = 0;
        for (const Edge* e : out) {
          if (!e->when) {
            ++defaults;
            continue;
          }
          const Field* f = form.field(e->when->field);
          if (!f) bad(at, "branch to " + e->to + " tests " + e->when->field + ", not a form field");
          const bool numeric = f->type == FieldType::integer || f->type == FieldType::decimal;
          const bool ordered = e->when->op == "lt" || e->when->op == "le" || e->when->op == "gt" ||
                               e->when->op == "ge";
          if (ordered && !numeric && f->type != FieldType::date)
            bad(at, "branch to " + e->to + ": " + e->when->op + " needs a number or a date");
          if (numeric)
            for (const auto& v : e->when->values) {
              char* end = nullptr;
              std::strtod(v.c_str(), &end);
              if (v.empty() || end != v.c_str() + v.size())
                bad(at, "branch to " + e->to + ": " + v + " is not a number");
            }
        }
        if (defaults != 1) bad(at, "a condition needs exactly one default branch (no when)");
        break;
      }
      case NodeKind::parallel:
        if (out.size() < 2) bad(at, "a parallel node starts at least two branches");
        // Each branch meets again at a join before the process can end.
        for (const Edge* e : out) {
          const Node* first = g.node(e->to);
          if (first && first->kind == NodeKind::end)
            bad(at, "branch to " + e->to + " ends without its join");
          if (reaches(g, e->to, is_end, [](const Node& x) { return x.kind == NodeKind::join; }) ||
              (first && first->kind != NodeKind::join &&
               !reaches(
                   g, e->to, [](const Node& x) { return x.kind == NodeKind::join; }, never)))
            bad(at, "branch to " + e->to + " reaches an end without a join");
        }
        break;
      case NodeKind::join:
        if (in.size() < 2) bad(at, "a join waits for at least two branches");
        if (out.size() != 1) bad(at, "a join leads to exactly one node");
        break;
    }
    for (const Edge* e : out)
      if (e->when && n.kind != NodeKind::condition)
        bad(at, "only a condition node's branches carry a when");
  }
  // Then paths: every node reaches an end (checked after each node's own shape, so a node
  // without a way out is named rather than the start that leads to it).
  for (const Node& n : g.nodes)
    if (n.kind != NodeKind::end && !reaches(g, n.id, is_end, never))
      bad(node_at(g, n), "node " + n.id + " is a dead end: no path to an end");
}

bool condition_holds(const Condition& c, const FormType& form, const std::string& form_json) {
  const Field* f = form.field(c.field);
  const std::string text = form_text(form_json, c.field);
  if (c.op == "in") {
    for (const auto& v : c.values)
      if (v == text) return true;
    return false;
  }
  const std::string& want = c.values.at(0);
  int cmp = 0;
  if (f && (f->type == FieldType::integer || f->type == FieldType::decimal)) {
    auto have = form_number(form_json, c.field);
    if (!have) return c.op == "ne";  // an empty field equals nothing
    const double w = std::strtod(want.c_str(), nullptr);
    cmp = *have < w ? -1 : *have > w ? 1 : 0;
  } else {
    if (text.empty() && c.op != "eq" && c.op != "ne") return false;
    cmp = text < want ? -1 : text > want ? 1 : 0;  // dates compare as ISO text
  }
  if (c.op == "eq") return cmp == 0;
  if (c.op == "ne") return cmp != 0;
  if (c.op == "lt") return cmp < 0;
  if (c.op == "le") return cmp <= 0;
  if (c.op == "gt") return cmp > 0;
  return cmp >= 0;  // ge
}

}  // namespace custos::workflow
