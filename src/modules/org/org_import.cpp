#include "modules/org/org_import.h"

#include "modules/org/org_rules.h"

#include <algorithm>
#include <boost/json.hpp>
#include <regex>
#include <unordered_map>
#include <unordered_set>

#include "modules/org/org_service.h"
#include "platform/audit/audit.h"
#include "platform/crypto/crypto.h"
#include "platform/errors/error.h"
#include "platform/privacy/mask.h"
#include "platform/text/utf8.h"

namespace custos::org {
namespace json = boost::json;

std::string_view register_name(Register r) {
  return r == Register::departments ? "departments" : "users";
}

namespace {

using tabular::text_problem;
using Line = tabular::ImportLine;
using Parsed = tabular::ImportSheet;

void add_error(ImportReport& r, std::size_t row, std::string column, ErrorCode code,
               std::string message) {
  r.add_error(row, std::move(column), code, std::move(message));
}

// ---- columns ---------------------------------------------------------------------------------

const std::vector<tabular::Column>& department_columns() {
  static const std::vector<tabular::Column> cols = {
      {"code", "编码", "Code", {"部门代码", "Department code"}, true},
      {"name", "名称", "Name", {"部门名称", "Department name"}, true},
      {"parent_code", "上级编码", "Parent code", {"上级部门编码", "Parent"}, false},
      {"kind", "类型", "Kind", {"部门类型"}, false},
      {"head_employee_no", "负责人工号", "Head employee no.", {"Head employee number"}, false},
  };
  return cols;
}

const std::vector<tabular::Column>& user_columns() {
  static const std::vector<tabular::Column> cols = {
      {"employee_no", "工号", "Employee no.", {"员工编号", "Employee number"}, true},
      {"username", "用户名", "Username", {"登录名", "账号"}, true},
      {"name", "姓名", "Name", {}, true},
      {"department_code", "部门编码", "Department code", {"部门代码"}, false},
      {"manager_employee_no",
       "上级工号",
       "Manager employee no.",
       {"直属上级工号", "Manager employee number"},
       false},
      {"email", "邮箱", "E-mail", {"电子邮箱", "邮件"}, false},
  };
  return cols;
}

// Notes for the "说明" sheet, in column order.
const std::vector<tabular::ColumnNote>& notes(Register reg) {
  static const std::vector<tabular::ColumnNote> departments = {
      {"唯一标识，重复导入时按编码更新；字母、数字、'.'、'_' 或 '-'，至多 64 个字符",
       "the key: a re-import updates by code; letters, digits, '.', '_' or '-', at most 64"},
      {"至多 100 个字符", "at most 100 characters"},
      {"上级部门的编码（可以是本文件中的部门，顺序不限）；留空为顶级部门",
       "the parent's code (may be a department of this file, in any order); empty: top level"},
      {"普通、信息管理部、总裁办、财务、行政人事（或 normal、it、president_office、finance、"
       "admin_hr）；留空为普通；已有部门的类型不能通过导入修改",
       "normal, it, president_office, finance, admin_hr (or the Chinese labels); empty: normal; "
       "cannot be changed by import"},
      {"已有用户的工号；留空为无负责人", "employee no. of an existing user; empty: none"},
  };
  static const std::vector<tabular::ColumnNote> users = {
      {"唯一标识，重复导入时按工号更新；字母、数字、'.'、'_' 或 '-'，至多 32 个字符",
       "the key: a re-import updates by employee no.; letters, digits, '.', '_' or '-', at most "
       "32"},
      {"登录名：3 至 64 个小写字母、数字、'.'、'_' 或 '-'；创建后不能修改",
       "login name: 3-64 of lower-case letters, digits, '.', '_' or '-'; cannot be changed"},
      {"至多 64 个字符", "at most 64 characters"},
      {"已有部门的编码；留空为不属于任何部门",
       "code of an existing department; empty: no department"},
      {"直属上级的工号（可以是本文件中的用户）；留空为无上级",
       "the manager's employee no. (may be a user of this file); empty: none"},
      {"电子邮箱地址；留空为无", "an e-mail address; empty: none"},
  };
  return reg == Register::departments ? departments : users;
}

// ---- reading the sheet -----------------------------------------------------------------------

// Spreadsheet row -> index into Parsed::lines.
std::unordered_map<std::size_t, std::size_t> line_index(const Parsed& in) {
  std::unordered_map<std::size_t, std::size_t> out;
  for (std::size_t i = 0; i < in.lines.size(); ++i) out.emplace(in.lines[i].row, i);
  return out;
}

Parsed parse(const std::vector<tabular::Column>& cols, const tabular::Sheet& sheet,
             ImportReport& report) {
  return tabular::parse_import(cols, sheet, report, kMaxImportRows);
}

// ---- audit -----------------------------------------------------------------------------------

void record_summary(db::Tx& tx, const authz::Principal& p, const authn::Client& c,
                    const ImportReport& r, int64_t now) {
  json::object o{{"register", register_name(r.reg)},
                 {"rows", static_cast<int64_t>(r.rows)},
                 {"created", static_cast<int64_t>(r.created)},
                 {"updated", static_cast<int64_t>(r.updated)},
                 {"unchanged", static_cast<int64_t>(r.unchanged)}};
  audit::record(tx, actor_of(p, c),
                {.action = "org.import",
                 .object_type = r.reg == Register::departments ? "department" : "user",
                 .object_id = "",
                 .changes = json::serialize(o)},
                now);
}

void count(ImportReport& r, ImportOutcome o) {
  r.count(std::move(o));
}

authz::Resource root_resource() {
  authz::Resource r;
  r.department_path = "/";
  return r;
}

authz::Resource dept_resource(int64_t id, const std::string& path) {
  authz::Resource r;
  r.department_id = id;
  r.department_path = path;
  return r;
}

// ---- departments -----------------------------------------------------------------------------

enum DeptCol { kCode, kName, kParent, kKind, kHead };

// A department of the final tree: one of the database, or a new one from the file.
struct DeptNode {
  int64_t id = 0;  // 0: new
  std::string code, name, kind, path;
  std::optional<int64_t> head;
  int parent = -1;  // node index in the database; -1 top level
  int row = -1;     // index into the file's lines when the file names it
};

struct DeptPlan {
  std::vector<DeptNode> nodes;
  std::vector<int> final_parent;  // per node, after the import
  // Per line: the node, and the resolved head when the head column is present.
  std::vector<int> node_of_line;
  std::vector<std::optional<int64_t>> head_of_line;
  bool moves = false;  // an existing department changes parent
};

DeptPlan plan_departments(db::Tx& tx, const authz::Principal& p, Parsed& in, ImportReport& report) {
  DeptPlan plan;
  auto& lines = in.lines;
  auto err = [&](std::size_t li, const char* column, ErrorCode code, std::string msg) {
    add_error(report, lines[li].row, column, code, std::move(msg));
    lines[li].bad = true;
  };
  const bool has_parent = in.present[kParent], has_kind = in.present[kKind],
             has_head = in.present[kHead];

  // 1. Cells on their own.
  std::vector<bool> code_ok(lines.size(), false);
  std::vector<std::string> kind_of_line(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& v = lines[i].cells;
    const auto& skip = lines[i].unreadable;  // reported already
    if (skip[kCode])
      ;
    else if (auto why = text_problem(v[kCode], 64, true))
      err(i, "code", ErrorCode::validation_failed, *why);
    else if (!std::regex_match(v[kCode], code_re()))
      err(i, "code", ErrorCode::validation_failed, kCodeRule);
    else
      code_ok[i] = true;
    if (skip[kName])
      ;
    else if (auto why = text_problem(v[kName], 100, true))
      err(i, "name", ErrorCode::validation_failed, *why);
    if (!v[kKind].empty() && !skip[kKind]) {
      if (auto k = parse_kind(v[kKind]))
        kind_of_line[i] = *k;
      else
        err(i, "kind", ErrorCode::validation_failed, kKindRule);
    }
  }

  // 2. A code twice in the file.
  std::unordered_map<std::string, std::size_t> line_of_code;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!code_ok[i]) continue;
    auto [it, fresh] = line_of_code.emplace(lines[i].cells[kCode], i);
    if (!fresh) {
      err(i, "code", ErrorCode::validation_failed,
          "duplicate of row " + std::to_string(lines[it->second].row));
      code_ok[i] = false;
    }
  }

  // 3. The database's tree, then the file's rows on it.
  std::unordered_map<std::string, int> node_of_code;
  {
    std::unordered_map<int64_t, int> node_of_id;
    std::vector<std::optional<int64_t>> parent_ids;
    for (const auto& r :
         tx.query("SELECT id, code, name, kind, path, parent_id, head_user_id FROM departments "
                  "WHERE org_id = ? ORDER BY id",
                  {p.org_id})
             .rows) {
      DeptNode n;
      n.id = db::as_int(r[0]);
      n.code = db::as_text(r[1]);
      n.name = db::as_text(r[2]);
      n.kind = db::as_text(r[3]);
      n.path = db::as_text(r[4]);
      n.head = db::as_opt_int(r[6]);
      parent_ids.push_back(db::as_opt_int(r[5]));
      node_of_id[n.id] = static_cast<int>(plan.nodes.size());
      node_of_code[n.code] = static_cast<int>(plan.nodes.size());
      plan.nodes.push_back(std::move(n));
    }
    for (std::size_t i = 0; i < plan.nodes.size(); ++i)
      if (parent_ids[i]) {
        auto it = node_of_id.find(*parent_ids[i]);
        plan.nodes[i].parent = it == node_of_id.end() ? -1 : it->second;
      }
  }
  plan.node_of_line.assign(lines.size(), -1);
  plan.head_of_line.assign(lines.size(), std::nullopt);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!code_ok[i]) continue;
    const std::string& code = lines[i].cells[kCode];
    auto it = node_of_code.find(code);
    if (it != node_of_code.end()) {
      DeptNode& n = plan.nodes[it->second];
      const authz::Resource res = dept_resource(n.id, n.path);
      if (!authz::may(p, perm::departments_read, res) ||
          !authz::may(p, perm::departments_write, res)) {
        err(i, "code", ErrorCode::forbidden, "the department with this code is outside your scope");
        continue;
      }
      if (has_kind && !kind_of_line[i].empty() && kind_of_line[i] != n.kind)
        err(i, "kind", ErrorCode::validation_failed,
            "cannot be changed by import (the department is " + n.kind + ")");
      n.row = static_cast<int>(i);
      plan.node_of_line[i] = it->second;
    } else {
      DeptNode n;
      n.code = code;
      n.name = lines[i].cells[kName];
      n.kind = kind_of_line[i].empty() ? "normal" : kind_of_line[i];
      n.row = static_cast<int>(i);
      plan.node_of_line[i] = static_cast<int>(plan.nodes.size());
      node_of_code[code] = static_cast<int>(plan.nodes.size());
      plan.nodes.push_back(std::move(n));
    }
  }

  // 4. Parents, by code, from the file or the database.
  plan.final_parent.resize(plan.nodes.size());
  for (std::size_t n = 0; n < plan.nodes.size(); ++n) plan.final_parent[n] = plan.nodes[n].parent;
  std::vector<bool> parent_ok(lines.size(), false);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const int node = plan.node_of_line[i];
    if (node < 0 || !has_parent || lines[i].unreadable[kParent]) continue;
    const std::string& pc = lines[i].cells[kParent];
    int parent = -1;
    if (!pc.empty()) {
      auto it = node_of_code.find(pc);
      if (it == node_of_code.end()) {
        err(i, "parent_code", ErrorCode::validation_failed, "no such department");
        continue;
      }
      const DeptNode& pn = plan.nodes[it->second];
      if (pn.id != 0 && !authz::may(p, perm::departments_read, dept_resource(pn.id, pn.path))) {
        err(i, "parent_code", ErrorCode::validation_failed, "no such department");
        continue;
      }
      parent = it->second;
    }
    plan.final_parent[node] = parent;
    parent_ok[i] = true;
  }
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (plan.node_of_line[i] >= 0 && (!has_parent || lines[i].unreadable[kParent]))
      parent_ok[i] = !has_parent;

  // 5. Cycles in the final tree (a department under itself, or new ones naming each other).
  // The parent links form a functional graph: walk each chain once, colouring as we go.
  {
    const std::size_t n = plan.nodes.size();
    std::vector<char> state(n, 0);  // 0 unvisited, 1 on the current walk, 2 done
    std::vector<int> walk;
    for (std::size_t start = 0; start < n; ++start) {
      if (state[start]) continue;
      walk.clear();
      int at = static_cast<int>(start);
      while (at >= 0 && state[at] == 0) {
        state[at] = 1;
        walk.push_back(at);
        at = plan.final_parent[at];
      }
      if (at >= 0 && state[at] == 1) {  // a cycle: from `at` to the end of the walk
        auto from = std::find(walk.begin(), walk.end(), at);
        for (auto it = from; it != walk.end(); ++it) {
          const int row = plan.nodes[*it].row;
          if (row < 0) continue;
          const bool moving = plan.nodes[*it].id != 0;
          err(static_cast<std::size_t>(row), "parent_code", ErrorCode::validation_failed,
              moving ? "a department cannot move under itself" : "parent codes form a cycle");
          parent_ok[row] = false;
        }
      }
      for (int w : walk) state[w] = 2;
    }
  }

  // 6. May the caller put the department there? departments:write on the target parent, judged
  // on the nearest department that exists already (a new parent is not in anyone's scope yet).
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const int node = plan.node_of_line[i];
    if (node < 0 || !parent_ok[i]) continue;
    const DeptNode& dn = plan.nodes[node];
    const int parent = plan.final_parent[node];
    if (dn.id != 0 && parent == dn.parent) continue;  // not moving
    if (dn.id != 0) plan.moves = true;
    authz::Resource target = root_resource();
    if (parent >= 0) {
      int anchor = parent;
      while (anchor >= 0 && plan.nodes[anchor].id == 0) anchor = plan.final_parent[anchor];
      if (anchor >= 0) {
        target = dept_resource(plan.nodes[anchor].id, plan.nodes[anchor].path);
        if (anchor != parent) target.department_id.reset();
      }
    }
    if (!authz::may(p, perm::departments_write, target))
      err(i, "parent_code", ErrorCode::forbidden,
          parent >= 0 ? "you may not add departments under this parent"
                      : "you may not add top-level departments");
  }

  // 7. Heads, by employee number, among the organisation's users.
  if (has_head) {
    std::unordered_map<std::string, std::optional<int64_t>> cache;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (plan.node_of_line[i] < 0 || lines[i].unreadable[kHead]) continue;
      const std::string& no = lines[i].cells[kHead];
      if (no.empty()) continue;
      auto it = cache.find(no);
      if (it == cache.end()) {
        auto r =
            tx.one("SELECT id FROM users WHERE org_id = ? AND employee_no = ?", {p.org_id, no});
        it = cache.emplace(no, r ? std::optional<int64_t>(db::as_int(r->at(0))) : std::nullopt)
                 .first;
      }
      if (!it->second)
        err(i, "head_employee_no", ErrorCode::validation_failed, "no such user");
      else
        plan.head_of_line[i] = it->second;
    }
  }

  // 8. What each good row does.
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].bad) continue;
    const int node = plan.node_of_line[i];
    const DeptNode& dn = plan.nodes[node];
    ImportOutcome o{lines[i].row, dn.code, "created", {}};
    if (dn.id != 0) {
      if (lines[i].cells[kName] != dn.name) o.fields.push_back("name");
      if (plan.final_parent[node] != dn.parent) o.fields.push_back("parent_code");
      if (has_head && plan.head_of_line[i] != dn.head) o.fields.push_back("head_employee_no");
      o.action = o.fields.empty() ? "unchanged" : "updated";
    }
    count(report, std::move(o));
  }
  return plan;
}

void apply_departments(db::Tx& tx, const authz::Principal& p, const authn::Client& c,
                       DeptPlan& plan, const Parsed& in, const ImportReport& report, int64_t now) {
  auto& nodes = plan.nodes;
  const auto& fp = plan.final_parent;
  const bool has_head = in.present[kHead];

  // New departments, parents before children: order by depth among the new ones.
  std::vector<int> depth(nodes.size(), -1);
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    std::vector<int> chain;
    int at = static_cast<int>(n);
    while (at >= 0 && depth[at] < 0 && nodes[at].id == 0) {
      chain.push_back(at);
      at = fp[at];
    }
    int d = (at >= 0 && nodes[at].id == 0) ? depth[at] : -1;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) depth[*it] = ++d;
  }
  std::vector<int> fresh;
  for (std::size_t n = 0; n < nodes.size(); ++n)
    if (nodes[n].id == 0) fresh.push_back(static_cast<int>(n));
  std::stable_sort(fresh.begin(), fresh.end(), [&](int a, int b) { return depth[a] < depth[b]; });
  for (int n : fresh) {
    DeptNode& dn = nodes[n];
    const std::size_t li = static_cast<std::size_t>(dn.row);
    if (has_head) dn.head = plan.head_of_line[li];
    const std::optional<int64_t> parent_id =
        fp[n] >= 0 ? std::optional<int64_t>(nodes[fp[n]].id) : std::nullopt;
    auto r = tx.one(
        "INSERT INTO departments (org_id, code, name, parent_id, head_user_id, kind, path, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, '', ?, ?) RETURNING id",
        {p.org_id, dn.code, dn.name, db::optional(parent_id), db::optional(dn.head), dn.kind, now,
         now});
    dn.id = db::as_int(r->at(0));
    Changes ch;
    ch.add("code", jv(std::string()), jv(dn.code));
    ch.add("name", jv(std::string()), jv(dn.name));
    ch.add("kind", jv(std::string()), jv(dn.kind));
    ch.add("parent_id", nullptr, jv(parent_id));
    ch.add("head_user_id", nullptr, jv(dn.head));
    audit::record(tx, actor_of(p, c),
                  {.action = "org.department.create",
                   .object_type = "department",
                   .object_id = std::to_string(dn.id),
                   .changes = ch.str()},
                  now);
  }

  // Changed departments.
  const auto line_of_row = line_index(in);
  for (const auto& o : report.outcomes) {
    if (o.action != "updated") continue;
    const std::size_t li = line_of_row.at(o.row);
    const int n = plan.node_of_line[li];
    DeptNode& dn = nodes[n];
    const std::optional<int64_t> before_parent =
        dn.parent >= 0 ? std::optional<int64_t>(nodes[dn.parent].id) : std::nullopt;
    const std::optional<int64_t> after_parent =
        fp[n] >= 0 ? std::optional<int64_t>(nodes[fp[n]].id) : std::nullopt;
    const std::string after_name = in.lines[li].cells[kName];
    const std::optional<int64_t> after_head = has_head ? plan.head_of_line[li] : dn.head;
    tx.exec(
        "UPDATE departments SET name = ?, head_user_id = ?, parent_id = ?, version = version + "
        "1, updated_at = ? WHERE id = ?",
        {after_name, db::optional(after_head), db::optional(after_parent), now, dn.id});
    Changes ch;
    ch.add("name", jv(dn.name), jv(after_name));
    ch.add("head_user_id", jv(dn.head), jv(after_head));
    ch.add("parent_id", jv(before_parent), jv(after_parent));
    audit::record(tx, actor_of(p, c),
                  {.action = "org.department.update",
                   .object_type = "department",
                   .object_id = std::to_string(dn.id),
                   .changes = ch.str()},
                  now);
  }

  // Paths of the final tree, written where they differ (new departments, moved subtrees).
  std::vector<std::string> path(nodes.size());
  std::vector<bool> done(nodes.size(), false);
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    std::vector<int> chain;
    int at = static_cast<int>(n);
    while (at >= 0 && !done[at]) {
      chain.push_back(at);
      at = fp[at];
    }
    std::string base = at >= 0 ? path[at] : "/";
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      path[*it] = base + std::to_string(nodes[*it].id) + "/";
      done[*it] = true;
      base = path[*it];
    }
  }
  for (std::size_t n = 0; n < nodes.size(); ++n)
    if (path[n] != nodes[n].path)
      tx.exec("UPDATE departments SET path = ? WHERE id = ?", {path[n], nodes[n].id});
  // Custom-scope grants hold department paths: every cached grant set is stale after a move.
  if (plan.moves)
    tx.exec("UPDATE users SET authz_version = authz_version + 1 WHERE org_id = ?", {p.org_id});
}

// ---- users -----------------------------------------------------------------------------------

enum UserCol { kEmployeeNo, kUsername, kUserName, kDept, kManager, kEmail };

struct DbUser {
  int64_t id = 0;
  std::string username, name, dept_path, status;
  std::optional<std::string> employee_no, email;
  std::optional<int64_t> department_id, manager_id;
};

struct DbDept {
  int64_t id = 0;
  std::string path;
};

struct UserPlan {
  std::vector<DbUser> users;
  std::vector<int> existing;                      // per line: index into users, or -1
  std::vector<std::optional<int64_t>> dept;       // per line: resolved department
  std::vector<int> manager_user, manager_line;    // per line: the manager in users / in lines
  std::vector<std::optional<std::string>> email;  // per line: the e-mail to store
};

authz::Resource user_resource(const DbUser& u) {
  authz::Resource r;
  r.department_id = u.department_id;
  r.department_path = u.dept_path;
  r.owner_user_id = u.id;
  return r;
}

UserPlan plan_users(db::Tx& tx, const authz::Principal& p, Parsed& in, ImportReport& report) {
  UserPlan plan;
  auto& lines = in.lines;
  auto err = [&](std::size_t li, const char* column, ErrorCode code, std::string msg) {
    add_error(report, lines[li].row, column, code, std::move(msg));
    lines[li].bad = true;
  };
  const bool has_dept = in.present[kDept], has_manager = in.present[kManager],
             has_email = in.present[kEmail];
  const std::size_t n = lines.size();
  plan.existing.assign(n, -1);
  plan.dept.assign(n, std::nullopt);
  plan.manager_user.assign(n, -1);
  plan.manager_line.assign(n, -1);
  plan.email.assign(n, std::nullopt);

  // 1. Cells on their own.
  std::vector<bool> no_ok(n, false), username_ok(n, false);
  std::vector<bool> dept_bad(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& v = lines[i].cells;
    const auto& skip = lines[i].unreadable;  // reported already
    if (skip[kEmployeeNo])
      ;
    else if (auto why = text_problem(v[kEmployeeNo], 32, true))
      err(i, "employee_no", ErrorCode::validation_failed, *why);
    else if (!std::regex_match(v[kEmployeeNo], code_re()))
      err(i, "employee_no", ErrorCode::validation_failed, kCodeRule);
    else
      no_ok[i] = true;
    if (skip[kUsername])
      ;
    else if (auto why = text_problem(v[kUsername], 64, true))
      err(i, "username", ErrorCode::validation_failed, *why);
    else if (!std::regex_match(v[kUsername], username_re()))
      err(i, "username", ErrorCode::validation_failed, kUsernameRule);
    else
      username_ok[i] = true;
    if (skip[kUserName])
      ;
    else if (auto why = text_problem(v[kUserName], 64, true))
      err(i, "name", ErrorCode::validation_failed, *why);
    dept_bad[i] = skip[kDept];
    if (skip[kManager]) plan.manager_line[i] = -2;  // reported already
    if (skip[kEmail])
      ;
    else if (!v[kEmail].empty()) {
      if (auto why = text_problem(v[kEmail], 254, false))
        err(i, "email", ErrorCode::validation_failed, *why);
      else if (!std::regex_match(v[kEmail], email_re()))
        err(i, "email", ErrorCode::validation_failed, "an e-mail address");
      else
        plan.email[i] = v[kEmail];
    }
  }

  // 2. An employee number or a username twice in the file.
  std::unordered_map<std::string, std::size_t> line_of_no, line_of_username;
  for (std::size_t i = 0; i < n; ++i) {
    if (no_ok[i]) {
      auto [it, fresh] = line_of_no.emplace(lines[i].cells[kEmployeeNo], i);
      if (!fresh) {
        err(i, "employee_no", ErrorCode::validation_failed,
            "duplicate of row " + std::to_string(lines[it->second].row));
        no_ok[i] = false;
      }
    }
    if (username_ok[i]) {
      auto [it, fresh] = line_of_username.emplace(lines[i].cells[kUsername], i);
      if (!fresh) {
        err(i, "username", ErrorCode::validation_failed,
            "duplicate of row " + std::to_string(lines[it->second].row));
        username_ok[i] = false;
      }
    }
  }

  // 3. The organisation's users and departments.
  std::unordered_map<std::string, int> user_of_no, user_of_username;
  for (const auto& r :
       tx.query("SELECT u.id, u.username, u.name, u.employee_no, u.email, "
                "u.department_id, u.manager_id, COALESCE(d.path, ''), u.status "
                "FROM users u LEFT JOIN departments d ON d.id = u.department_id WHERE "
                "u.org_id = ? ORDER BY u.id",
                {p.org_id})
           .rows) {
    DbUser u;
    u.id = db::as_int(r[0]);
    u.username = db::as_text(r[1]);
    u.name = db::as_text(r[2]);
    u.employee_no = db::as_opt_text(r[3]);
    u.email = db::as_opt_text(r[4]);
    u.department_id = db::as_opt_int(r[5]);
    u.manager_id = db::as_opt_int(r[6]);
    u.dept_path = db::as_text(r[7]);
    u.status = db::as_text(r[8]);
    const int idx = static_cast<int>(plan.users.size());
    if (u.employee_no) user_of_no[*u.employee_no] = idx;
    user_of_username[u.username] = idx;
    plan.users.push_back(std::move(u));
  }
  std::unordered_map<std::string, DbDept> dept_of_code;
  std::unordered_map<int64_t, std::string> path_of_dept;
  if (has_dept)
    for (const auto& r :
         tx.query("SELECT id, code, path FROM departments WHERE org_id = ?", {p.org_id}).rows) {
      dept_of_code[db::as_text(r[1])] = DbDept{db::as_int(r[0]), db::as_text(r[2])};
      path_of_dept[db::as_int(r[0])] = db::as_text(r[2]);
    }

  // 4. Each row against them.
  for (std::size_t i = 0; i < n; ++i) {
    const auto& v = lines[i].cells;
    // Existing user by employee number: an update.
    if (no_ok[i]) {
      auto it = user_of_no.find(v[kEmployeeNo]);
      if (it != user_of_no.end()) {
        const DbUser& u = plan.users[it->second];
        if (!authz::may(p, perm::users_read, user_resource(u))) {
          err(i, "employee_no", ErrorCode::forbidden,
              "the user with this employee number is outside your scope");
          no_ok[i] = false;
        } else {
          plan.existing[i] = it->second;
          if (username_ok[i] && v[kUsername] != u.username)
            err(i, "username", ErrorCode::validation_failed,
                "cannot be changed by import (differs from the existing user's)");
        }
      } else if (username_ok[i] && user_of_username.count(v[kUsername])) {
        err(i, "username", ErrorCode::conflict, "taken");
      }
    }
    // The department.
    if (has_dept && !v[kDept].empty() && !dept_bad[i]) {
      auto it = dept_of_code.find(v[kDept]);
      if (it == dept_of_code.end() ||
          !authz::may(p, perm::departments_read, dept_resource(it->second.id, it->second.path))) {
        err(i, "department_code", ErrorCode::validation_failed, "no such department");
        dept_bad[i] = true;
      } else {
        plan.dept[i] = it->second.id;
      }
    }
    // The manager: a user of the file (any row) or of the organisation.
    if (plan.manager_line[i] == -2) {
      plan.manager_line[i] = -1;
    } else if (has_manager && !v[kManager].empty()) {
      if (v[kManager] == v[kEmployeeNo]) {
        err(i, "manager_employee_no", ErrorCode::validation_failed, "not oneself");
      } else if (auto lt = line_of_no.find(v[kManager]); lt != line_of_no.end()) {
        plan.manager_line[i] = static_cast<int>(lt->second);
      } else if (auto ut = user_of_no.find(v[kManager]); ut != user_of_no.end()) {
        plan.manager_user[i] = ut->second;
      } else {
        err(i, "manager_employee_no", ErrorCode::validation_failed, "no such user");
      }
    }
  }

  // 5. What each row does, and whether the caller may do it.
  auto target_of = [&](std::optional<int64_t> id) {
    return id ? dept_resource(*id, path_of_dept.at(*id)) : root_resource();
  };
  for (std::size_t i = 0; i < n; ++i) {
    if (!no_ok[i]) continue;
    const auto& v = lines[i].cells;
    const int e = plan.existing[i];
    if (e < 0) {
      if (!dept_bad[i] && !authz::may(p, perm::users_write, target_of(plan.dept[i])))
        err(i, "department_code", ErrorCode::forbidden,
            plan.dept[i] ? "you may not add users to this department"
                         : "you may not add users outside a department");
      if (lines[i].bad) continue;
      count(report, {lines[i].row, v[kEmployeeNo], "created", {}});
      continue;
    }
    const DbUser& u = plan.users[e];
    ImportOutcome o{lines[i].row, v[kEmployeeNo], "updated", {}};
    if (v[kUserName] != u.name) o.fields.push_back("name");
    if (has_dept && plan.dept[i] != u.department_id) o.fields.push_back("department_code");
    if (has_manager) {
      std::optional<int64_t> m;
      bool new_manager = false;
      if (plan.manager_line[i] >= 0) {
        const int me = plan.existing[plan.manager_line[i]];
        if (me >= 0)
          m = plan.users[me].id;
        else
          new_manager = true;
      } else if (plan.manager_user[i] >= 0) {
        m = plan.users[plan.manager_user[i]].id;
      }
      if (new_manager || m != u.manager_id) o.fields.push_back("manager_employee_no");
    }
    if (has_email && plan.email[i] != u.email) o.fields.push_back("email");
    if (o.fields.empty()) {
      o.action = "unchanged";
    } else {
      // As OrgService::update_user: users:write on the user, never one's own profile, and
      // users:write on a new department.
      if (u.id == p.user_id)
        err(i, "employee_no", ErrorCode::forbidden, "not your own account");
      else if (!authz::may(p, perm::users_write, user_resource(u)))
        err(i, "employee_no", ErrorCode::forbidden,
            "you may not change the user with this employee number");
      if (has_dept && !dept_bad[i] && plan.dept[i] != u.department_id &&
          department_locked(u.status))
        err(i, "department_code", ErrorCode::conflict, kDepartmentLockedRule);
      else if (has_dept && !dept_bad[i] && plan.dept[i] != u.department_id && plan.dept[i] &&
               !authz::may(p, perm::users_write, target_of(plan.dept[i])))
        err(i, "department_code", ErrorCode::forbidden, "you may not add users to this department");
    }
    if (!lines[i].bad) count(report, std::move(o));
  }
  return plan;
}

struct NewPassword {
  std::string password, hash;
};

void apply_users(db::Tx& tx, const authz::Principal& p, const authn::Client& c, UserPlan& plan,
                 const Parsed& in, ImportReport& report,
                 const std::unordered_map<std::string, NewPassword>& passwords, int64_t now,
                 const privacy::Masker& masker) {
  const auto& lines = in.lines;
  const bool has_dept = in.present[kDept], has_manager = in.present[kManager],
             has_email = in.present[kEmail];
  std::vector<std::optional<int64_t>> id_of_line(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (plan.existing[i] >= 0) id_of_line[i] = plan.users[plan.existing[i]].id;
  auto manager_of = [&](std::size_t i) -> std::optional<int64_t> {
    if (plan.manager_line[i] >= 0) return id_of_line[plan.manager_line[i]];
    if (plan.manager_user[i] >= 0) return plan.users[plan.manager_user[i]].id;
    return std::nullopt;
  };
  const auto line_of_row = line_index(in);
  auto line_of = [&](const ImportOutcome& o) { return line_of_row.at(o.row); };

  // New users; a manager that is itself new and later in the file is set afterwards.
  std::vector<std::size_t> created;
  for (const auto& o : report.outcomes) {
    if (o.action != "created") continue;
    const std::size_t i = line_of(o);
    const auto& v = lines[i].cells;
    auto pw = passwords.find(v[kEmployeeNo]);
    if (pw == passwords.end())
      throw Error(ErrorCode::conflict, "body", "the users changed during the import; try again");
    auto r = tx.one(
        "INSERT INTO users (org_id, username, employee_no, name, email, department_id, "
        "manager_id, clearance, status, password_hash, must_change_password, "
        "password_changed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', "
        "?, 1, ?, ?, ?) RETURNING id",
        {p.org_id, v[kUsername], v[kEmployeeNo], v[kUserName], db::optional(plan.email[i]),
         db::optional(plan.dept[i]), db::optional(manager_of(i)), int64_t{authz::kInternal},
         pw->second.hash, now, now, now});
    id_of_line[i] = db::as_int(r->at(0));
    created.push_back(i);
    report.created_users.push_back({v[kEmployeeNo], v[kUsername], pw->second.password});
  }
  for (std::size_t i : created) {
    if (plan.manager_line[i] >= 0 && plan.existing[plan.manager_line[i]] < 0)
      tx.exec("UPDATE users SET manager_id = ? WHERE id = ?",
              {db::optional(manager_of(i)), *id_of_line[i]});
    const auto& v = lines[i].cells;
    Changes ch;
    ch.add("username", jv(std::string()), jv(v[kUsername]));
    ch.add("name", jv(std::string()), jv(v[kUserName]));
    ch.add("employee_no", nullptr, jv(v[kEmployeeNo]));
    ch.add("department_id", nullptr, jv(plan.dept[i]));
    ch.add("manager_id", nullptr, jv(manager_of(i)));
    ch.add("clearance", 0, authz::kInternal);
    audit::record(tx, actor_of(p, c),
                  {.action = "org.user.create",
                   .object_type = "user",
                   .object_id = std::to_string(*id_of_line[i]),
                   .changes = ch.str()},
                  now);
  }

  // Changed users: the fields whose column the file has.
  auto masked = [&masker](const std::optional<std::string>& e) {
    return e ? std::optional<std::string>(masker.email(*e)) : std::nullopt;
  };
  for (const auto& o : report.outcomes) {
    if (o.action != "updated") continue;
    const std::size_t i = line_of(o);
    const DbUser& before = plan.users[plan.existing[i]];
    const auto& v = lines[i].cells;
    const std::string name = v[kUserName];
    const std::optional<std::string> email = has_email ? plan.email[i] : before.email;
    const std::optional<int64_t> dept = has_dept ? plan.dept[i] : before.department_id;
    const std::optional<int64_t> manager = has_manager ? manager_of(i) : before.manager_id;
    tx.exec(
        "UPDATE users SET name = ?, email = ?, department_id = ?, manager_id = ?, version = "
        "version + 1, updated_at = ? WHERE id = ?",
        {name, db::optional(email), db::optional(dept), db::optional(manager), now, before.id});
    Changes ch;
    ch.add("name", jv(before.name), jv(name));
    // Personal fields enter the audit trail masked.
    if (email != before.email) ch.add("email", jv(masked(before.email)), jv(masked(email)));
    ch.add("department_id", jv(before.department_id), jv(dept));
    ch.add("manager_id", jv(before.manager_id), jv(manager));
    audit::record(tx, actor_of(p, c),
                  {.action = "org.user.update",
                   .object_type = "user",
                   .object_id = std::to_string(before.id),
                   .changes = ch.str()},
                  now);
  }
}

// Initial passwords are 96 random bits (crypto::random_token(12)) and must be changed at the
// first login, which also rehashes them at the configured cost (AuthService::login). Their
// strength does not rest on the hash's cost - as for session and API tokens, which are stored
// as plain SHA-256 - so they are hashed at Argon2id's light end (1 pass, 1 MiB, about 0.25 ms):
// 10,000 new users take seconds, where the interactive cost (about 60 ms each) would take ten
// minutes inside one request.
crypto::PasswordCost initial_password_cost(const crypto::PasswordCost& policy) {
  return {std::min<uint64_t>(policy.ops, 1), std::min<std::size_t>(policy.mem, 1u << 20)};
}

}  // namespace

// ---- OrgImporter -----------------------------------------------------------------------------

OrgImporter::OrgImporter(db::Db& db, const Clock& clock, authn::AuthService& auth,
                         const privacy::Masker& masker)
    : db_(db), clock_(clock), auth_(auth), masker_(masker) {}

const std::vector<tabular::Column>& OrgImporter::columns(Register reg) {
  return reg == Register::departments ? department_columns() : user_columns();
}

std::vector<tabular::Sheet> OrgImporter::template_sheets(Register reg) {
  return tabular::template_sheets(reg == Register::departments ? "部门" : "用户", columns(reg),
                                  notes(reg));
}

std::string OrgImporter::template_file(Register reg, tabular::Format format) {
  return tabular::template_file(reg == Register::departments ? "部门" : "用户",
                                reg == Register::departments ? "部门导入模板" : "用户导入模板",
                                columns(reg), notes(reg), format);
}

ImportReport OrgImporter::run(const authz::Principal& p, const authn::Client& c, Register reg,
                              std::string_view file_bytes, bool dry_run) {
  if (!authz::may(p, reg == Register::departments ? perm::departments_write : perm::users_write))
    throw Error(ErrorCode::forbidden);
  const tabular::Sheet sheet = tabular::read_import_file(file_bytes, kMaxImportRows);
  return reg == Register::departments ? run_departments(p, c, sheet, dry_run)
                                      : run_users(p, c, sheet, dry_run);
}

ImportReport OrgImporter::run_departments(const authz::Principal& p, const authn::Client& c,
                                          const tabular::Sheet& sheet, bool dry_run) {
  ImportReport report;
  report.reg = Register::departments;
  report.register_name = register_name(Register::departments);
  report.dry_run = dry_run;
  Parsed in = parse(department_columns(), sheet, report);
  if (!in.header_ok) return report;
  if (dry_run) {
    db_.read([&](db::Tx& tx) { plan_departments(tx, p, in, report); });
    return report;
  }
  const ImportReport header_only = report;  // warnings and row count, before any row is judged
  const int64_t now = clock_.now_ms();
  bool moved = false;
  report = db_.write([&](db::Tx& tx) {
    ImportReport r = header_only;
    DeptPlan plan = plan_departments(tx, p, in, r);
    if (!r.ok() || r.created + r.updated == 0) return r;  // nothing to write
    apply_departments(tx, p, c, plan, in, r, now);
    record_summary(tx, p, c, r, now);
    moved = plan.moves;
    return r;
  });
  report.dry_run = false;
  if (!report.ok()) {  // nothing was written
    report.discard_outcomes();
  }
  if (moved) auth_.invalidate_sessions();  // department paths feed every session's scope
  return report;
}

ImportReport OrgImporter::run_users(const authz::Principal& p, const authn::Client& c,
                                    const tabular::Sheet& sheet, bool dry_run) {
  ImportReport report;
  report.reg = Register::users;
  report.register_name = register_name(Register::users);
  report.dry_run = dry_run;
  const Parsed parsed = parse(user_columns(), sheet, report);
  if (!parsed.header_ok) return report;
  const ImportReport header_only = report;  // warnings and row count, before any row is judged
  Parsed in = parsed;
  const auto judged = db_.read([&](db::Tx& tx) {
    ImportReport r = header_only;
    plan_users(tx, p, in, r);
    return r;
  });
  if (dry_run || !judged.ok() || judged.created + judged.updated == 0) {
    report = judged;
    if (!dry_run && !report.ok()) {
      report.discard_outcomes();
    }
    return report;
  }

  // Initial passwords, hashed before the write transaction so it holds no lock meanwhile.
  std::unordered_map<std::string, NewPassword> passwords;
  const crypto::PasswordCost cost = initial_password_cost(auth_.policy().password_cost);
  const auto rows = line_index(in);
  for (const auto& o : judged.outcomes) {
    if (o.action != "created") continue;
    const Line& line = in.lines[rows.at(o.row)];
    std::string pw;
    do {
      pw = crypto::random_token(12);
    } while (authn::check_password(auth_.policy().password, pw, line.cells[kUsername],
                                   line.cells[kUserName], line.cells[kEmployeeNo]));
    std::string hash = crypto::hash_password(pw, cost);
    passwords.emplace(o.key, NewPassword{std::move(pw), std::move(hash)});
  }

  // Judged again inside the write transaction: another writer may have come in between.
  Parsed fresh = parsed;
  const int64_t now = clock_.now_ms();
  report = db_.write([&](db::Tx& tx) {
    ImportReport r = header_only;
    UserPlan plan = plan_users(tx, p, fresh, r);
    if (!r.ok() || r.created + r.updated == 0) return r;
    apply_users(tx, p, c, plan, fresh, r, passwords, now, masker_);
    record_summary(tx, p, c, r, now);
    return r;
  });
  report.dry_run = false;
  if (!report.ok()) {
    report.discard_outcomes();
    report.created_users.clear();
  }
  if (report.updated > 0) auth_.invalidate_sessions();  // departments feed sessions' scope
  return report;
}

}  // namespace custos::org
