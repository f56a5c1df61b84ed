// Approval process definitions (issue #5): data, not code. A definition is a graph of nodes —
// start, approval, cc (抄送), condition (exclusive branch on form fields), parallel (fork), join,
// end — joined by edges; condition edges carry a test on one form field. Definitions are
// versioned: saving a change makes a new version, and a running instance keeps the version it
// started on. `parse_graph` reads the JSON form the API takes; `check_graph` refuses what could
// never finish: an unreachable node, a dead end, an approval without approvers, a condition on a
// field the form does not have, a parallel branch that reaches the end without its join.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/workflow/form_type.h"

namespace custos::workflow {

enum class NodeKind { start, approval, cc, condition, parallel, join, end };
std::optional<NodeKind> parse_node_kind(std::string_view s);
std::string_view node_kind_name(NodeKind k);

// How the approvers of one approval node decide.
enum class Mode {
  single,    // one approver (the first the rules name)
  all,       // 会签: every approver must approve
  any,       // 或签: the first approval completes the node
  sequence,  // 依次: one after the other, in the order the rules name them
};
std::optional<Mode> parse_mode(std::string_view s);
std::string_view mode_name(Mode m);

// Who approves. Rules resolve to users when the node is reached.
enum class RuleKind {
  user,                // a named user: user_id
  role,                // holders of a role: code
  post,                // holders of a post anywhere: code
  post_in_department,  // holders of a post in a named department: code + department (code)
  initiator_head,      // the head of the initiator's department
  department_head,     // the head of the department a form field names: field
  superior,            // the level-th superior of the initiator (of = "initiator") or of the head
                       // of the department a field names (of = "field_head", field)
  department_kind,     // the head of the department of a kind (e.g. "it": 信息管理部): kind
  record_owner,        // the owner of the record the form is about
};
std::optional<RuleKind> parse_rule_kind(std::string_view s);
std::string_view rule_kind_name(RuleKind k);

struct Rule {
  RuleKind kind = RuleKind::user;
  int64_t user_id = 0;
  std::string code;        // role or post code
  std::string department;  // department code (post_in_department)
  std::string field;       // form field holding a department id
  std::string of = "initiator";
  std::string kind_name;  // department kind
  int level = 1;
};

// What an approver must hold. none: anyone the rules name; post: a post with approval authority
// (岗位 with approval_authority, OA-3); permission: that permission through a role.
struct Authority {
  enum class Kind { none, post, permission } kind = Kind::none;
  std::string permission;
};

// What happens when a node's time limit passes.
enum class OnTimeout { remind, escalate, approve, reject };
std::optional<OnTimeout> parse_on_timeout(std::string_view s);
std::string_view on_timeout_name(OnTimeout t);

struct Node {
  std::string id;  // [a-z0-9_]{1,64}
  NodeKind kind = NodeKind::approval;
  std::string name;
  Mode mode = Mode::single;
  std::vector<Rule> approvers;  // approval and cc
  Authority authority;
  int time_limit_hours = 0;  // 0: none
  OnTimeout on_timeout = OnTimeout::remind;
};

// A test on one form field, for edges leaving a condition node.
struct Condition {
  std::string field;
  std::string op;                   // eq ne lt le gt ge in
  std::vector<std::string> values;  // one value, or several for "in"
};

struct Edge {
  std::string from, to;
  std::optional<Condition> when;  // condition edges; none: the default branch
};

struct Graph {
  std::vector<Node> nodes;
  std::vector<Edge> edges;
  const Node* node(std::string_view id) const;
  std::vector<const Edge*> out(std::string_view id) const;
  std::vector<const Edge*> in(std::string_view id) const;
  const Node& start() const;
};

// Parses the JSON of a graph: {"nodes":[…],"edges":[…]}. Throws Error(validation_failed) whose
// field points into the body ("body.graph.nodes[2].approvers[0].rule").
Graph parse_graph(std::string_view json);
std::string graph_json(const Graph& g);

// The structural and form checks above; throws Error(validation_failed) naming the node or edge.
void check_graph(const Graph& g, const FormType& form);

// Evaluates a condition against the form (JSON object text of the instance's fields).
bool condition_holds(const Condition& c, const FormType& form, const std::string& form_json);

}  // namespace custos::workflow
