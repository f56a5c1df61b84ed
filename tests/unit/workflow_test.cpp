// Issue #5: the approval engine on every engine (SQLite and, when TEST_PG_URL is set,
// PostgreSQL): definitions checked on save, each approver rule, the approval authority a node
// requires (OA-3: a leader without authority never receives a penalty waiver), every action,
// the modes, branches, the 或签 race, time limits with a ManualClock, definitions edited while
// instances run, and the to-do lists.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <thread>

#include "expect_error.h"
#include "modules/oa/reward_penalty.h"
#include "modules/org/org_directory.h"
#include "platform/storage/migrations.h"
#include "platform/workflow/engine.h"
#include "test_db.h"

namespace custos::workflow {
namespace {

using testing_err::throws_code;
namespace json = boost::json;

constexpr int64_t kStart = 1'780'000'000'000;
constexpr int64_t kHour = 3'600'000;

class Workflow : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    database = testing_db::open_fresh(GetParam(), 6);
    db::migrate(*database);
    engine = std::make_unique<Engine>(*database, clock, directory, notifier);
    FormType f;
    f.key = "test.request";
    f.name_zh = "测试申请";
    f.name_en = "Test request";
    f.summary = "申请 {note}：{amount} 元";
    f.subject_type = "thing";
    f.fields = {{.name = "amount", .type = FieldType::decimal, .required = true, .min = 0},
                {.name = "issuing_department_id", .type = FieldType::department},
                {.name = "note", .type = FieldType::text, .max_length = 50},
                {.name = "kind", .type = FieldType::choice, .choices = {"a", "b"}}};
    f.on_end = [this](db::Tx& tx, const Ended& e, int64_t) {
      if (refuse_end) throw Error(ErrorCode::conflict, "", "the module refuses");
      ended.push_back(e.outcome);
      // The callback writes in the final action's transaction.
      tx.exec("INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (1, ?, 0)",
              {"ended " + e.outcome + " " + std::to_string(e.instance_id)});
    };
    engine->register_form_type(f);
    oa::register_forms(*engine);

    database->write([&](db::Tx& tx) {
      auto dept = [&](const char* code, const char* name, const char* kind,
                      std::optional<int64_t> parent) {
        auto r = tx.one(
            "INSERT INTO departments (org_id, code, name, kind, parent_id, path, created_at, "
            "updated_at) VALUES (1, ?, ?, ?, ?, '', 0, 0) RETURNING id",
            {code, name, kind, db::optional(parent)});
        const int64_t id = db::as_int(r->at(0));
        tx.exec("UPDATE departments SET path = ? WHERE id = ?",
                {"/" + std::to_string(id) + "/", id});
        return id;
      };
      company = dept("HQ", "总公司", "normal", std::nullopt);
      ops = dept("OPS", "客服部", "normal", company);
      it = dept("IT", "信息管理部", "it", company);
      po = dept("PO", "总裁办", "president_office", company);
      auto user = [&](const char* name, std::optional<int64_t> d) {
        auto r = tx.one(
            "INSERT INTO users (org_id, username, name, department_id, created_at, updated_at) "
            "VALUES (1, ?, ?, ?, 0, 0) RETURNING id",
            {name, name, db::optional(d)});
        return db::as_int(r->at(0));
      };
      president = user("president", company);
      ops_head = user("ops_head", ops);
      clerk = user("clerk", ops);
      clerk2 = user("clerk2", ops);
      it_head = user("it_head", it);
      po_director = user("po_director", po);
      hr = user("hr", company);
      outsider = user("outsider", company);
      tx.exec("UPDATE departments SET head_user_id = ? WHERE id = ?", {president, company});
      tx.exec("UPDATE departments SET head_user_id = ? WHERE id = ?", {ops_head, ops});
      tx.exec("UPDATE departments SET head_user_id = ? WHERE id = ?", {it_head, it});
      auto post = [&](const char* code, bool authority, std::optional<int64_t> d) {
        return db::as_int(tx.one("INSERT INTO posts (org_id, code, name, department_id, "
                                 "approval_authority, created_at, updated_at) VALUES (1, ?, ?, ?, "
                                 "?, 0, 0) RETURNING id",
                                 {code, code, db::optional(d), int64_t{authority}})
                              ->at(0));
      };
      const int64_t head_post = post("department_head", true, std::nullopt);
      const int64_t po_post = post("president_office_director", true, po);
      const int64_t hr_post = post("admin_hr_specialist", false, std::nullopt);
      auto hold = [&](int64_t u, int64_t p) {
        tx.exec("INSERT INTO user_posts (org_id, user_id, post_id) VALUES (1, ?, ?)", {u, p});
      };
      hold(president, head_post);
      hold(it_head, head_post);
      hold(po_director, po_post);
      hold(hr, hr_post);
      // ops_head holds no post with approval authority.
      auto role = db::as_int(tx.one("INSERT INTO roles (org_id, code, name, scope, created_at, "
                                    "updated_at) VALUES (1, 'finance_approver', '财务审批', "
                                    "'all', 0, 0) RETURNING id")
                                 ->at(0));
      tx.exec(
          "INSERT INTO role_permissions (org_id, role_id, permission) VALUES (1, ?, "
          "'workflow:approve:finance')",
          {role});
      tx.exec("INSERT INTO user_roles (org_id, user_id, role_id) VALUES (1, ?, ?)", {hr, role});
    });
    admin = principal(outsider);
    admin.grants = {{perm::definitions_write, authz::Scope::all, {}, {}},
                    {perm::instances_terminate, authz::Scope::all, {}, {}},
                    {perm::instances_read, authz::Scope::all, {}, {}}};
  }
  void TearDown() override { database->close(); }

  authz::Principal principal(int64_t user) {
    authz::Principal p;
    p.user_id = user;
    p.kind = "session";
    return p;
  }
  audit::Actor actor(int64_t user) { return {1, user, std::nullopt, "10.0.0.1", "req"}; }

  // A definition of the test form; `nodes` and `edges` are JSON arrays.
  Definition define(const std::string& key, const std::string& nodes, const std::string& edges,
                    bool self = false) {
    DefinitionInput in;
    in.key = key;
    in.name = "流程 " + key;
    in.form_type = "test.request";
    in.graph_json = R"({"nodes":)" + nodes + R"(,"edges":)" + edges + "}";
    in.allow_self_approval = self;
    return engine->save_definition(admin, actor(outsider), in);
  }
  // start → one approval node with `approvers` (and options) → end.
  Definition one_step(const std::string& key, const std::string& approvers,
                      const std::string& extra = "", bool self = false) {
    return define(
        key,
        R"([{"id":"start","kind":"start"},{"id":"a","kind":"approval","name":"审批","approvers":)" +
            approvers + extra + R"(},{"id":"end","kind":"end"}])",
        R"([{"from":"start","to":"a"},{"from":"a","to":"end"}])", self);
  }
  Instance start(const std::string& key, int64_t who, const std::string& form = R"({"amount":100})",
                 std::optional<int64_t> owner = std::nullopt) {
    StartInput in;
    in.definition_key = key;
    in.form_json = form;
    if (owner) {
      in.subject_id = 9;
      in.subject_owner_id = owner;
    }
    return engine->start(principal(who), actor(who), in);
  }
  std::vector<int64_t> pending_assignees(const Instance& i) {
    std::vector<int64_t> out;
    for (const auto& t : i.tasks)
      if (t.status == "pending") out.push_back(t.assignee_id);
    return out;
  }
  const Task& pending_of(const Instance& i, int64_t user) {
    for (const auto& t : i.tasks)
      if (t.status == "pending" && t.assignee_id == user) return t;
    throw std::runtime_error("no pending task for user " + std::to_string(user));
  }
  Instance approve(const Instance& i, int64_t user) {
    return engine->approve(principal(user), actor(user), pending_of(i, user).id, "同意");
  }
  int64_t scalar(const std::string& sql) {
    return database->read([&](db::Tx& tx) { return db::as_int(tx.query(sql).rows.at(0).at(0)); });
  }

  ManualClock clock{kStart};
  org::OrgDirectory directory;
  notify::Notifier notifier{false};
  std::unique_ptr<db::Db> database;
  std::unique_ptr<Engine> engine;
  std::vector<std::string> ended;
  bool refuse_end = false;
  int64_t company = 0, ops = 0, it = 0, po = 0;
  int64_t president = 0, ops_head = 0, clerk = 0, clerk2 = 0, it_head = 0, po_director = 0, hr = 0,
          outsider = 0;
  authz::Principal admin;
};

// ---- definitions are checked on save ----------------------------------------------------------

TEST_P(Workflow, DefinitionsThatCouldNeverFinishAreRefusedNamingTheProblem) {
  const std::string start = R"({"id":"start","kind":"start"})";
  const std::string end = R"({"id":"end","kind":"end"})";
  const std::string approval =
      R"({"id":"a","kind":"approval","approvers":[{"rule":"initiator_head"}]})";
  struct Case {
    std::string nodes, edges, field;
  };
  const std::vector<Case> cases = {
      // An unreachable node.
      {"[" + start + "," + approval + "," + end +
           R"(,{"id":"lost","kind":"approval","approvers":[{"rule":"initiator_head"}]}])",
       R"([{"from":"start","to":"a"},{"from":"a","to":"end"},{"from":"lost","to":"end"}])",
       "body.graph.nodes[3]"},
      // A dead end: a node with no way to an end.
      {"[" + start + "," + approval + "," + end + "]", R"([{"from":"start","to":"a"}])",
       "body.graph.nodes[1]"},
      // No approvers.
      {"[" + start + R"(,{"id":"a","kind":"approval","approvers":[]},)" + end + "]",
       R"([{"from":"start","to":"a"},{"from":"a","to":"end"}])", "body.graph.nodes[1].approvers"},
      // A branch on a field the form does not have.
      {"[" + start + R"(,{"id":"c","kind":"condition"},)" + end + "]",
       R"([{"from":"start","to":"c"},{"from":"c","to":"end","when":{"field":"colour","op":"eq","value":"red"}},{"from":"c","to":"end"}])",
       "body.graph.nodes[1]"},
      // A condition without a default branch.
      {"[" + start + R"(,{"id":"c","kind":"condition"},)" + end + "]",
       R"([{"from":"start","to":"c"},{"from":"c","to":"end","when":{"field":"amount","op":"gt","value":5}}])",
       "body.graph.nodes[1]"},
      // A parallel branch that reaches the end without its join.
      {"[" + start + R"(,{"id":"p","kind":"parallel"},)" + approval +
           R"(,{"id":"b","kind":"approval","approvers":[{"rule":"initiator_head"}]},{"id":"j","kind":"join"},)" +
           end + "]",
       R"([{"from":"start","to":"p"},{"from":"p","to":"a"},{"from":"p","to":"b"},{"from":"a","to":"j"},{"from":"b","to":"end"},{"from":"j","to":"end"}])",
       "body.graph.nodes[1]"},
      // No start.
      {"[" + approval + "," + end + "]", R"([{"from":"a","to":"end"}])", "body.graph.nodes"},
      // An edge to a node that is not there.
      {"[" + start + "," + end + "]", R"([{"from":"start","to":"nowhere"}])",
       "body.graph.edges[0].to"},
      // A rule naming a role, post or user that does not exist.
      {"[" + start +
           R"(,{"id":"a","kind":"approval","approvers":[{"rule":"role","code":"nobody"}]},)" + end +
           "]",
       R"([{"from":"start","to":"a"},{"from":"a","to":"end"}])",
       "body.graph.nodes[1].approvers[0].code"},
      {"[" + start +
           R"(,{"id":"a","kind":"approval","approvers":[{"rule":"user","user_id":"999999"}]},)" +
           end + "]",
       R"([{"from":"start","to":"a"},{"from":"a","to":"end"}])",
       "body.graph.nodes[1].approvers[0].user_id"},
      {"[" + start +
           R"(,{"id":"a","kind":"approval","approvers":[{"rule":"department_head","field":"note"}]},)" +
           end + "]",
       R"([{"from":"start","to":"a"},{"from":"a","to":"end"}])",
       "body.graph.nodes[1].approvers[0].field"},
      {"[" + start +
           R"(,{"id":"a","kind":"approval","mode":"most","approvers":[{"rule":"initiator_head"}]},)" +
           end + "]",
       R"([{"from":"start","to":"a"},{"from":"a","to":"end"}])", "body.graph.nodes[1].mode"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_TRUE(
        throws_code([&] { define("bad" + std::to_string(i), cases[i].nodes, cases[i].edges); },
                    ErrorCode::validation_failed, cases[i].field))
        << "case " << i;
  }
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM workflow_definitions"), 0);
  // Only holders of workflow:definitions:write save definitions.
  DefinitionInput in;
  in.key = "x";
  EXPECT_TRUE(throws_code([&] { engine->save_definition(principal(clerk), actor(clerk), in); },
                          ErrorCode::forbidden));
}

// ---- approver rules ---------------------------------------------------------------------------

TEST_P(Workflow, EachApproverRuleResolvesToTheRightPerson) {
  struct Case {
    std::string rules;
    int64_t initiator;
    std::string form;
    std::vector<int64_t> expected;
  };
  const std::string dept_field =
      R"({"amount":1,"issuing_department_id":")" + std::to_string(it) + R"("})";
  const std::vector<Case> cases = {
      {R"([{"rule":"user","user_id":")" + std::to_string(po_director) + R"("}])",
       clerk,
       "",
       {po_director}},
      {R"([{"rule":"role","code":"finance_approver"}])", clerk, "", {hr}},
      {R"([{"rule":"post","code":"admin_hr_specialist"}])", clerk, "", {hr}},
      {R"([{"rule":"post_in_department","code":"president_office_director","department":"PO"}])",
       clerk,
       "",
       {po_director}},
      {R"([{"rule":"initiator_head"}])", clerk, "", {ops_head}},
      {R"([{"rule":"department_head","field":"issuing_department_id"}])",
       clerk,
       dept_field,
       {it_head}},
      {R"([{"rule":"superior","level":1}])", clerk, "", {ops_head}},
      {R"([{"rule":"superior","level":2}])", clerk, "", {president}},
      {R"([{"rule":"superior","level":1,"of":"field_head","field":"issuing_department_id"}])",
       clerk,
       dept_field,
       {president}},
      {R"([{"rule":"department_kind","kind":"it"}])", clerk, "", {it_head}},
      {R"([{"rule":"record_owner"}])", clerk, "", {clerk2}},
      // Several rules: their people in order, each once.
      {R"([{"rule":"initiator_head"},{"rule":"superior","level":1},{"rule":"department_kind","kind":"it"}])",
       clerk,
       "",
       {ops_head, it_head}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string key = "rule" + std::to_string(i);
    one_step(key, cases[i].rules, R"(,"mode":"all")");
    Instance inst = start(key, cases[i].initiator,
                          cases[i].form.empty() ? R"({"amount":1})" : cases[i].form, clerk2);
    EXPECT_EQ(pending_assignees(inst), cases[i].expected) << "case " << i << ": " << cases[i].rules;
  }
}

TEST_P(Workflow, ApprovalAuthorityKeepsAFormAwayFromLeadersWithoutIt) {
  // OA-3: a penalty waiver goes only to the head of the issuing department and that head's
  // superior, each holding a post with approval authority.
  DefinitionInput in;
  in.key = "penalty";
  in.name = "罚款减免";
  in.form_type = oa::kPenaltyWaiver;
  in.graph_json = R"({"nodes":[{"id":"start","kind":"start"},
     {"id":"head","kind":"approval","authority":"post","approvers":[{"rule":"department_head","field":"issuing_department_id"}]},
     {"id":"boss","kind":"approval","authority":"post","approvers":[{"rule":"superior","of":"field_head","field":"issuing_department_id"}]},
     {"id":"end","kind":"end"}],
     "edges":[{"from":"start","to":"head"},{"from":"head","to":"boss"},{"from":"boss","to":"end"}]})";
  engine->save_definition(admin, actor(outsider), in);
  auto form = [&](int64_t dept) {
    return R"({"penalty_no":"FK-2026-017","issuing_department_id":")" + std::to_string(dept) +
           R"(","person_id":")" + std::to_string(clerk) +
           R"(","amount":200,"request":"waive","reason":"首次违规"})";
  };
  // Issued by IT: its head holds authority, then the president.
  StartInput s{"penalty", form(it)};
  Instance i = engine->start(principal(clerk), actor(clerk), s);
  EXPECT_EQ(pending_assignees(i), std::vector<int64_t>{it_head});
  i = approve(i, it_head);
  EXPECT_EQ(pending_assignees(i), std::vector<int64_t>{president});
  i = approve(i, president);
  EXPECT_EQ(i.status, "approved");
  // Issued by operations: its head has no post with authority, so it is never routed to him;
  // with nobody else named, the request is refused and nothing is written.
  const int64_t before = scalar("SELECT COUNT(*) FROM workflow_instances");
  s.form_json = form(ops);
  EXPECT_TRUE(throws_code([&] { engine->start(principal(clerk2), actor(clerk2), s); },
                          ErrorCode::no_approver, "node.head"));
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM workflow_instances"), before);
  EXPECT_EQ(
      scalar("SELECT COUNT(*) FROM workflow_tasks WHERE assignee_id = " + std::to_string(ops_head)),
      0);
  // A permission as the authority: only the role's holder qualifies.
  one_step("finance", R"([{"rule":"post","code":"admin_hr_specialist"}])",
           R"(,"authority":"workflow:approve:finance")");
  EXPECT_EQ(pending_assignees(start("finance", clerk)), std::vector<int64_t>{hr});
  // Transfer to someone without the authority is refused too.
  one_step("head_only", R"([{"rule":"department_kind","kind":"it"}])", R"(,"authority":"post")");
  Instance h = start("head_only", clerk);
  EXPECT_TRUE(throws_code(
      [&] {
        engine->transfer(principal(it_head), actor(it_head), pending_of(h, it_head).id, ops_head,
                         "");
      },
      ErrorCode::validation_failed, "body.user_id"));
}

TEST_P(Workflow, TheInitiatorNeverApprovesTheirOwnRequestUnlessAllowed) {
  // ops_head starts a request whose approver is "the head of my department" — himself.
  one_step("own", R"([{"rule":"initiator_head"}])");
  EXPECT_EQ(pending_assignees(start("own", ops_head)), std::vector<int64_t>{president});
  one_step("own_ok", R"([{"rule":"initiator_head"}])", "", /*self=*/true);
  EXPECT_EQ(pending_assignees(start("own_ok", ops_head)), std::vector<int64_t>{ops_head});
}

// ---- modes --------------------------------------------------------------------------------------

TEST_P(Workflow, AllAnySequenceAndSingle) {
  const std::string three =
      R"([{"rule":"department_kind","kind":"it"},{"rule":"post","code":"admin_hr_specialist"},{"rule":"user","user_id":")" +
      std::to_string(po_director) + R"("}])";
  one_step("all", three, R"(,"mode":"all")");
  one_step("any", three, R"(,"mode":"any")");
  one_step("seq", three, R"(,"mode":"sequence")");
  one_step("single", three, R"(,"mode":"single")");

  Instance all = start("all", clerk);
  EXPECT_EQ(pending_assignees(all), (std::vector<int64_t>{it_head, hr, po_director}));
  all = approve(all, hr);
  all = approve(all, it_head);
  EXPECT_EQ(all.status, "running");
  all = approve(all, po_director);
  EXPECT_EQ(all.status, "approved");

  Instance any = start("any", clerk);
  any = approve(any, po_director);
  EXPECT_EQ(any.status, "approved");
  int cancelled = 0;
  for (const auto& t : any.tasks) cancelled += t.status == "cancelled";
  EXPECT_EQ(cancelled, 2);

  Instance seq = start("seq", clerk);
  EXPECT_EQ(pending_assignees(seq), std::vector<int64_t>{it_head});
  seq = approve(seq, it_head);
  EXPECT_EQ(pending_assignees(seq), std::vector<int64_t>{hr});
  seq = approve(seq, hr);
  EXPECT_EQ(pending_assignees(seq), std::vector<int64_t>{po_director});
  seq = approve(seq, po_director);
  EXPECT_EQ(seq.status, "approved");

  EXPECT_EQ(pending_assignees(start("single", clerk)), std::vector<int64_t>{it_head});
}

TEST_P(Workflow, TwoApproversOfAnAnyNodeAtOnceCompleteItExactlyOnce) {
  const std::string two = R"([{"rule":"department_kind","kind":"it"},{"rule":"user","user_id":")" +
                          std::to_string(po_director) + R"("}])";
  define("race",
         R"([{"id":"start","kind":"start"},{"id":"a","kind":"approval","mode":"any","approvers":)" +
             two + R"(},{"id":"b","kind":"approval","approvers":[{"rule":"user","user_id":")" +
             std::to_string(president) + R"("}]},{"id":"end","kind":"end"}])",
         R"([{"from":"start","to":"a"},{"from":"a","to":"b"},{"from":"b","to":"end"}])");
  for (int round = 0; round < 5; ++round) {
    Instance i = start("race", clerk);
    const int64_t t1 = pending_of(i, it_head).id, t2 = pending_of(i, po_director).id;
    std::atomic<int> ok{0}, conflict{0};
    auto go = [&](int64_t user, int64_t task) {
      try {
        engine->approve(principal(user), actor(user), task, "");
        ++ok;
      } catch (const Error& e) {
        if (e.code() == ErrorCode::conflict) ++conflict;
      }
    };
    std::thread a(go, it_head, t1), b(go, po_director, t2);
    a.join();
    b.join();
    EXPECT_EQ(ok.load(), 1);
    EXPECT_EQ(conflict.load(), 1);
    Instance after = engine->get(admin, i.id);
    EXPECT_EQ(pending_assignees(after), std::vector<int64_t>{president}) << "node b reached once";
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM workflow_node_runs WHERE instance_id = " +
                     std::to_string(i.id) + " AND node_id = 'b'"),
              1);
  }
}

// ---- branches ---------------------------------------------------------------------------------

TEST_P(Workflow, ConditionAndParallelBranches) {
  // Up to 10,000: the department head; more: the president as well. Then IT and HR in parallel.
  define(
      "branchy",
      R"([{"id":"start","kind":"start"},{"id":"head","kind":"approval","approvers":[{"rule":"department_kind","kind":"it"}]},
            {"id":"amount","kind":"condition"},{"id":"top","kind":"approval","approvers":[{"rule":"user","user_id":")" +
          std::to_string(president) + R"("}]},
            {"id":"fork","kind":"parallel"},{"id":"x","kind":"approval","approvers":[{"rule":"user","user_id":")" +
          std::to_string(po_director) +
          R"("}]},{"id":"y","kind":"approval","approvers":[{"rule":"post","code":"admin_hr_specialist"}]},
            {"id":"cc","kind":"cc","approvers":[{"rule":"user","user_id":")" +
          std::to_string(outsider) + R"("}]},
            {"id":"join","kind":"join"},{"id":"end","kind":"end"}])",
      R"([{"from":"start","to":"head"},{"from":"head","to":"amount"},
             {"from":"amount","to":"top","when":{"field":"amount","op":"gt","value":10000}},{"from":"amount","to":"fork"},
             {"from":"top","to":"fork"},{"from":"fork","to":"x"},{"from":"fork","to":"y"},{"from":"x","to":"join"},
             {"from":"y","to":"cc"},{"from":"cc","to":"join"},{"from":"join","to":"end"}])");
  Instance small = start("branchy", clerk, R"({"amount":800})");
  small = approve(small, it_head);
  EXPECT_EQ(pending_assignees(small), (std::vector<int64_t>{po_director, hr}));
  small = approve(small, hr);
  EXPECT_EQ(small.cc, std::vector<int64_t>{outsider}) << "the cc node passed on the y branch";
  EXPECT_EQ(small.status, "running") << "the join waits for both branches";
  small = approve(small, po_director);
  EXPECT_EQ(small.status, "approved");

  Instance big = start("branchy", clerk, R"({"amount":"25000.50"})");
  big = approve(big, it_head);
  EXPECT_EQ(pending_assignees(big), std::vector<int64_t>{president});
}

// ---- actions
// --------------------------------------------------------------------------------------

TEST_P(Workflow, RejectSendBackResubmitWithdrawTerminate) {
  define(
      "two",
      R"([{"id":"start","kind":"start"},{"id":"a","kind":"approval","approvers":[{"rule":"initiator_head"}]},
            {"id":"b","kind":"approval","approvers":[{"rule":"department_kind","kind":"it"}]},{"id":"end","kind":"end"}])",
      R"([{"from":"start","to":"a"},{"from":"a","to":"b"},{"from":"b","to":"end"}])");
  // Reject: reason required; the module's callback runs in the same transaction.
  Instance r = start("two", clerk);
  EXPECT_TRUE(throws_code(
      [&] { engine->reject(principal(ops_head), actor(ops_head), pending_of(r, ops_head).id, ""); },
      ErrorCode::validation_failed, "body.reason"));
  r = engine->reject(principal(ops_head), actor(ops_head), pending_of(r, ops_head).id, "预算不足");
  EXPECT_EQ(r.status, "rejected");
  EXPECT_EQ(ended, std::vector<std::string>{"rejected"});
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM diagnostic_writes WHERE payload = 'ended rejected " +
                   std::to_string(r.id) + "'"),
            1);

  // Send back to the initiator, who resubmits with a corrected form.
  Instance s = start("two", clerk);
  s = approve(s, ops_head);
  s = engine->send_back(principal(it_head), actor(it_head), pending_of(s, it_head).id, "",
                        "金额有误");
  EXPECT_EQ(s.status, "returned");
  EXPECT_TRUE(pending_assignees(s).empty());
  EXPECT_TRUE(
      throws_code([&] { engine->resubmit(principal(clerk2), actor(clerk2), s.id, std::nullopt); },
                  ErrorCode::not_found));
  s = engine->resubmit(principal(clerk), actor(clerk), s.id,
                       std::string(R"({"amount":90,"note":"改"})"));
  EXPECT_EQ(s.status, "running");
  EXPECT_EQ(s.summary, "申请 改：90 元");
  EXPECT_EQ(pending_assignees(s), std::vector<int64_t>{ops_head}) << "from the start again";
  // Send back to an earlier step.
  s = approve(s, ops_head);
  s = engine->send_back(principal(it_head), actor(it_head), pending_of(s, it_head).id, "a",
                        "请部门再确认");
  EXPECT_EQ(pending_assignees(s), std::vector<int64_t>{ops_head});
  EXPECT_TRUE(throws_code(
      [&] {
        engine->send_back(principal(ops_head), actor(ops_head), pending_of(s, ops_head).id, "b",
                          "x");
      },
      ErrorCode::validation_failed, "body.target_node"));

  // Withdraw after the first approval.
  Instance w = start("two", clerk);
  w = approve(w, ops_head);
  EXPECT_TRUE(throws_code([&] { engine->withdraw(principal(ops_head), actor(ops_head), w.id, ""); },
                          ErrorCode::forbidden));
  w = engine->withdraw(principal(clerk), actor(clerk), w.id, "不需要了");
  EXPECT_EQ(w.status, "withdrawn");
  EXPECT_TRUE(pending_assignees(w).empty());
  EXPECT_TRUE(throws_code([&] { engine->withdraw(principal(clerk), actor(clerk), w.id, ""); },
                          ErrorCode::conflict));

  // Terminate: administrators only, with a reason.
  Instance t = start("two", clerk);
  EXPECT_TRUE(
      throws_code([&] { engine->terminate(principal(ops_head), actor(ops_head), t.id, "x"); },
                  ErrorCode::forbidden));
  t = engine->terminate(admin, actor(outsider), t.id, "流程配置错误");
  EXPECT_EQ(t.status, "terminated");
  EXPECT_EQ(ended, (std::vector<std::string>{"rejected", "withdrawn", "terminated"}));
  // Every action is an audit record.
  EXPECT_GE(scalar("SELECT COUNT(*) FROM audit_events WHERE action LIKE 'workflow.%'"), 12);
}

TEST_P(Workflow, TransferDelegateAndAddApprovers) {
  one_step("one", R"([{"rule":"department_kind","kind":"it"}])");
  // Transfer (转办).
  Instance i = start("one", clerk);
  i = engine->transfer(principal(it_head), actor(it_head), pending_of(i, it_head).id, po_director,
                       "请总裁办处理");
  EXPECT_EQ(pending_assignees(i), std::vector<int64_t>{po_director});
  EXPECT_TRUE(throws_code(
      [&] {
        engine->transfer(principal(po_director), actor(po_director), pending_of(i, po_director).id,
                         clerk, "");
      },
      ErrorCode::validation_failed, "body.user_id"))
      << "never to the initiator";
  i = approve(i, po_director);
  EXPECT_EQ(i.status, "approved");

  // Delegate (委派) and return: the delegate cannot approve, only hand it back.
  Instance d = start("one", clerk);
  d = engine->delegate(principal(it_head), actor(it_head), pending_of(d, it_head).id, hr,
                       "帮看一下");
  EXPECT_EQ(pending_assignees(d), std::vector<int64_t>{hr});
  EXPECT_TRUE(throws_code([&] { approve(d, hr); }, ErrorCode::conflict));
  d = engine->resolve(principal(hr), actor(hr), pending_of(d, hr).id, "没问题");
  EXPECT_EQ(pending_assignees(d), std::vector<int64_t>{it_head});
  d = approve(d, it_head);
  EXPECT_EQ(d.status, "approved");

  // 加签 before: the added approver first, then the task again.
  Instance b = start("one", clerk);
  b = engine->add_approver(principal(it_head), actor(it_head), pending_of(b, it_head).id,
                           po_director, true, "");
  EXPECT_EQ(pending_assignees(b), std::vector<int64_t>{po_director});
  b = approve(b, po_director);
  EXPECT_EQ(pending_assignees(b), std::vector<int64_t>{it_head});
  b = approve(b, it_head);
  EXPECT_EQ(b.status, "approved");

  // 加签 after: once this task approves, the added approver must too.
  Instance a = start("one", clerk);
  a = engine->add_approver(principal(it_head), actor(it_head), pending_of(a, it_head).id, president,
                           false, "");
  EXPECT_EQ(pending_assignees(a), std::vector<int64_t>{it_head});
  a = approve(a, it_head);
  EXPECT_EQ(a.status, "running");
  EXPECT_EQ(pending_assignees(a), std::vector<int64_t>{president});
  a = approve(a, president);
  EXPECT_EQ(a.status, "approved");

  // Someone else's task: forbidden for participants, not found for strangers.
  Instance x = start("one", clerk);
  EXPECT_TRUE(throws_code(
      [&] { engine->approve(principal(clerk), actor(clerk), pending_of(x, it_head).id, ""); },
      ErrorCode::forbidden));
  EXPECT_TRUE(
      throws_code([&] { engine->approve(principal(hr), actor(hr), pending_of(x, it_head).id, ""); },
                  ErrorCode::not_found));
  EXPECT_TRUE(throws_code([&] { engine->get(principal(hr), x.id); }, ErrorCode::not_found));
  authz::Principal elsewhere = admin;
  elsewhere.org_id = 2;
  EXPECT_TRUE(throws_code([&] { engine->get(elsewhere, x.id); }, ErrorCode::not_found));
}

TEST_P(Workflow, ACallbackThatRefusesUndoesTheFinalAction) {
  one_step("one", R"([{"rule":"department_kind","kind":"it"}])");
  Instance i = start("one", clerk);
  refuse_end = true;
  EXPECT_TRUE(throws_code([&] { approve(i, it_head); }, ErrorCode::conflict));
  Instance after = engine->get(admin, i.id);
  EXPECT_EQ(after.status, "running");
  EXPECT_EQ(pending_assignees(after), std::vector<int64_t>{it_head});
  refuse_end = false;
  EXPECT_EQ(approve(after, it_head).status, "approved");
}

TEST_P(Workflow, ADefinitionEditedWhileInstancesRunLeavesThemOnTheirVersion) {
  one_step("proc", R"([{"rule":"department_kind","kind":"it"}])");
  Instance old = start("proc", clerk);
  EXPECT_EQ(old.definition_version, 1);
  // Version 2 adds a second step.
  Definition v2 = define(
      "proc",
      R"([{"id":"start","kind":"start"},{"id":"a","kind":"approval","approvers":[{"rule":"department_kind","kind":"it"}]},
                            {"id":"b","kind":"approval","approvers":[{"rule":"user","user_id":")" +
          std::to_string(president) + R"("}]},{"id":"end","kind":"end"}])",
      R"([{"from":"start","to":"a"},{"from":"a","to":"b"},{"from":"b","to":"end"}])");
  EXPECT_EQ(v2.version, 2);
  EXPECT_EQ(approve(old, it_head).status, "approved") << "version 1 had one step";
  Instance fresh = start("proc", clerk);
  EXPECT_EQ(fresh.definition_version, 2);
  fresh = approve(fresh, it_head);
  EXPECT_EQ(pending_assignees(fresh), std::vector<int64_t>{president});
  auto versions = engine->list_definitions(admin, {.key = "proc"}).items;
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_FALSE(versions[0].latest);
  EXPECT_TRUE(versions[1].latest);
  // One version a page: the cursor carries on from the version, the latest still says so.
  auto first = engine->list_definitions(admin, {.key = "proc", .limit = 1});
  EXPECT_EQ(first.total, 2);
  ASSERT_EQ(first.items.size(), 1u);
  EXPECT_EQ(first.items[0].version, 1);
  ASSERT_TRUE(first.next_cursor);
  auto second =
      engine->list_definitions(admin, {.key = "proc", .limit = 1, .after = *first.next_cursor});
  ASSERT_EQ(second.items.size(), 1u);
  EXPECT_EQ(second.items[0].version, 2);
  EXPECT_TRUE(second.items[0].latest);
  EXPECT_FALSE(second.next_cursor);
}

// ---- time limits ------------------------------------------------------------------------------

TEST_P(Workflow, TimeLimitsRemindEscalateAndActAutomatically) {
  one_step("remind", R"([{"rule":"initiator_head"}])",
           R"(,"time_limit_hours":24,"on_timeout":"remind")");
  one_step("escalate", R"([{"rule":"initiator_head"}])",
           R"(,"time_limit_hours":24,"on_timeout":"escalate")");
  one_step("auto_ok", R"([{"rule":"initiator_head"}])",
           R"(,"time_limit_hours":2,"on_timeout":"approve")");
  one_step("auto_no", R"([{"rule":"initiator_head"}])",
           R"(,"time_limit_hours":2,"on_timeout":"reject")");
  Instance r = start("remind", clerk), e = start("escalate", clerk), ok = start("auto_ok", clerk),
           no = start("auto_no", clerk);
  EXPECT_EQ(engine->run_deadlines(clock.now_ms()), 0) << "nothing is due yet";
  clock.advance_ms(3 * kHour);
  EXPECT_EQ(engine->run_deadlines(clock.now_ms()), 2);
  EXPECT_EQ(engine->get(admin, ok.id).status, "approved");
  EXPECT_EQ(engine->get(admin, no.id).status, "rejected");
  EXPECT_EQ(engine->pending(principal(ops_head), 50, std::nullopt, /*overdue_only=*/true).total, 0);
  clock.advance_ms(22 * kHour);
  EXPECT_EQ(engine->pending(principal(ops_head), 50, std::nullopt, true).total, 2);
  EXPECT_EQ(engine->counts(principal(ops_head)).overdue, 2);
  EXPECT_EQ(engine->run_deadlines(clock.now_ms()), 2);
  // Reminded: still with the head, a reminder among his notifications.
  EXPECT_EQ(pending_assignees(engine->get(admin, r.id)), std::vector<int64_t>{ops_head});
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM notifications WHERE kind = 'workflow.reminder' AND "
                   "user_id = " +
                   std::to_string(ops_head)),
            1);
  // Escalated: to the head's superior.
  EXPECT_EQ(pending_assignees(engine->get(admin, e.id)), std::vector<int64_t>{president});
  // Once handled, not again.
  clock.advance_ms(kHour);
  EXPECT_EQ(engine->run_deadlines(clock.now_ms()), 0);
}

// ---- the to-do centre --------------------------------------------------------------------------

TEST_P(Workflow, TodoListsAndCountsAreEachUsersOwn) {
  define(
      "cc",
      R"([{"id":"start","kind":"start"},{"id":"cc","kind":"cc","approvers":[{"rule":"user","user_id":")" +
          std::to_string(hr) +
          R"("}]},{"id":"a","kind":"approval","approvers":[{"rule":"department_kind","kind":"it"}]},{"id":"end","kind":"end"}])",
      R"([{"from":"start","to":"cc"},{"from":"cc","to":"a"},{"from":"a","to":"end"}])");
  Instance one = start("cc", clerk);
  start("cc", clerk2);
  EXPECT_EQ(engine->pending(principal(it_head), 50, std::nullopt).total, 2);
  EXPECT_EQ(engine->pending(principal(ops_head), 50, std::nullopt).total, 0);
  EXPECT_EQ(engine->started(principal(clerk), 50, std::nullopt).total, 1);
  EXPECT_EQ(engine->copied(principal(hr), 50, std::nullopt).total, 2);
  EXPECT_EQ(engine->counts(principal(it_head)).pending, 2);
  EXPECT_EQ(engine->counts(principal(hr)).cc_unread, 2);
  approve(one, it_head);
  EXPECT_EQ(engine->done(principal(it_head), 50, std::nullopt).total, 1);
  EXPECT_EQ(engine->pending(principal(it_head), 50, std::nullopt).total, 1);
  // The list of instances: each sees what they are part of, nothing else.
  EXPECT_EQ(engine->list(principal(clerk2), {}).total, 1);
  EXPECT_EQ(engine->list(principal(hr), {}).total, 2);
  EXPECT_EQ(engine->list(principal(po_director), {}).total, 0);
  EXPECT_EQ(engine->list(admin, {}).total, 2) << "workflow:instances:read";
  // Notifications were written for the approver and the copied.
  EXPECT_GE(
      scalar("SELECT COUNT(*) FROM notifications WHERE kind = 'workflow.task' AND user_id = " +
             std::to_string(it_head)),
      2);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM notifications WHERE kind = 'workflow.approved' AND "
                   "user_id = " +
                   std::to_string(clerk)),
            1);
}

TEST_P(Workflow, FormsAreCheckedAgainstTheirType) {
  one_step("one", R"([{"rule":"department_kind","kind":"it"}])");
  EXPECT_TRUE(throws_code([&] { start("one", clerk, R"({})"); }, ErrorCode::validation_failed,
                          "body.form.amount"));
  EXPECT_TRUE(throws_code([&] { start("one", clerk, R"({"amount":"lots"})"); },
                          ErrorCode::validation_failed, "body.form.amount"));
  EXPECT_TRUE(throws_code([&] { start("one", clerk, R"({"amount":-1})"); },
                          ErrorCode::validation_failed, "body.form.amount"));
  EXPECT_TRUE(throws_code([&] { start("one", clerk, R"({"amount":1,"colour":"red"})"); },
                          ErrorCode::validation_failed, "body.form.colour"));
  EXPECT_TRUE(throws_code([&] { start("one", clerk, R"({"amount":1,"kind":"c"})"); },
                          ErrorCode::validation_failed, "body.form.kind"));
  EXPECT_TRUE(
      throws_code([&] { start("one", clerk, R"({"amount":1,"issuing_department_id":"999999"})"); },
                  ErrorCode::validation_failed, "body.form.issuing_department_id"));
  EXPECT_TRUE(throws_code(
      [&] { start("one", clerk, R"({"amount":1,"note":"')" + std::string(60, 'x') + R"("})"); },
      ErrorCode::validation_failed, "body.form.note"));
  EXPECT_TRUE(throws_code([&] { start("nope", clerk); }, ErrorCode::validation_failed,
                          "body.definition_key"));
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM workflow_instances"), 0);
}

INSTANTIATE_TEST_SUITE_P(Engines, Workflow, ::testing::ValuesIn(testing_db::engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace custos::workflow
