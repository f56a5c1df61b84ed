// Issue #3 item 1 (and OA-3, IT-2 routing): "the head of department X" and "the head's superior"
// resolve from the department tree, managers and posts. On SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include "modules/org/org_service.h"
#include "platform/storage/migrations.h"
#include "test_db.h"

namespace custos::org {
namespace {

class OrgResolution : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    database = testing_db::open_fresh(GetParam());
    db::migrate(*database);
    database->write([&](db::Tx& tx) {
      auto dept = [&](const char* code, std::optional<int64_t> parent) {
        auto r = tx.one(
            "INSERT INTO departments (org_id, code, name, parent_id, path, created_at, updated_at) "
            "VALUES (1, ?, ?, ?, '', 0, 0) RETURNING id",
            {std::string(code), std::string(code), db::optional(parent)});
        return db::as_int(r->at(0));
      };
      auto user = [&](const char* name, int64_t dept_id, std::optional<int64_t> manager) {
        auto r = tx.one(
            "INSERT INTO users (org_id, username, name, department_id, manager_id, created_at, "
            "updated_at) VALUES (1, ?, ?, ?, ?, 0, 0) RETURNING id",
            {std::string(name), std::string(name), dept_id, db::optional(manager)});
        return db::as_int(r->at(0));
      };
      company = dept("company", std::nullopt);
      service = dept("service", company);
      president = user("president", company, std::nullopt);
      head = user("head", service, std::nullopt);
      clerk = user("clerk", service, std::nullopt);
      assistant = user("assistant", service, head);
      tx.exec("UPDATE departments SET head_user_id = ? WHERE id = ?", {president, company});
      tx.exec("UPDATE departments SET head_user_id = ? WHERE id = ?", {head, service});
      auto post = tx.one(
          "INSERT INTO posts (org_id, code, name, department_id, approval_authority, created_at, "
          "updated_at) VALUES (1, 'admin_hr_specialist', '行政人事专员', NULL, 1, 0, 0) "
          "RETURNING id");
      tx.exec("INSERT INTO user_posts (org_id, user_id, post_id) VALUES (1, ?, ?)",
              {clerk, post->at(0)});
    });
  }
  void TearDown() override { database->close(); }

  std::unique_ptr<db::Db> database;
  int64_t company = 0, service = 0, president = 0, head = 0, clerk = 0, assistant = 0;
};

TEST_P(OrgResolution, HeadsAndSuperiors) {
  database->read([&](db::Tx& tx) {
    EXPECT_EQ(OrgService::department_head(tx, 1, service), head);
    EXPECT_EQ(OrgService::department_head(tx, 1, company), president);
    EXPECT_EQ(OrgService::department_head(tx, 1, 99999), std::nullopt);
    // A manager wins; without one, the department head; a head's superior is the head above.
    EXPECT_EQ(OrgService::superior_of(tx, 1, assistant), head);
    EXPECT_EQ(OrgService::superior_of(tx, 1, clerk), head);
    EXPECT_EQ(OrgService::superior_of(tx, 1, head), president);
    EXPECT_EQ(OrgService::superior_of(tx, 1, president), std::nullopt);
    EXPECT_EQ(OrgService::superior_of(tx, 2, clerk), std::nullopt);  // another organisation
  });
}

TEST_P(OrgResolution, PostHolders) {
  database->read([&](db::Tx& tx) {
    EXPECT_EQ(OrgService::post_holders(tx, 1, "admin_hr_specialist", std::nullopt),
              std::vector<int64_t>{clerk});
    EXPECT_EQ(OrgService::post_holders(tx, 1, "admin_hr_specialist", service),
              std::vector<int64_t>{clerk});
    EXPECT_TRUE(OrgService::post_holders(tx, 1, "admin_hr_specialist", company).empty());
    EXPECT_TRUE(OrgService::post_holders(tx, 1, "no_such_post", std::nullopt).empty());
  });
  // Departed holders no longer count.
  database->write(
      [&](db::Tx& tx) { tx.exec("UPDATE users SET status = 'departed' WHERE id = ?", {clerk}); });
  database->read([&](db::Tx& tx) {
    EXPECT_TRUE(OrgService::post_holders(tx, 1, "admin_hr_specialist", std::nullopt).empty());
  });
}

INSTANTIATE_TEST_SUITE_P(Engines, OrgResolution, ::testing::ValuesIn(testing_db::engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace custos::org
