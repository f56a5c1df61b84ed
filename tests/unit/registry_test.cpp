// The registry's jobs and its demo data on every engine (issue #6 items 4 and 7, SI-2): SLA
// breaches flagged and escalated once to the department head, records past their review date
// flagged stale with a review task for the owner, retention anonymising closed requests except
// under a customer's legal hold, all on a ManualClock; and `custos demo` data that reads back
// through the registry's own rules (sealed personal fields, search, valid ID-card numbers).
#include <gtest/gtest.h>
#include <algorithm>

#include <filesystem>

#include "api/services.h"
#include "expect_error.h"
#include "modules/demo/demo.h"
#include "modules/registry/registry.h"
#include "platform/crypto/crypto.h"
#include "platform/storage/migrations.h"
#include "test_db.h"

namespace custos {
namespace {

constexpr int64_t kStart = 1'790'000'000'000;  // 2026-09-21
constexpr int64_t kDay = 86'400'000;

class RegistryJobs : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    crypto::init();
    database = testing_db::open_fresh(GetParam());
    db::migrate(*database);
    key_dir = std::filesystem::temp_directory_path() /
              ("custos_registry_" + std::to_string(::getpid()) + "_" +
               std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::create_directories(key_dir);
    config.privacy.key_file = (key_dir / "privacy.key").string();
    authn::SecurityPolicy policy = api::security_policy(config);
    policy.password_cost = {1, 1u << 16};
    services = std::make_unique<api::Services>(*database, clock, config, policy);
    services->cipher.open();
    // The demo organisation: departments with heads, staff with roles.
    demo::Options none;
    none.requests = 0;
    none.customers = 0;
    demo = demo::load(*database, clock, services->registry, none);
    desk = user("kf.li");
    head = user("kf.wang");  // heads 前台服务组, desk's department
    repair_head = user("wx.ma");
  }
  void TearDown() override {
    services.reset();
    database->close();
    std::filesystem::remove_all(key_dir);
  }

  int64_t user(const std::string& username) {
    return scalar("SELECT id FROM users WHERE username = '" + username + "'");
  }
  int64_t scalar(const std::string& sql) {
    return database->read([&](db::Tx& tx) { return db::as_int(tx.query(sql).rows.at(0).at(0)); });
  }
  // A front-desk clerk of 前台服务组 with every registry permission over the whole
  // organisation and clearance 敏感.
  authz::Principal principal(int64_t id) {
    authz::Principal p;
    p.user_id = id;
    p.kind = "session";
    p.clearance = 2;
    p.department_id = scalar("SELECT department_id FROM users WHERE id = " + std::to_string(id));
    p.department_path = database->read([&](db::Tx& tx) {
      return db::as_text(
          tx.one("SELECT path FROM departments WHERE id = ?", {*p.department_id})->at(0));
    });
    for (const char* perm :
         {registry::perm::customers_read, registry::perm::customers_write,
          registry::perm::customers_unmask, registry::perm::requests_read,
          registry::perm::requests_write, registry::perm::privacy_write, registry::perm::classify})
      p.grants.push_back({perm, authz::Scope::all, {}, {}});
    return p;
  }
  audit::Actor actor(int64_t id) { return {1, id, std::nullopt, "10.0.0.1", "req"}; }
  int64_t todos(int64_t user_id, const std::string& kind) {
    return scalar("SELECT COUNT(*) FROM todo_items WHERE user_id = " + std::to_string(user_id) +
                  " AND kind = '" + kind + "' AND status = 'open'");
  }

  ManualClock clock{kStart};
  Config config;
  std::filesystem::path key_dir;
  std::unique_ptr<db::Db> database;
  std::unique_ptr<api::Services> services;
  demo::Result demo;
  int64_t desk = 0, head = 0, repair_head = 0;
};

TEST_P(RegistryJobs, SlaBreachIsFlaggedAndEscalatedOnceToTheDepartmentHead) {
  auto& reg = services->registry;
  const auto p = principal(desk);
  registry::RequestInput in;
  in.type = "repair";
  in.priority = "urgent";
  in.title = "楼上卫生间漏水";
  const auto r = reg.create_request(p, actor(desk), in);
  ASSERT_TRUE(r.resolve_due_at.has_value());
  const int64_t due = *r.resolve_due_at;
  EXPECT_EQ(reg.run_sla(due - 1), r.response_due_at < due - 1 ? 1 : 0)
      << "only the response target may have passed";
  const int before = static_cast<int>(todos(head, "registry.sla"));
  clock.set_ms(due + 60'000);
  EXPECT_GE(reg.run_sla(clock.now_ms()), 1);
  const auto after = reg.get_request(p, actor(desk), r.id);
  EXPECT_TRUE(after.resolve_breached);
  EXPECT_GE(todos(head, "registry.sla"), before + 1) << "escalated to 前台服务组's head";
  // Once per breach: the next run finds nothing new.
  EXPECT_EQ(reg.run_sla(clock.now_ms() + kDay), 0);
  // Resolved in time: no breach.
  const auto ok = reg.create_request(p, actor(desk), in);
  reg.assign_request(p, actor(desk), ok.id, std::nullopt, desk);
  reg.transition_request(p, actor(desk), ok.id, "start", "");
  reg.transition_request(p, actor(desk), ok.id, "resolve", "已修好");
  EXPECT_EQ(reg.run_sla(*ok.resolve_due_at + kDay), 0);
  EXPECT_FALSE(reg.get_request(p, actor(desk), ok.id).resolve_breached);
}

TEST_P(RegistryJobs, ReviewDatesFlagStaleRecordsAndTaskTheOwner) {
  auto& reg = services->registry;
  const auto p = principal(desk);
  registry::CustomerInput in;
  in.name = "王小明";
  in.mobile = std::optional<std::string>("13800138000");
  const auto c = reg.create_customer(p, actor(desk), in);
  ASSERT_TRUE(c.review_due_at.has_value());
  EXPECT_EQ(*c.review_due_at, kStart + 180 * kDay) << "敏感: reviewed every 180 days";
  EXPECT_EQ(reg.run_reviews(*c.review_due_at - 1), 0);
  EXPECT_EQ(reg.run_reviews(*c.review_due_at), 1);
  EXPECT_TRUE(reg.get_customer(p, actor(desk), c.id).stale);
  EXPECT_EQ(todos(desk, "registry.review"), 1) << "the owner reviews it";
  EXPECT_EQ(reg.run_reviews(*c.review_due_at + kDay), 0) << "flagged once";
  clock.set_ms(*c.review_due_at + 2 * kDay);
  const auto reviewed = reg.review_customer(p, actor(desk), c.id);
  EXPECT_FALSE(reviewed.stale);
  EXPECT_EQ(*reviewed.review_due_at, clock.now_ms() + 180 * kDay);
  EXPECT_EQ(todos(desk, "registry.review"), 0) << "the task closes with the review";
}

TEST_P(RegistryJobs, RetentionAnonymisesClosedRequestsExceptUnderALegalHold) {
  auto& reg = services->registry;
  const auto p = principal(desk);
  auto customer = [&](const char* name) {
    registry::CustomerInput in;
    in.name = name;
    return reg.create_customer(p, actor(desk), in);
  };
  const auto free = customer("张三"), held = customer("李四");
  reg.set_legal_hold(p, actor(desk), held.id, true, "诉讼中");
  auto closed_request = [&](int64_t customer_id) {
    registry::RequestInput in;
    in.type = "inquiry";
    in.title = "咨询停车月卡办理";
    in.customer_id = std::optional<int64_t>(customer_id);
    const auto r = reg.create_request(p, actor(desk), in);
    reg.assign_request(p, actor(desk), r.id, std::nullopt, desk);
    reg.transition_request(p, actor(desk), r.id, "start", "");
    reg.transition_request(p, actor(desk), r.id, "resolve", "已答复");
    reg.transition_request(p, actor(desk), r.id, "close", "");
    return r;
  };
  const auto a = closed_request(free.id), b = closed_request(held.id);
  // 1095 days by default.
  EXPECT_EQ(reg.run_retention(kStart + 1000 * kDay), 0);
  EXPECT_EQ(reg.run_retention(kStart + 1096 * kDay), 1);
  EXPECT_EQ(reg.get_request(p, actor(desk), a.id).title, "(已匿名)");
  EXPECT_EQ(reg.get_request(p, actor(desk), a.id).customer_id, std::nullopt);
  EXPECT_EQ(reg.get_request(p, actor(desk), b.id).title, "咨询停车月卡办理");
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = "
                   "'registry.request.anonymise' AND object_id = '" +
                   std::to_string(a.id) + "'"),
            1);
  registry::RequestQuery q;
  q.q = "停车";
  const auto found = reg.list_requests(p, q);
  ASSERT_EQ(found.items.size(), 1u) << "the anonymised request leaves the search index";
  EXPECT_EQ(found.items[0].id, b.id);
}

bool valid_id_card(const std::string& s) {
  if (s.size() != 18) return false;
  static constexpr int weights[] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    sum += (s[i] - '0') * weights[i];
  }
  return s[17] == "10X98765432"[sum % 11];
}

TEST_P(RegistryJobs, DemoDataReadsBackThroughTheRegistry) {
  EXPECT_TRUE(demo.structure_created);
  EXPECT_FALSE(demo.password.empty());
  EXPECT_EQ(demo.departments, 15);
  demo::Options o;
  o.requests = 600;
  const auto added = demo::load(*database, clock, services->registry, o);
  EXPECT_FALSE(added.structure_created) << "the organisation is made once";
  EXPECT_TRUE(added.password.empty());
  EXPECT_EQ(added.customers, 120);
  EXPECT_EQ(added.requests, 600);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM departments WHERE code = 'KF'"), 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM service_requests"), 600);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'demo.load'"), 2);

  auto& reg = services->registry;
  const auto p = principal(head);
  registry::CustomerQuery cq;
  cq.limit = 500;
  const auto customers = reg.list_customers(p, actor(head), cq);
  ASSERT_GT(customers.items.size(), 50u) << "classification 敏感 and below";
  int with_id_card = 0;
  for (const auto& c : customers.items) {
    ASSERT_TRUE(c.personal.mobile.has_value());
    EXPECT_NE(c.personal.mobile->find('*'), std::string::npos) << "masked on the way out";
    if (!c.personal.id_card) continue;
    const auto clear = reg.unmask_customer(p, actor(head), c.id, {"id_card", "mobile"}, "核对");
    EXPECT_TRUE(valid_id_card(clear.at("id_card"))) << clear.at("id_card");
    EXPECT_EQ(clear.at("mobile").size(), 11u);
    // The blind index finds the customer by the clear value.
    registry::CustomerQuery by_mobile;
    by_mobile.mobile = clear.at("mobile");
    const auto hit = reg.list_customers(p, actor(head), by_mobile);
    ASSERT_FALSE(hit.items.empty());
    EXPECT_EQ(hit.items[0].id, c.id);
    if (++with_id_card == 5) break;
  }
  EXPECT_EQ(with_id_card, 5);

  // Search tokens were written: every hit of 漏水 says so.
  registry::RequestQuery rq;
  rq.q = "漏水";
  rq.limit = 500;
  const auto leaks = reg.list_requests(p, rq);
  ASSERT_GT(leaks.total, 0);
  for (const auto& r : leaks.items)
    EXPECT_TRUE(r.title.find("漏水") != std::string::npos ||
                r.description.find("漏水") != std::string::npos)
        << r.title;
  EXPECT_TRUE(leaks.total_exact);
  // Pages of a search come newest first and, walked to the end, hold every match once; a total
  // beyond the count limit says so.
  const int64_t all_leaks = leaks.total;
  rq.limit = 7;
  rq.count_limit = 5;
  std::vector<int64_t> walked;
  for (bool first = true;; first = false) {
    const auto page = reg.list_requests(p, rq);
    if (first) {
      EXPECT_EQ(page.total, std::min<int64_t>(all_leaks, 5));
      EXPECT_EQ(page.total_exact, all_leaks <= 5);
    }
    for (const auto& r : page.items) walked.push_back(r.id);
    if (!page.next_cursor) break;
    rq.cursor = *page.next_cursor;
  }
  EXPECT_EQ(static_cast<int64_t>(walked.size()), all_leaks);
  EXPECT_TRUE(std::is_sorted(walked.rbegin(), walked.rend()));
  EXPECT_EQ(std::adjacent_find(walked.begin(), walked.end()), walked.end());
  // Breach flags agree with the times.
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM service_requests WHERE resolved_at IS NOT NULL AND "
                   "(resolved_at > resolve_due_at) <> (resolve_breached = 1)"),
            0);
  // New records after the bulk load get fresh ids (the PostgreSQL sequence was moved on).
  registry::CustomerInput in;
  in.name = "新客户";
  const auto fresh = reg.create_customer(principal(desk), actor(desk), in);
  EXPECT_GT(fresh.id, scalar("SELECT MAX(id) FROM customers WHERE name <> '新客户'"));
  registry::RequestInput ri;
  ri.type = "repair";
  ri.title = "新请求";
  EXPECT_GT(reg.create_request(principal(desk), actor(desk), ri).id, 600);
}

INSTANTIATE_TEST_SUITE_P(Engines, RegistryJobs, ::testing::ValuesIn(testing_db::engines()));

}  // namespace
}  // namespace custos
