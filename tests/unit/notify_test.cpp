// Issue #5 item 7: notifications and the mail outbox. Messages are written in the caller's
// transaction (in-app, and an outbox entry when the recipient has an address); the outbox keeps
// a mail through a server outage, retrying with back-off. Real delivery to an SMTP server is in
// the black-box suite (tests/api/test_workflow.py).
#include <gtest/gtest.h>

#include "platform/errors/error.h"
#include "platform/notify/mailer.h"
#include "platform/notify/notifier.h"
#include "platform/storage/migrations.h"
#include "test_db.h"

namespace custos::notify {
namespace {

TEST(Mail, ComposeEncodesChineseAndRefusesHeaderInjection) {
  const std::string m = compose("custos@hospital.example", "wang@hospital.example",
                                "待审批：采购笔记本\r\nBcc: evil@x", "您有新的待审批。",
                                1'780'000'000'000, "custos.7");
  EXPECT_NE(m.find("From: <custos@hospital.example>\r\n"), std::string::npos);
  EXPECT_NE(m.find("To: <wang@hospital.example>\r\n"), std::string::npos);
  EXPECT_NE(m.find("Subject: =?UTF-8?B?"), std::string::npos);
  EXPECT_EQ(m.find("\r\nBcc:"), std::string::npos) << "controls are stripped from the subject";
  EXPECT_NE(m.find("Content-Type: text/plain; charset=UTF-8"), std::string::npos);
  EXPECT_NE(m.find("Message-ID: <custos.7@hospital.example>"), std::string::npos);
  EXPECT_NE(m.find("Date: "), std::string::npos);
  EXPECT_TRUE(plausible_address("a@b.cn"));
  for (const char* bad :
       {"", "nobody", "@x.cn", "a@", "a b@x.cn", "a@x.cn>\r\nRCPT TO:<b@y", "a,b@x.cn", "<a@x.cn>"})
    EXPECT_FALSE(plausible_address(bad)) << bad;
}

TEST(Mail, TemplatesInBothLanguages) {
  Rendered r = render("workflow.task", {{"summary", "采购 3 台"},
                                        {"initiator", "王丽"},
                                        {"process", "IT 采购"},
                                        {"node", "行政人事"}});
  EXPECT_EQ(r.title_zh, "待审批：采购 3 台");
  EXPECT_EQ(r.title_en, "Waiting for your approval: 采购 3 台");
  EXPECT_NE(r.body_zh.find("王丽"), std::string::npos);
  EXPECT_NE(r.body_en.find("waits for your approval"), std::string::npos);
}

class Outbox : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    database = testing_db::open_fresh(GetParam());
    db::migrate(*database);
    database->write([&](db::Tx& tx) {
      user = db::as_int(tx.one("INSERT INTO users (org_id, username, name, email, created_at, "
                               "updated_at) VALUES (1, 'wang', '王丽', 'wang@hospital.example', 0, "
                               "0) RETURNING id")
                            ->at(0));
      nomail = db::as_int(tx.one("INSERT INTO users (org_id, username, name, created_at, "
                                 "updated_at) VALUES (1, 'li', '李强', 0, 0) RETURNING id")
                              ->at(0));
    });
  }
  void TearDown() override { database->close(); }
  int64_t scalar(const std::string& sql) {
    return database->read([&](db::Tx& tx) { return db::as_int(tx.query(sql).rows.at(0).at(0)); });
  }
  std::unique_ptr<db::Db> database;
  int64_t user = 0, nomail = 0;
};

TEST_P(Outbox, AMessageIsWrittenWithTheChangeOrNotAtAll) {
  Notifier n(/*mail_enabled=*/true);
  database->write([&](db::Tx& tx) {
    n.send(tx, 1, {.user_id = user, .kind = "workflow.approved", .params = {{"summary", "x"}}},
           1000);
    n.send(tx, 1, {.user_id = nomail, .kind = "workflow.approved"}, 1000);
  });
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM notifications"), 2);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM mail_outbox"), 1) << "only who has an address";
  try {
    database->write([&](db::Tx& tx) {
      n.send(tx, 1, {.user_id = user, .kind = "workflow.rejected"}, 2000);
      throw std::runtime_error("the change fails");
    });
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM notifications"), 2);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM mail_outbox"), 1);
  // Read and unread.
  auto page = n.list(*database, 1, user, {});
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.unread, 1);
  n.mark_read(*database, 1, user, page.items[0].id, 3000);
  EXPECT_EQ(n.list(*database, 1, user, {}).unread, 0);
  EXPECT_THROW(n.mark_read(*database, 1, nomail, page.items[0].id, 3000), Error)
      << "someone else's notification";
}

TEST_P(Outbox, AnOutageDelaysMailAndLosesNone) {
  Notifier n(true);
  database->write([&](db::Tx& tx) {
    n.send(tx, 1, {.user_id = user, .kind = "workflow.task", .params = {{"summary", "采购"}}}, 0);
  });
  MailSettings s;
  s.smtp_url = "smtp://127.0.0.1:1";  // nothing listens: connection refused
  s.from = "custos@hospital.example";
  s.timeout_ms = 2000;
  int64_t now = 1000;
  auto r = drain_outbox(*database, s, now);
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM mail_outbox WHERE status = 'pending'"), 1);
  EXPECT_EQ(scalar("SELECT next_attempt_at FROM mail_outbox"), now + 60'000);
  // Not due again before its back-off.
  EXPECT_EQ(drain_outbox(*database, s, now + 30'000).failed, 0);
  r = drain_outbox(*database, s, now + 60'000);
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(scalar("SELECT attempts FROM mail_outbox"), 2);
  EXPECT_EQ(scalar("SELECT next_attempt_at FROM mail_outbox"), now + 60'000 + 120'000);
  // A week of outage: given up, marked failed, still in the table for the operator.
  s.give_up_after_ms = 3'600'000;
  r = drain_outbox(*database, s, 4'000'000);
  EXPECT_EQ(r.given_up, 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM mail_outbox WHERE status = 'failed'"), 1);
}

INSTANTIATE_TEST_SUITE_P(Engines, Outbox, ::testing::ValuesIn(testing_db::engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace custos::notify
