// The mail outbox's sender (issue #5 item 7): the job `notify.mail` (one server at a time, by
// lease) sends due outbox entries over SMTP with libcurl, outside any transaction, then records
// each outcome. A failure is retried with back-off (by default 1, 2, 4 … minutes, at most an
// hour apart)
// for `give_up_after` (default 7 days); only then is the entry marked failed. A server outage
// therefore delays mail and loses none of it.
#pragma once

#include <cstdint>
#include <string>

#include "platform/storage/db.h"

namespace custos::notify {

struct MailSettings {
  std::string smtp_url;  // smtp://host:25, smtps://host:465
  std::string from;      // custos@example.com
  std::string username, password;
  bool require_tls = false;  // STARTTLS on smtp://
  int timeout_ms = 10'000;
  int64_t give_up_after_ms = 7 * 86'400'000LL;
  int64_t retry_base_ms = 60'000;  // first retry; doubled each time, at most an hour
};

// One RFC 5322 message, UTF-8 subject and body (base64), ready for SMTP.
std::string compose(const std::string& from, const std::string& to, const std::string& subject,
                    const std::string& body, int64_t now_ms, const std::string& message_id);

// Sends one message; returns "" on success, else a short reason (no credentials in it).
std::string smtp_send(const MailSettings& s, const std::string& to, const std::string& message);

struct DrainReport {
  int sent = 0, failed = 0, given_up = 0;
};

// Sends every due entry (at most `batch`), one by one.
DrainReport drain_outbox(db::Db& db, const MailSettings& s, int64_t now_ms, int batch = 100);

// A valid recipient for a header and an SMTP envelope: no spaces, controls or angle brackets.
bool plausible_address(const std::string& addr);

}  // namespace custos::notify
