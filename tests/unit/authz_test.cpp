// Issue #3 (identity and access), requirement SI-3: the one authorization decision point.
// MLPS 访问控制 (least privilege, data-scope control by department, classification labels vs
// clearance); ASVS 4.1.3 (least privilege), 4.2.1 (no access to other users'/departments'
// records), 8.2/8.3 (sensitive data only to the cleared). The list filter visible() must agree
// with may() row by row, on SQLite and, when TEST_PG_URL is set, on PostgreSQL.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "platform/authz/authz.h"
#include "test_db.h"

namespace custos::authz {
namespace {

// ---- permission patterns --------------------------------------------------------------------

TEST(AuthzPermission, Matches) {
  struct Case {
    const char* pattern;
    const char* permission;
    bool expected;
  };
  const std::vector<Case> cases = {
      {"org:users:read", "org:users:read", true},
      {"org:*:read", "org:users:read", true},
      {"org:*:read", "org:departments:read", true},
      {"org:*:read", "org:users:write", false},
      {"org:users:*", "org:users:read", true},
      {"org:users:*", "org:roles:read", false},
      {"*:*:*", "org:users:read", true},
      {"*:*:*", "audit:events:verify", true},
      {"*:*:read", "audit:events:verify", false},
      // Different segment counts never match, '*' included.
      {"*:*:*", "org:users", false},
      {"*:*:*", "org:users:read:extra", false},
      {"*:*", "org:users:read", false},
      {"*", "org:users:read", false},
      {"org:users", "org:users:read", false},
      {"org:users:read", "org:users", false},
      {"org:users:read:x", "org:users:read", false},
      {"*", "org", true},
      // Whole segments only; case-sensitive.
      {"org:users:read", "org:users:reader", false},
      {"org:user:read", "org:users:read", false},
      {"org:users:rea*", "org:users:read", false},
      {"ORG:users:read", "org:users:read", false},
      {"org:users:read", "org:*:read", false},  // a '*' in the permission is just text
  };
  for (const auto& c : cases)
    EXPECT_EQ(permission_matches(c.pattern, c.permission), c.expected)
        << c.pattern << " vs " << c.permission;
}

TEST(AuthzScope, ParseAndNameRoundTrip) {
  for (Scope s : {Scope::own, Scope::department, Scope::department_tree, Scope::custom, Scope::all})
    EXPECT_EQ(parse_scope(scope_name(s)), s);
  EXPECT_EQ(parse_scope("everything"), std::nullopt);
  EXPECT_EQ(parse_scope(""), std::nullopt);
  EXPECT_EQ(parse_scope("ALL"), std::nullopt);
}

// ---- the matrix -----------------------------------------------------------------------------
//
// Department tree:  /1/ ─┬─ /1/2/ (the principal's) ── /1/2/5/ (child)
//                        ├─ /1/3/ (sibling) ── /1/3/7/ (sibling's child)
//                        └─ /1/22/ (a sibling whose path starts with "/1/2")
//                   /9/ (another tree)
// The principal is user 100 in department 2; custom-scope roles cover /1/3/.

constexpr int64_t kMe = 100, kOther = 200;

enum Loc {
  own_dept,
  child_dept,
  sibling_dept,
  sibling_child,
  other_tree,
  own_record,
  prefix_trap,
  unassigned,
  kLocCount
};
const char* loc_name(int l) {
  static const char* names[] = {"own_dept",   "child_dept", "sibling_dept", "sibling_child",
                                "other_tree", "own_record", "prefix_trap",  "unassigned"};
  return names[l];
}

Resource at(int l, int classification) {
  Resource r;
  r.classification = classification;
  auto put = [&](int64_t dept, const char* path, int64_t owner) {
    r.department_id = dept;
    r.department_path = path;
    r.owner_user_id = owner;
  };
  switch (l) {
    case own_dept:
      put(2, "/1/2/", kOther);
      break;
    case child_dept:
      put(5, "/1/2/5/", kOther);
      break;
    case sibling_dept:
      put(3, "/1/3/", kOther);
      break;
    case sibling_child:
      put(7, "/1/3/7/", kOther);
      break;
    case other_tree:
      put(9, "/9/", kOther);
      break;
    case own_record:
      put(9, "/9/", kMe);
      break;
    case prefix_trap:
      put(22, "/1/22/", kOther);
      break;
    case unassigned:
      break;  // no department, no owner
  }
  return r;
}

Grant grant(std::string permission, Scope scope) {
  Grant g;
  g.permission = std::move(permission);
  g.scope = scope;
  if (scope == Scope::custom) {
    g.departments = {3};
    g.department_paths = {"/1/3/"};
  }
  return g;
}

Principal principal(std::vector<Grant> grants, int clearance) {
  Principal p;
  p.user_id = kMe;
  p.kind = "session";
  p.username = "me";
  p.department_id = 2;
  p.department_path = "/1/2/";
  p.clearance = clearance;
  p.grants = std::move(grants);
  return p;
}

// Whether a role of each scope reaches each location (classification and action aside).
// Written out by hand: this is the specification the implementation is checked against.
struct CoverageRow {
  Scope scope;
  bool covers[kLocCount];  // own_dept child sibling sib_child other_tree own_record trap unassigned
};
const std::vector<CoverageRow>& coverage() {
  static const std::vector<CoverageRow> rows = {
      {Scope::all, {true, true, true, true, true, true, true, true}},
      {Scope::department_tree, {true, true, false, false, false, true, false, false}},
      {Scope::department, {true, false, false, false, false, true, false, false}},
      {Scope::custom, {false, false, true, true, false, true, false, false}},
      {Scope::own, {false, false, false, false, false, true, false, false}},
  };
  return rows;
}

// Classification vs clearance, by hand.
struct ClearanceRow {
  int clearance, classification;
  bool allowed;
};
const std::vector<ClearanceRow>& clearances() {
  static const std::vector<ClearanceRow> rows = {
      {1, kPublic, true}, {1, kInternal, true}, {1, kSensitive, false}, {1, kConfidential, false},
      {3, kPublic, true}, {3, kInternal, true}, {3, kSensitive, true},  {3, kConfidential, true},
  };
  return rows;
}

// The role grants org:users:read; the action asked is either that (held) or org:users:write.
struct ActionRow {
  const char* permission;
  bool held;
};
const std::vector<ActionRow> kActions = {{"org:users:read", true}, {"org:users:write", false}};

TEST(AuthzMatrix, EveryCell) {
  int cells = 0;
  for (const auto& cov : coverage())
    for (int l = 0; l < kLocCount; ++l)
      for (const auto& cl : clearances())
        for (const auto& act : kActions) {
          const Principal p = principal({grant("org:users:read", cov.scope)}, cl.clearance);
          const bool expected = cov.covers[l] && cl.allowed && act.held;
          EXPECT_EQ(may(p, act.permission, at(l, cl.classification)), expected)
              << "scope=" << scope_name(cov.scope) << " loc=" << loc_name(l)
              << " clearance=" << cl.clearance << " classification=" << cl.classification
              << " action=" << act.permission;
          ++cells;
        }
  EXPECT_EQ(cells, 5 * kLocCount * 8 * 2);
}

TEST(AuthzMatrix, HoldingAPermissionWithoutARecord) {
  const Principal p = principal({grant("org:users:read", Scope::own)}, 1);
  EXPECT_TRUE(may(p, "org:users:read"));
  EXPECT_FALSE(may(p, "org:users:write"));
  EXPECT_FALSE(may(principal({}, 3), "org:users:read"));
  const Principal wild = principal({grant("org:*:read", Scope::department)}, 1);
  EXPECT_TRUE(may(wild, "org:departments:read"));
  EXPECT_FALSE(may(wild, "org:departments:write"));
  EXPECT_FALSE(may(wild, "audit:events:read"));
}

TEST(AuthzMatrix, ScopeBelongsToTheGrantThatMatches) {
  // Wide scope for write, narrow scope for read: reading a sibling's record is not allowed.
  const Principal p = principal(
      {grant("org:users:write", Scope::all), grant("org:users:read", Scope::department)}, 3);
  EXPECT_TRUE(may(p, "org:users:write", at(sibling_dept, kInternal)));
  EXPECT_FALSE(may(p, "org:users:read", at(sibling_dept, kInternal)));
  EXPECT_TRUE(may(p, "org:users:read", at(own_dept, kInternal)));
  // Two grants of the same permission: the union of their scopes.
  const Principal u = principal(
      {grant("org:users:read", Scope::department), grant("org:users:read", Scope::custom)}, 1);
  EXPECT_TRUE(may(u, "org:users:read", at(own_dept, kInternal)));
  EXPECT_TRUE(may(u, "org:users:read", at(sibling_child, kInternal)));
  EXPECT_FALSE(may(u, "org:users:read", at(child_dept, kInternal)));
  EXPECT_FALSE(may(u, "org:users:read", at(other_tree, kInternal)));
  // Clearance applies even to one's own record and to scope all.
  EXPECT_FALSE(may(u, "org:users:read", at(own_record, kSensitive)));
  EXPECT_FALSE(may(principal({grant("*:*:*", Scope::all)}, 1), "org:users:read",
                   at(own_dept, kConfidential)));
}

TEST(AuthzMatrix, PrincipalWithoutDepartment) {
  Principal p = principal(
      {grant("org:users:read", Scope::department_tree), grant("org:users:read", Scope::department)},
      3);
  p.department_id.reset();
  p.department_path.clear();
  for (int l = 0; l < kLocCount; ++l)
    EXPECT_EQ(may(p, "org:users:read", at(l, kInternal)), l == own_record) << loc_name(l);
}

TEST(AuthzApiToken, TokenScopesNarrowTheOwnersGrants) {
  Principal p = principal({grant("*:*:*", Scope::all)}, 3);
  p.kind = "api_token";
  p.token_scopes = {"org:users:read"};
  EXPECT_TRUE(may(p, "org:users:read"));
  EXPECT_TRUE(may(p, "org:users:read", at(other_tree, kConfidential)));
  EXPECT_FALSE(may(p, "org:users:write"));
  EXPECT_FALSE(may(p, "org:users:write", at(own_record, kPublic)));
  EXPECT_FALSE(may(p, "org:departments:read"));
  // A pattern scope.
  p.token_scopes = {"org:*:read"};
  EXPECT_TRUE(may(p, "org:departments:read", at(own_dept, kInternal)));
  EXPECT_FALSE(may(p, "iam:roles:read"));
  // No scopes: nothing.
  p.token_scopes.clear();
  EXPECT_FALSE(may(p, "org:users:read"));
  EXPECT_FALSE(may(p, "org:users:read", at(own_record, kPublic)));
  // A token scope never adds what the owner lacks.
  Principal q = principal({grant("org:users:read", Scope::department)}, 1);
  q.kind = "api_token";
  q.token_scopes = {"*:*:*"};
  EXPECT_FALSE(may(q, "org:users:write"));
  EXPECT_FALSE(may(q, "org:users:read", at(sibling_dept, kInternal)));
  EXPECT_TRUE(may(q, "org:users:read", at(own_dept, kInternal)));
  // Token scopes are ignored for sessions.
  Principal s = principal({grant("org:users:read", Scope::all)}, 1);
  s.token_scopes = {"audit:events:read"};
  EXPECT_TRUE(may(s, "org:users:read"));
}

// ---- visible(): the same rule as SQL, run for real ------------------------------------------

struct PrincipalCase {
  std::string label;
  Principal principal;
  std::string permission;
};

std::vector<PrincipalCase> all_principals() {
  std::vector<PrincipalCase> out;
  for (const auto& cov : coverage())
    for (int clearance : {1, 3})
      for (const auto& act : kActions)
        out.push_back({std::string(scope_name(cov.scope)) + "/c" + std::to_string(clearance) + "/" +
                           act.permission,
                       principal({grant("org:users:read", cov.scope)}, clearance), act.permission});
  out.push_back(
      {"write-all+read-department",
       principal({grant("org:users:write", Scope::all), grant("org:users:read", Scope::department)},
                 3),
       "org:users:read"});
  out.push_back(
      {"department+custom",
       principal({grant("org:users:read", Scope::department), grant("org:*:read", Scope::custom)},
                 1),
       "org:users:read"});
  out.push_back(
      {"tree+own",
       principal(
           {grant("org:users:read", Scope::department_tree), grant("org:users:*", Scope::own)}, 3),
       "org:users:read"});
  Principal wide_custom = principal({grant("org:users:read", Scope::custom)}, 3);
  wide_custom.grants[0].departments = {3, 9};
  wide_custom.grants[0].department_paths = {"/1/3/", "/9/"};
  out.push_back({"custom-two-subtrees", wide_custom, "org:users:read"});
  Principal custom_none = principal({grant("org:users:read", Scope::custom)}, 3);
  custom_none.grants[0].departments.clear();
  custom_none.grants[0].department_paths.clear();
  out.push_back({"custom-no-departments", custom_none, "org:users:read"});
  Principal no_dept = principal(
      {grant("org:users:read", Scope::department_tree), grant("org:users:read", Scope::department)},
      3);
  no_dept.department_id.reset();
  no_dept.department_path.clear();
  out.push_back({"no-department", no_dept, "org:users:read"});
  out.push_back({"no-grants", principal({}, 3), "org:users:read"});
  Principal token = principal({grant("*:*:*", Scope::all)}, 1);
  token.kind = "api_token";
  token.token_scopes = {"org:users:read"};
  out.push_back({"token-read", token, "org:users:read"});
  out.push_back({"token-write", token, "org:users:write"});
  Principal token_tree = principal({grant("org:users:read", Scope::department_tree)}, 3);
  token_tree.kind = "api_token";
  token_tree.token_scopes = {"org:*:read"};
  out.push_back({"token-tree", token_tree, "org:users:read"});
  return out;
}

class AuthzVisible : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    database = testing_db::open_fresh(GetParam());
    database->write([&](db::Tx& tx) {
      tx.exec_script(
          "CREATE TABLE recs (id BIGINT PRIMARY KEY, department_id BIGINT, path TEXT, "
          "owner_user_id BIGINT, classification INTEGER NOT NULL)");
      int64_t id = 0;
      for (int l = 0; l < kLocCount; ++l)
        for (int c = kPublic; c <= kConfidential; ++c) {
          const Resource r = at(l, c);
          rows.push_back({++id, r});
          tx.exec(
              "INSERT INTO recs (id, department_id, path, owner_user_id, classification) VALUES "
              "(?, ?, ?, ?, ?)",
              {id, r.department_id ? db::Value{*r.department_id} : db::null(),
               r.department_path.empty() ? db::null() : db::Value{r.department_path},
               r.owner_user_id ? db::Value{*r.owner_user_id} : db::null(), int64_t{c}});
        }
    });
  }
  void TearDown() override { database->close(); }

  std::set<int64_t> selected(const Filter& f) {
    return database->read([&](db::Tx& tx) {
      std::set<int64_t> ids;
      auto r = tx.query("SELECT id FROM recs WHERE " + f.sql,
                        std::span<const db::Value>(f.params.data(), f.params.size()));
      for (const auto& row : r.rows) ids.insert(db::as_int(row.at(0)));
      return ids;
    });
  }
  int64_t counted(const Filter& f) {
    return database->read([&](db::Tx& tx) {
      auto r = tx.query("SELECT COUNT(*) FROM recs WHERE " + f.sql,
                        std::span<const db::Value>(f.params.data(), f.params.size()));
      return db::as_int(r.rows.at(0).at(0));
    });
  }

  std::unique_ptr<db::Db> database;
  std::vector<std::pair<int64_t, Resource>> rows;
  const Columns cols{"department_id", "path", "owner_user_id", "classification"};
};

TEST_P(AuthzVisible, AgreesWithMayRowByRowForEveryPrincipal) {
  ASSERT_EQ(rows.size(), static_cast<size_t>(kLocCount * 4));
  for (const PrincipalCase& c : all_principals()) {
    std::set<int64_t> expected;
    for (const auto& [id, r] : rows)
      if (may(c.principal, c.permission, r)) expected.insert(id);
    const Filter f = visible(c.principal, c.permission, cols);
    EXPECT_EQ(selected(f), expected) << c.label << ": " << f.sql;
    EXPECT_EQ(counted(f), static_cast<int64_t>(expected.size())) << c.label;
  }
}

TEST_P(AuthzVisible, CountsMatchTheHandWrittenMatrix) {
  // Independent of may(): rows per scope from the coverage table × rows per clearance.
  for (const auto& cov : coverage())
    for (int clearance : {1, 3}) {
      int64_t expected = 0;
      for (int l = 0; l < kLocCount; ++l)
        if (cov.covers[l])
          for (const auto& cl : clearances())
            if (cl.clearance == clearance && cl.allowed) ++expected;
      const Principal p = principal({grant("org:users:read", cov.scope)}, clearance);
      EXPECT_EQ(counted(visible(p, "org:users:read", cols)), expected)
          << scope_name(cov.scope) << " clearance " << clearance;
      EXPECT_EQ(counted(visible(p, "org:users:write", cols)), 0) << scope_name(cov.scope);
    }
}

TEST_P(AuthzVisible, DeniedFiltersAreFalseWithoutParameters) {
  Principal token = principal({grant("*:*:*", Scope::all)}, 3);
  token.kind = "api_token";
  token.token_scopes = {"org:users:read"};
  Filter f = visible(token, "org:users:write", cols);
  EXPECT_EQ(f.sql, "1=0");
  EXPECT_TRUE(f.params.empty());
  f = visible(principal({}, 3), "org:users:read", cols);
  EXPECT_EQ(f.sql, "1=0");
  EXPECT_TRUE(f.params.empty());
  EXPECT_EQ(counted(f), 0);
}

TEST_P(AuthzVisible, UnclassifiedTablesHaveNoClearanceTerm) {
  const Columns unclassified{"department_id", "path", "owner_user_id", ""};
  const Principal p = principal({grant("org:users:read", Scope::department)}, 1);
  const Filter f = visible(p, "org:users:read", unclassified);
  EXPECT_EQ(f.sql.find("classification"), std::string::npos) << f.sql;
  // own_dept (4 classifications) + own_record (4).
  EXPECT_EQ(counted(f), 8);
}

// ---- explicit grants (SI-3 "or an explicit grant"; SI-4) -----------------------------------

ObjectGrant object_grant(int64_t id, const char* permission, int64_t object_id,
                         const char* type = "rec") {
  return {id, permission, type, object_id, 0};
}

TEST(AuthzObjectGrant, AllowsExactlyItsRecordAndPermission) {
  Principal p = principal({}, 0);  // no roles, lowest clearance
  p.object_grants = {object_grant(7, "org:users:read", 42)};
  Resource r = at(other_tree, kConfidential);
  r.object_type = "rec";
  r.object_id = 42;
  const Decision d = decide(p, "org:users:read", r);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.grant_id, std::optional<int64_t>(7));
  EXPECT_FALSE(may(p, "org:users:write", r)) << "another action";
  Resource other = r;
  other.object_id = 43;
  EXPECT_FALSE(may(p, "org:users:read", other)) << "another record";
  other = r;
  other.object_type = "customer";
  EXPECT_FALSE(may(p, "org:users:read", other)) << "another type with the same id";
  other = r;
  other.object_type.clear();
  EXPECT_FALSE(may(p, "org:users:read", other)) << "a resource without a type takes no grant";
  EXPECT_FALSE(may(p, "org:users:read")) << "a grant is not a permission at large";
  EXPECT_TRUE(may_list(p, "org:users:read", "rec"));
  EXPECT_FALSE(may_list(p, "org:users:read", "customer"));
  EXPECT_FALSE(may_list(p, "org:users:write", "rec"));
}

TEST(AuthzObjectGrant, ARoleThatAllowsNeedsNoGrant) {
  Principal p = principal({grant("org:users:read", Scope::all)}, 3);
  p.object_grants = {object_grant(7, "org:users:read", 42)};
  Resource r = at(own_dept, kInternal);
  r.object_type = "rec";
  r.object_id = 42;
  const Decision d = decide(p, "org:users:read", r);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.grant_id, std::nullopt) << "the role allowed it: not a use of the grant";
  // Clearance below the record: only the grant allows it, and says so.
  p.clearance = 0;
  EXPECT_EQ(decide(p, "org:users:read", r).grant_id, std::optional<int64_t>(7));
}

TEST(AuthzObjectGrant, TokenScopesNarrowGrantsToo) {
  Principal p = principal({}, 3);
  p.kind = "api_token";
  p.token_scopes = {"org:departments:read"};
  p.object_grants = {object_grant(7, "org:users:read", 42)};
  Resource r = at(own_dept, kInternal);
  r.object_type = "rec";
  r.object_id = 42;
  EXPECT_FALSE(may(p, "org:users:read", r));
  EXPECT_FALSE(may_list(p, "org:users:read", "rec"));
}

TEST_P(AuthzVisible, ExplicitGrantsAddExactlyTheirRows) {
  const Columns with_grants{"department_id",  "path", "owner_user_id",
                            "classification", "id",   "rec"};
  std::vector<PrincipalCase> cases;
  Principal only = principal({}, 0);
  only.object_grants = {object_grant(1, "org:users:read", 3), object_grant(2, "org:users:read", 17),
                        object_grant(3, "org:users:write", 5),
                        object_grant(4, "org:users:read", 9, "customer")};
  cases.push_back({"grants-only", only, "org:users:read"});
  cases.push_back({"grants-only-write", only, "org:users:write"});
  Principal mixed = principal({grant("org:users:read", Scope::department)}, 1);
  mixed.object_grants = {object_grant(5, "org:*:read", static_cast<int64_t>(rows.size())),
                         object_grant(6, "org:users:read", 1)};
  cases.push_back({"role-and-grants", mixed, "org:users:read"});
  Principal all = principal({grant("org:users:read", Scope::all)}, 3);
  all.object_grants = {object_grant(7, "org:users:read", 2)};
  cases.push_back({"all-scope", all, "org:users:read"});
  Principal token = principal({}, 3);
  token.kind = "api_token";
  token.token_scopes = {"org:departments:read"};
  token.object_grants = {object_grant(8, "org:users:read", 4)};
  cases.push_back({"token-outside-scope", token, "org:users:read"});
  for (const PrincipalCase& c : cases) {
    std::set<int64_t> expected;
    for (auto [id, r] : rows) {
      r.object_type = "rec";
      r.object_id = id;
      if (may(c.principal, c.permission, r)) expected.insert(id);
    }
    const Filter f = visible(c.principal, c.permission, with_grants);
    EXPECT_EQ(selected(f), expected) << c.label << ": " << f.sql;
    EXPECT_EQ(counted(f), static_cast<int64_t>(expected.size())) << c.label;
  }
  // The grants-only principal sees its two rows and nothing else.
  EXPECT_EQ(selected(visible(only, "org:users:read", with_grants)), (std::set<int64_t>{3, 17}));
}

INSTANTIATE_TEST_SUITE_P(Engines, AuthzVisible, ::testing::ValuesIn(testing_db::engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace custos::authz
