#include "platform/authz/authz.h"

namespace custos::authz {

std::optional<Scope> parse_scope(std::string_view s) {
  if (s == "own") return Scope::own;
  if (s == "department") return Scope::department;
  if (s == "department_tree") return Scope::department_tree;
  if (s == "custom") return Scope::custom;
  if (s == "all") return Scope::all;
  return std::nullopt;
}

std::string_view scope_name(Scope s) {
  switch (s) {
    case Scope::own:
      return "own";
    case Scope::department:
      return "department";
    case Scope::department_tree:
      return "department_tree";
    case Scope::custom:
      return "custom";
    case Scope::all:
      return "all";
  }
  return "own";
}

bool permission_matches(std::string_view pattern, std::string_view permission) {
  // Segment by segment; '*' matches exactly one segment; both need the same segment count.
  while (true) {
    size_t pc = pattern.find(':'), qc = permission.find(':');
    std::string_view ps = pattern.substr(0, pc), qs = permission.substr(0, qc);
    if (ps != "*" && ps != qs) return false;
    if ((pc == std::string_view::npos) != (qc == std::string_view::npos)) return false;
    if (pc == std::string_view::npos) return true;
    pattern.remove_prefix(pc + 1);
    permission.remove_prefix(qc + 1);
  }
}

namespace {

bool token_allows(const Principal& p, std::string_view permission) {
  if (p.kind != "api_token") return true;
  for (const auto& s : p.token_scopes)
    if (permission_matches(s, permission)) return true;
  return false;
}

bool scope_covers(const Principal& p, const Grant& g, const Resource& r) {
  switch (g.scope) {
    case Scope::all:
      return true;
    case Scope::department_tree:
      return !p.department_path.empty() && !r.department_path.empty() &&
             r.department_path.rfind(p.department_path, 0) == 0;
    case Scope::department:
      return p.department_id && r.department_id && *p.department_id == *r.department_id;
    case Scope::custom:
      for (const auto& path : g.department_paths)
        if (!r.department_path.empty() && r.department_path.rfind(path, 0) == 0) return true;
      return false;
    case Scope::own:
      return r.owner_user_id && *r.owner_user_id == p.user_id;
  }
  return false;
}

}  // namespace

bool may(const Principal& p, std::string_view permission) {
  if (!token_allows(p, permission)) return false;
  for (const Grant& g : p.grants)
    if (permission_matches(g.permission, permission)) return true;
  return false;
}

Decision decide(const Principal& p, std::string_view permission, const Resource& r) {
  if (!token_allows(p, permission)) return {};
  if (p.clearance >= r.classification)
    for (const Grant& g : p.grants) {
      if (!permission_matches(g.permission, permission)) continue;
      // One's own records are always in scope of a permission one holds.
      if (r.owner_user_id && *r.owner_user_id == p.user_id) return {true, std::nullopt};
      if (scope_covers(p, g, r)) return {true, std::nullopt};
    }
  if (!r.object_type.empty())
    for (const ObjectGrant& g : p.object_grants)
      if (g.object_id == r.object_id && g.object_type == r.object_type &&
          permission_matches(g.permission, permission))
        return {true, g.id};
  return {};
}

bool may(const Principal& p, std::string_view permission, const Resource& r) {
  return decide(p, permission, r).allowed;
}

bool may_list(const Principal& p, std::string_view permission, std::string_view object_type) {
  if (may(p, permission)) return true;
  if (!token_allows(p, permission)) return false;
  for (const ObjectGrant& g : p.object_grants)
    if (g.object_type == object_type && permission_matches(g.permission, permission)) return true;
  return false;
}

namespace {

// The rows roles admit: scope ∧ clearance ≥ classification.
Filter visible_by_roles(const Principal& p, std::string_view permission, const Columns& cols) {
  Filter f;
  std::vector<std::string> ors;
  auto add = [&](std::string sql) { ors.push_back(std::move(sql)); };
  bool all = false;
  for (const Grant& g : p.grants) {
    if (!permission_matches(g.permission, permission)) continue;
    switch (g.scope) {
      case Scope::all:
        all = true;
        break;
      case Scope::department_tree:
        if (!cols.department_path.empty() && !p.department_path.empty()) {
          add(cols.department_path + " LIKE ?");
          f.params.emplace_back(p.department_path + "%");
        } else if (p.department_id && !cols.department_id.empty()) {
          add(cols.department_id + " = ?");
          f.params.emplace_back(*p.department_id);
        }
        break;
      case Scope::department:
        if (p.department_id && !cols.department_id.empty()) {
          add(cols.department_id + " = ?");
          f.params.emplace_back(*p.department_id);
        }
        break;
      case Scope::custom:
        for (const auto& path : g.department_paths)
          if (!cols.department_path.empty()) {
            add(cols.department_path + " LIKE ?");
            f.params.emplace_back(path + "%");
          }
        break;
      case Scope::own:
        break;
    }
    if (!cols.owner_user_id.empty()) {
      add(cols.owner_user_id + " = ?");
      f.params.emplace_back(p.user_id);
    }
  }
  std::string scope_sql;
  if (all) {
    scope_sql = "1=1";
    f.params.clear();
  } else if (ors.empty()) {
    f.sql = "1=0";
    f.params.clear();
    return f;
  } else {
    scope_sql = "(";
    for (size_t i = 0; i < ors.size(); ++i) scope_sql += (i ? " OR " : "") + ors[i];
    scope_sql += ")";
  }
  if (!cols.classification.empty()) {
    f.sql = "(" + scope_sql + " AND " + cols.classification + " <= ?)";
    f.params.emplace_back(int64_t{p.clearance});
  } else {
    f.sql = scope_sql;
  }
  return f;
}

}  // namespace

Filter visible(const Principal& p, std::string_view permission, const Columns& cols) {
  if (!token_allows(p, permission)) return {"1=0", {}};
  Filter f = visible_by_roles(p, permission, cols);
  if (cols.id.empty() || cols.object_type.empty()) return f;
  // ∨ the records explicitly granted.
  std::vector<db::Value> ids;
  for (const ObjectGrant& g : p.object_grants)
    if (g.object_type == cols.object_type && permission_matches(g.permission, permission))
      ids.emplace_back(g.object_id);
  if (ids.empty()) return f;
  std::string in = cols.id + " IN (";
  for (size_t i = 0; i < ids.size(); ++i) in += i ? ", ?" : "?";
  in += ")";
  if (f.sql == "1=0") return {in, std::move(ids)};
  if (f.sql == "1=1") return f;
  f.sql = "(" + f.sql + " OR " + in + ")";
  f.params.insert(f.params.end(), ids.begin(), ids.end());
  return f;
}

}  // namespace custos::authz
