// Issue #3 item 1: CSV and XLSX import of departments and users with a dry-run report (row,
// column, error) and idempotent re-import by code / employee number. Every case runs on SQLite
// and, when TEST_PG_URL is set, on PostgreSQL.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "modules/org/org_import.h"
#include "modules/org/org_service.h"
#include "platform/errors/error.h"
#include "platform/storage/migrations.h"
#include "test_db.h"

namespace custos::org {
namespace {

constexpr int64_t kStart = 1'700'000'000'000;
const authn::Client kClient{"10.0.0.9", "gtest/1.0", "req-import"};

authn::SecurityPolicy fast_policy() {
  authn::SecurityPolicy p;
  p.password_cost = {1, 8u << 20};
  return p;
}

std::string csv(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\r\n";
  return out;
}

using Cells = std::set<std::pair<std::size_t, std::string>>;  // (row, column)

Cells cells_of(const std::vector<ImportIssue>& issues) {
  Cells out;
  for (const auto& i : issues) out.emplace(i.row, i.column);
  return out;
}

std::string dump(const ImportReport& r) {
  std::string out;
  for (const auto& e : r.errors)
    out +=
        "  row " + std::to_string(e.row) + " " + e.column + " " + e.code + ": " + e.message + "\n";
  return out;
}

const ImportIssue* find_issue(const ImportReport& r, std::size_t row, const std::string& column) {
  for (const auto& e : r.errors)
    if (e.row == row && e.column == column) return &e;
  return nullptr;
}

class OrgImport : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    crypto::init();
    database = testing_db::open_fresh(GetParam());
    db::migrate(*database);
    auth = std::make_unique<authn::AuthService>(*database, clock, fast_policy());
    importer = std::make_unique<OrgImporter>(*database, clock, *auth, masker);
    const int64_t me = database->write([&](db::Tx& tx) {
      return db::as_int(tx.one("INSERT INTO users (org_id, username, name, created_at, updated_at) "
                               "VALUES (1, 'importer', '导入员', ?, ?) RETURNING id",
                               {kStart, kStart})
                            ->at(0));
    });
    admin.user_id = me;
    admin.kind = "session";
    admin.username = "importer";
    for (const char* perm :
         {perm::departments_write, perm::users_write, perm::departments_read, perm::users_read})
      admin.grants.push_back({perm, authz::Scope::all, {}, {}});
  }
  void TearDown() override { database->close(); }

  int64_t scalar(const std::string& sql, std::initializer_list<db::Value> params = {}) {
    return database->read(
        [&](db::Tx& tx) { return db::as_int(tx.query(sql, params).rows.at(0).at(0)); });
  }
  std::string text(const std::string& sql, std::initializer_list<db::Value> params = {}) {
    return database->read(
        [&](db::Tx& tx) { return db::as_text(tx.query(sql, params).rows.at(0).at(0)); });
  }
  int64_t audits() { return scalar("SELECT COUNT(*) FROM audit_events"); }
  int64_t departments() { return scalar("SELECT COUNT(*) FROM departments"); }
  int64_t users() { return scalar("SELECT COUNT(*) FROM users"); }

  ImportReport run(Register reg, const std::string& file, bool dry_run,
                   const authz::Principal* p = nullptr) {
    return importer->run(p ? *p : admin, kClient, reg, file, dry_run);
  }

  // Departments A (客服部) with child A1, and B (信息管理部).
  void seed_departments() {
    auto r =
        run(Register::departments,
            csv({"编码,名称,上级编码,类型", "A,客服部,,", "A1,客服一组,A,", "B,信息管理部,,it"}),
            false);
    ASSERT_TRUE(r.ok()) << dump(r);
    ASSERT_EQ(r.created, 3u);
  }

  ManualClock clock{kStart};
  privacy::Masker masker;
  std::unique_ptr<db::Db> database;
  std::unique_ptr<authn::AuthService> auth;
  std::unique_ptr<OrgImporter> importer;
  authz::Principal admin;
};

// ---- departments ----------------------------------------------------------------------------

TEST_P(OrgImport, DryRunReportsAndWritesNothing) {
  const auto file = csv({"编码,名称,上级编码", "A,客服部,", "A1,客服一组,A"});
  const int64_t audit_before = audits();
  ImportReport r = run(Register::departments, file, true);
  EXPECT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.dry_run);
  EXPECT_EQ(r.rows, 2u);
  EXPECT_EQ(r.created, 2u);
  ASSERT_EQ(r.outcomes.size(), 2u);
  EXPECT_EQ(r.outcomes[0].row, 2u);
  EXPECT_EQ(r.outcomes[0].key, "A");
  EXPECT_EQ(r.outcomes[0].action, "created");
  EXPECT_EQ(departments(), 0);
  EXPECT_EQ(audits(), audit_before);

  // Users too: a dry run creates nobody and reveals no password.
  r = run(Register::users, csv({"工号,用户名,姓名", "E1,alice,王丽"}), true);
  EXPECT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.created, 1u);
  EXPECT_TRUE(r.created_users.empty());
  EXPECT_EQ(users(), 1);  // the importer only
  EXPECT_EQ(audits(), audit_before);
}

TEST_P(OrgImport, EveryBadDepartmentRowAndColumnIsReported) {
  const auto file = csv({
      "编码,名称,上级编码,类型,负责人工号",
      ",缺编码,,,",                             // 2: code required
      "A,,,,",                                  // 3: name required
      "B,乙,NOPE,,",                            // 4: no such parent
      "C,丙,,weird,",                           // 5: bad kind
      "D,丁,,,",                                // 6: fine
      "D,丁二,,,",                              // 7: duplicate code
      "X'; DROP TABLE departments;--,注入,,,",  // 8: SQL metacharacters in the code
      "E,戊,F,,",                               // 9: E -> F -> E
      "F,己,E,,",                               // 10
      "G,庚,,,E999",                            // 11: no such head
      "H,\x01控制,,,",                          // 12: control character
      "S,自己,S,,",                             // 13: its own parent
      "P,戊,\x02"
      "A,,",  // 14: a control character in a reference: reported once
  });
  for (bool dry_run : {true, false}) {
    ImportReport r = run(Register::departments, file, dry_run);
    EXPECT_FALSE(r.ok());
    const Cells expected{{2, "code"},        {3, "name"},         {4, "parent_code"},
                         {5, "kind"},        {7, "code"},         {8, "code"},
                         {9, "parent_code"}, {10, "parent_code"}, {11, "head_employee_no"},
                         {12, "name"},       {13, "parent_code"}, {14, "parent_code"}};
    EXPECT_EQ(cells_of(r.errors), expected) << dump(r);
    EXPECT_EQ(find_issue(r, 2, "code")->message, "required");
    EXPECT_EQ(find_issue(r, 4, "parent_code")->message, "no such department");
    EXPECT_EQ(find_issue(r, 7, "code")->message, "duplicate of row 6");
    EXPECT_EQ(find_issue(r, 8, "code")->message, "letters, digits, '.', '_' or '-'");
    EXPECT_EQ(find_issue(r, 9, "parent_code")->message, "parent codes form a cycle");
    EXPECT_EQ(find_issue(r, 14, "parent_code")->message, "control characters are not allowed");
    for (const auto& e : r.errors) EXPECT_EQ(e.code, "validation_failed") << e.message;
    EXPECT_EQ(r.rows, 13u);
    EXPECT_EQ(r.errors.size(), expected.size());
    EXPECT_EQ(departments(), 0);
    EXPECT_EQ(audits(), 0);
    if (!dry_run) {
      EXPECT_EQ(r.created, 0u);
      EXPECT_TRUE(r.outcomes.empty());
    }
  }
}

TEST_P(OrgImport, HeaderProblemsAreFileLevelErrorsAndUnknownColumnsWarnings) {
  ImportReport r = run(Register::departments, csv({"名称,备注", "客服部,x"}), true);
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].row, 1u);
  EXPECT_EQ(r.errors[0].column, "code");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].row, 1u);
  EXPECT_EQ(r.warnings[0].column, "备注");
  EXPECT_TRUE(r.outcomes.empty());

  r = run(Register::departments, csv({"编码,名称,Name", "A,客服部,x"}), true);
  EXPECT_EQ(cells_of(r.errors), (Cells{{1, "Name"}})) << dump(r);

  // English headers, keys and required-markers are all accepted.
  r = run(Register::departments, csv({"*Code,name,Parent code", "A,客服部,"}), true);
  EXPECT_TRUE(r.ok()) << dump(r);
}

TEST_P(OrgImport, CleanRunCreatesAndReimportIsUnchangedWithoutAudit) {
  // The child comes before its parent; kinds in both spellings; a name with SQL metacharacters
  // is just a name.
  const auto file = csv({"编码,名称,上级编码,类型", "A1,客服一组,A,",
                         "A,\"Robert'); DROP TABLE departments;--\",,普通", "B,信息管理部,,it",
                         "B1,财务科,B,财务"});
  ImportReport r = run(Register::departments, file, false);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_FALSE(r.dry_run);
  EXPECT_EQ(r.created, 4u);
  EXPECT_EQ(departments(), 4);
  EXPECT_EQ(text("SELECT name FROM departments WHERE code = 'A'"),
            "Robert'); DROP TABLE departments;--");
  EXPECT_EQ(text("SELECT kind FROM departments WHERE code = 'B'"), "it");
  EXPECT_EQ(text("SELECT kind FROM departments WHERE code = 'B1'"), "finance");
  const int64_t a = scalar("SELECT id FROM departments WHERE code = 'A'");
  const int64_t a1 = scalar("SELECT id FROM departments WHERE code = 'A1'");
  EXPECT_EQ(scalar("SELECT parent_id FROM departments WHERE id = ?", {a1}), a);
  EXPECT_EQ(text("SELECT path FROM departments WHERE id = ?", {a1}),
            "/" + std::to_string(a) + "/" + std::to_string(a1) + "/");
  // One record per department and the summary.
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'org.department.create'"), 4);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'org.import'"), 1);
  EXPECT_NE(
      text("SELECT changes FROM audit_events WHERE action = 'org.import'").find(R"("created":4)"),
      std::string::npos);

  const int64_t audit_before = audits();
  r = run(Register::departments, file, false);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.created, 0u);
  EXPECT_EQ(r.updated, 0u);
  EXPECT_EQ(r.unchanged, 4u);
  for (const auto& o : r.outcomes) EXPECT_EQ(o.action, "unchanged");
  EXPECT_EQ(audits(), audit_before);
  EXPECT_EQ(scalar("SELECT MAX(version) FROM departments"), 1);
}

TEST_P(OrgImport, ChangingOneCellUpdatesJustThatRow) {
  seed_departments();
  const int64_t audit_before = audits();
  ImportReport r = run(
      Register::departments,
      csv({"编码,名称,上级编码,类型", "A,客服部,,", "A1,客服二组,A,", "B,信息管理部,,it"}), false);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.updated, 1u);
  EXPECT_EQ(r.unchanged, 2u);
  ASSERT_EQ(r.outcomes.size(), 3u);
  EXPECT_EQ(r.outcomes[1].action, "updated");
  EXPECT_EQ(r.outcomes[1].fields, std::vector<std::string>{"name"});
  EXPECT_EQ(text("SELECT name FROM departments WHERE code = 'A1'"), "客服二组");
  EXPECT_EQ(scalar("SELECT version FROM departments WHERE code = 'A1'"), 2);
  EXPECT_EQ(scalar("SELECT version FROM departments WHERE code = 'A'"), 1);
  EXPECT_EQ(audits(), audit_before + 2);  // the update and the summary
  const std::string changes =
      text("SELECT changes FROM audit_events WHERE action = 'org.department.update'");
  EXPECT_NE(changes.find("客服二组"), std::string::npos) << changes;
  EXPECT_EQ(changes.find("parent_id"), std::string::npos) << changes;

  // A file without the parent column leaves parents alone.
  r = run(Register::departments, csv({"编码,名称", "A1,客服二组"}), false);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.unchanged, 1u);
}

TEST_P(OrgImport, MovesRerootTheSubtreeAndRefuseCycles) {
  seed_departments();
  const int64_t a = scalar("SELECT id FROM departments WHERE code = 'A'");
  const int64_t a1 = scalar("SELECT id FROM departments WHERE code = 'A1'");
  const int64_t b = scalar("SELECT id FROM departments WHERE code = 'B'");
  // A under its own child: refused.
  ImportReport r = run(Register::departments, csv({"编码,名称,上级编码", "A,客服部,A1"}), true);
  ASSERT_EQ(cells_of(r.errors), (Cells{{2, "parent_code"}})) << dump(r);
  EXPECT_EQ(r.errors[0].message, "a department cannot move under itself");
  // A under B: A1 follows.
  r = run(Register::departments, csv({"编码,名称,上级编码", "A,客服部,B"}), false);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.updated, 1u);
  const std::string b_path = "/" + std::to_string(b) + "/";
  EXPECT_EQ(text("SELECT path FROM departments WHERE id = ?", {a}),
            b_path + std::to_string(a) + "/");
  EXPECT_EQ(text("SELECT path FROM departments WHERE id = ?", {a1}),
            b_path + std::to_string(a) + "/" + std::to_string(a1) + "/");
  EXPECT_EQ(scalar("SELECT MIN(authz_version) FROM users"), 2);  // cached grants are stale
  // The kind of an existing department is not the import's to change.
  r = run(Register::departments, csv({"编码,名称,类型", "B,信息管理部,finance"}), true);
  EXPECT_EQ(cells_of(r.errors), (Cells{{2, "kind"}})) << dump(r);
}

TEST_P(OrgImport, HeadsResolveByEmployeeNumber) {
  seed_departments();
  ASSERT_TRUE(
      run(Register::users, csv({"工号,用户名,姓名,部门编码", "E1,alice,王丽,A"}), false).ok());
  const int64_t alice = scalar("SELECT id FROM users WHERE employee_no = 'E1'");
  ImportReport r = run(Register::departments,
                       csv({"编码,名称,负责人工号", "A,客服部,E1", "C,新部门,E1"}), false);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.updated, 1u);
  EXPECT_EQ(r.created, 1u);
  EXPECT_EQ(scalar("SELECT head_user_id FROM departments WHERE code = 'A'"), alice);
  EXPECT_EQ(scalar("SELECT head_user_id FROM departments WHERE code = 'C'"), alice);
}

// ---- users ----------------------------------------------------------------------------------

TEST_P(OrgImport, EveryBadUserRowAndColumnIsReported) {
  seed_departments();
  const int64_t users_before = users();
  const auto file = csv({
      "工号,用户名,姓名,部门编码,上级工号,邮箱",
      ",alice,王丽,,,",                           // 2: employee_no required
      "E2,ali ce,王丽,,,",                        // 3: a space in the username
      "E3,carol,,,,",                             // 4: name required
      "E4,dave,李,NOPE,,",                        // 5: no such department
      "E5,erin,李,,,erin.example.com",            // 6: no @
      "E6,frank,李,,E404,",                       // 7: no such manager
      "E6,gina,李,,,",                            // 8: duplicate employee number
      "E8,frank,李,,,",                           // 9: duplicate username
      "E9,\"hank'; DROP TABLE users;--\",李,,,",  // 10: SQL metacharacters
      "E10,ivan,李,,E10,",                        // 11: one's own manager
      "E11,importer,李,,,",                       // 12: username taken
      "E12,jack,李,A,E13,jack@example.com",       // 13: fine, manager later in the file
      "E13,kate,李,B,,",                          // 14: fine
  });
  for (bool dry_run : {true, false}) {
    ImportReport r = run(Register::users, file, dry_run);
    const Cells expected{{2, "employee_no"},          {3, "username"}, {4, "name"},
                         {5, "department_code"},      {6, "email"},    {7, "manager_employee_no"},
                         {8, "employee_no"},          {9, "username"}, {10, "username"},
                         {11, "manager_employee_no"}, {12, "username"}};
    EXPECT_EQ(cells_of(r.errors), expected) << dump(r);
    EXPECT_EQ(find_issue(r, 3, "username")->message,
              "3-64 of lower-case letters, digits, '.', '_' or '-'");
    EXPECT_EQ(find_issue(r, 6, "email")->message, "an e-mail address");
    EXPECT_EQ(find_issue(r, 8, "employee_no")->message, "duplicate of row 7");
    EXPECT_EQ(find_issue(r, 11, "manager_employee_no")->message, "not oneself");
    EXPECT_EQ(find_issue(r, 12, "username")->code, "conflict");
    EXPECT_EQ(users(), users_before);
    EXPECT_TRUE(r.created_users.empty());
    if (dry_run) {
      EXPECT_EQ(r.created, 2u);  // the good rows would be created
    }
  }
}

TEST_P(OrgImport, UsersAreCreatedWithInitialPasswordsThenUnchangedThenUpdated) {
  seed_departments();
  const auto file = csv({"工号,用户名,姓名,部门编码,上级工号,邮箱",
                         "E1,alice,王丽,A,E3,alice@example.com",  // manager is a later row
                         "E2,bob,李强,B,,", "E3,carol,张敏,A1,,"});
  ImportReport r = run(Register::users, file, false);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.created, 3u);
  ASSERT_EQ(r.created_users.size(), 3u);
  EXPECT_EQ(r.created_users[0].employee_no, "E1");
  EXPECT_EQ(r.created_users[0].username, "alice");
  EXPECT_GE(r.created_users[0].initial_password.size(), 12u);
  EXPECT_NE(r.created_users[0].initial_password, r.created_users[1].initial_password);
  const int64_t carol = scalar("SELECT id FROM users WHERE employee_no = 'E3'");
  EXPECT_EQ(scalar("SELECT manager_id FROM users WHERE employee_no = 'E1'"), carol);
  EXPECT_EQ(scalar("SELECT department_id FROM users WHERE employee_no = 'E2'"),
            scalar("SELECT id FROM departments WHERE code = 'B'"));
  EXPECT_EQ(scalar("SELECT must_change_password FROM users WHERE employee_no = 'E1'"), 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'org.user.create'"), 3);
  // The password is in the report only: not in the audit trail.
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE changes LIKE ?",
                   {"%" + r.created_users[0].initial_password + "%"}),
            0);
  // It logs in, and must be changed.
  const auto login =
      auth->login("alice", r.created_users[0].initial_password, std::nullopt, kClient);
  EXPECT_TRUE(login.must_change_password);

  int64_t audit_before = audits();
  r = run(Register::users, file, false);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.unchanged, 3u);
  EXPECT_TRUE(r.created_users.empty());
  EXPECT_EQ(audits(), audit_before);

  // One cell changed: bob moves to A.
  r = run(Register::users,
          csv({"工号,用户名,姓名,部门编码,上级工号,邮箱", "E1,alice,王丽,A,E3,alice@example.com",
               "E2,bob,李强,A,,", "E3,carol,张敏,A1,,"}),
          false);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.updated, 1u);
  EXPECT_EQ(r.unchanged, 2u);
  EXPECT_EQ(r.outcomes[1].fields, std::vector<std::string>{"department_code"});
  EXPECT_EQ(scalar("SELECT department_id FROM users WHERE employee_no = 'E2'"),
            scalar("SELECT id FROM departments WHERE code = 'A'"));
  EXPECT_EQ(scalar("SELECT version FROM users WHERE employee_no = 'E2'"), 2);
  EXPECT_EQ(audits(), audit_before + 2);

  // A username cannot be changed through an import; an empty optional cell clears the field.
  r = run(Register::users, csv({"工号,用户名,姓名,邮箱", "E1,alice2,王丽,"}), true);
  EXPECT_EQ(cells_of(r.errors), (Cells{{2, "username"}})) << dump(r);
  r = run(Register::users, csv({"工号,用户名,姓名,邮箱", "E1,alice,王丽,"}), false);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.outcomes[0].fields, std::vector<std::string>{"email"});
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM users WHERE employee_no = 'E1' AND email IS NULL"), 1);
  // The audit trail holds the e-mail masked.
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE changes LIKE '%alice@example.com%'"),
            0);
}

TEST_P(OrgImport, AnOpenOffboardingCaseKeepsTheDepartment) {
  // OA-4, IT-2: while a departure or transfer is open its case decides the department; the
  // importer refuses the move exactly as PATCH /users/{id} does.
  seed_departments();
  const std::string header = "工号,用户名,姓名,部门编码";
  ASSERT_TRUE(run(Register::users, csv({header, "E2,bob,李强,B"}), false).ok());
  database->write([&](db::Tx& tx) {
    tx.exec("UPDATE users SET status = 'transferring' WHERE employee_no = 'E2'");
  });
  ImportReport r = run(Register::users, csv({header, "E2,bob,李强,A"}), true);
  EXPECT_EQ(cells_of(r.errors), (Cells{{2, "department_code"}})) << dump(r);
  ASSERT_NE(find_issue(r, 2, "department_code"), nullptr);
  EXPECT_EQ(find_issue(r, 2, "department_code")->code, "conflict");
  // Other fields of that user still change.
  r = run(Register::users, csv({header, "E2,bob,李强强,B"}), false);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.updated, 1u);
}

TEST_P(OrgImport, ScopeLimitsWhereUsersGo) {
  seed_departments();
  const std::string a_path = text("SELECT path FROM departments WHERE code = 'A'");
  const int64_t a = scalar("SELECT id FROM departments WHERE code = 'A'");
  authz::Principal clerk = admin;
  clerk.grants = {{perm::departments_read, authz::Scope::all, {}, {}},
                  {perm::users_read, authz::Scope::custom, {a}, {a_path}},
                  {perm::users_write, authz::Scope::custom, {a}, {a_path}}};
  const auto file = csv({"工号,用户名,姓名,部门编码", "E1,alice,王丽,A", "E2,bob,李强,B",
                         "E3,carol,张敏,A1", "E4,dave,赵磊,"});
  for (bool dry_run : {true, false}) {
    ImportReport r = run(Register::users, file, dry_run, &clerk);
    EXPECT_EQ(cells_of(r.errors), (Cells{{3, "department_code"}, {5, "department_code"}}))
        << dump(r);
    for (const auto& e : r.errors) EXPECT_EQ(e.code, "forbidden");
  }
  EXPECT_EQ(users(), 1);
  // Inside the scope it works, and a user of B already there is beyond reach.
  ASSERT_TRUE(
      run(Register::users, csv({"工号,用户名,姓名,部门编码", "E2,bob,李强,B"}), false).ok());
  ImportReport r =
      run(Register::users, csv({"工号,用户名,姓名,部门编码", "E1,alice,王丽,A", "E2,bob,李强二,A"}),
          false, &clerk);
  EXPECT_EQ(cells_of(r.errors), (Cells{{3, "employee_no"}})) << dump(r);
  EXPECT_EQ(r.errors.at(0).code, "forbidden");

  // Departments: a clerk without departments:write at all is refused outright.
  try {
    run(Register::departments, csv({"编码,名称", "Z,新部门"}), true, &clerk);
    FAIL() << "expected forbidden";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::forbidden);
  }
  // With departments:write on A's tree only: under A yes, at the top level no.
  authz::Principal head = admin;
  head.grants = {{perm::departments_read, authz::Scope::all, {}, {}},
                 {perm::departments_write, authz::Scope::custom, {a}, {a_path}}};
  r = run(Register::departments,
          csv({"编码,名称,上级编码", "A2,客服二组,A", "A21,客服二组一班,A2", "Z,新部门,"}), true,
          &head);
  EXPECT_EQ(cells_of(r.errors), (Cells{{4, "parent_code"}})) << dump(r);
  EXPECT_EQ(r.errors.at(0).code, "forbidden");
}

TEST_P(OrgImport, NobodyChangesTheirOwnAccount) {
  database->write([&](db::Tx& tx) {
    tx.exec("UPDATE users SET employee_no = 'E0' WHERE id = ?", {admin.user_id});
  });
  ImportReport r = run(Register::users, csv({"工号,用户名,姓名", "E0,importer,导入员"}), true);
  EXPECT_TRUE(r.ok()) << dump(r);  // unchanged is fine
  r = run(Register::users, csv({"工号,用户名,姓名", "E0,importer,改名"}), true);
  EXPECT_EQ(cells_of(r.errors), (Cells{{2, "employee_no"}})) << dump(r);
  EXPECT_EQ(r.errors.at(0).code, "forbidden");
}

// ---- formats and limits ---------------------------------------------------------------------

TEST_P(OrgImport, XlsxCsvWithBomAndGb18030AllWork) {
  tabular::Sheet sheet;
  sheet.name = "部门";
  sheet.header = {"编码", "名称", "类型"};
  sheet.rows = {{"X1", "行政人事部", "行政人事"}, {"007", "零零七", ""}};
  tabular::WriteOptions o;
  o.watermark = "tester 2026-11-28";  // an export's watermark row is skipped
  ImportReport r = run(Register::departments, tabular::write_xlsx({sheet}, o), false);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.rows, 2u);
  EXPECT_EQ(r.created, 2u);
  EXPECT_EQ(text("SELECT kind FROM departments WHERE code = 'X1'"), "admin_hr");
  EXPECT_EQ(text("SELECT name FROM departments WHERE code = '007'"), "零零七");  // text, kept

  r = run(Register::departments, "\xEF\xBB\xBF" + csv({"编码,名称", "BOM1,带BOM的部门"}), false);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.created, 1u);

  // 编码,名称,类型 / GB1,财务部,财务 as Excel on Chinese Windows saves "CSV".
  const std::string gb =
      "\xB1\xE0\xC2\xEB,\xC3\xFB\xB3\xC6,\xC0\xE0\xD0\xCD\r\n"
      "GB1,\xB2\xC6\xCE\xF1\xB2\xBF,\xB2\xC6\xCE\xF1\r\n";
  r = run(Register::departments, gb, false);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(text("SELECT name FROM departments WHERE code = 'GB1'"), "财务部");
  EXPECT_EQ(text("SELECT kind FROM departments WHERE code = 'GB1'"), "finance");

  // The template is its own valid empty import.
  for (auto fmt : {tabular::Format::xlsx, tabular::Format::csv}) {
    r = run(Register::users, OrgImporter::template_file(Register::users, fmt), true);
    EXPECT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.rows, 0u);
  }
}

TEST_P(OrgImport, TemplateHasZhHeadersAndADescriptionSheet) {
  auto sheets = OrgImporter::template_sheets(Register::departments);
  ASSERT_EQ(sheets.size(), 2u);
  EXPECT_EQ(sheets[0].header,
            (std::vector<std::string>{"编码", "名称", "上级编码", "类型", "负责人工号"}));
  EXPECT_EQ(sheets[1].name, "说明");
  EXPECT_EQ(sheets[1].header,
            (std::vector<std::string>{"key", "中文", "English", "required", "notes"}));
  ASSERT_EQ(sheets[1].rows.size(), 5u);
  EXPECT_EQ(sheets[1].rows[0][0], "code");
  const tabular::Sheet back =
      tabular::read_xlsx(OrgImporter::template_file(Register::users, tabular::Format::xlsx));
  EXPECT_EQ(back.header,
            (std::vector<std::string>{"工号", "用户名", "姓名", "部门编码", "上级工号", "邮箱"}));
  const std::string c = OrgImporter::template_file(Register::users, tabular::Format::csv);
  EXPECT_EQ(c.rfind("\xEF\xBB\xBF工号,用户名,姓名", 0), 0u);
}

TEST_P(OrgImport, AtMostTenThousandRows) {
  std::string file = "编码,名称\r\n";
  for (int i = 0; i < 10000; ++i) file += "D" + std::to_string(i) + ",部门\r\n";
  ImportReport r = run(Register::departments, file, true);
  EXPECT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.rows, 10000u);
  file += "D10000,部门\r\n";
  try {
    run(Register::departments, file, true);
    FAIL() << "expected payload_too_large";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::payload_too_large);
    EXPECT_NE(e.detail().find("10000"), std::string::npos) << e.detail();
  }
  // Unreadable files are refused as a whole.
  try {
    run(Register::departments, std::string("PK\x03\x04garbage", 11), true);
    FAIL() << "expected validation_failed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::validation_failed);
  }
  try {
    run(Register::departments, std::string("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8), true);
    FAIL() << "expected unsupported_media_type";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unsupported_media_type);
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, OrgImport, ::testing::ValuesIn(testing_db::engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace custos::org
