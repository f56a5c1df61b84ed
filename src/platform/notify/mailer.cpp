#include "platform/notify/mailer.h"

#include <curl/curl.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <mutex>

#include "platform/crypto/crypto.h"
#include "platform/log/log.h"

namespace custos::notify {

namespace {

std::string base64(std::string_view bytes) {
  crypto::init();
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// RFC 2047 encoded-word for a UTF-8 header value.
std::string encoded_word(std::string_view text) {
  bool ascii = true;
  for (unsigned char c : text) ascii = ascii && c >= 0x20 && c < 0x7f;
  if (ascii) return std::string(text);
  return "=?UTF-8?B?" + base64(text) + "?=";
}

std::string rfc5322_date(int64_t now_ms) {
  std::time_t t = static_cast<std::time_t>(now_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string strip_controls(std::string s) {
  s.erase(std::remove_if(s.begin(), s.end(),
                         [](char c) { return static_cast<unsigned char>(c) < 0x20; }),
          s.end());
  return s;
}

struct Upload {
  const std::string* data;
  size_t pos = 0;
};

size_t read_cb(char* buf, size_t size, size_t n, void* user) {
  auto* u = static_cast<Upload*>(user);
  const size_t room = size * n;
  const size_t left = u->data->size() - u->pos;
  const size_t take = std::min(room, left);
  std::memcpy(buf, u->data->data() + u->pos, take);
  u->pos += take;
  return take;
}

void curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

bool plausible_address(const std::string& a) {
  if (a.size() < 3 || a.size() > 254) return false;
  const auto at = a.find('@');
  if (at == std::string::npos || at == 0 || at + 1 >= a.size()) return false;
  for (unsigned char c : a)
    if (c <= 0x20 || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' || c == 0x7f)
      return false;
  return true;
}

std::string compose(const std::string& from, const std::string& to, const std::string& subject,
                    const std::string& body, int64_t now_ms, const std::string& message_id) {
  std::string b64 = base64(body);
  std::string wrapped;
  for (size_t i = 0; i < b64.size(); i += 76) wrapped += b64.substr(i, 76) + "\r\n";
  const std::string domain = from.substr(from.find('@') + 1);
  return "Date: " + rfc5322_date(now_ms) + "\r\nFrom: <" + from + ">\r\nTo: <" + to +
         ">\r\nMessage-ID: <" + message_id + "@" + domain +
         ">\r\nSubject: " + encoded_word(strip_controls(subject)) +
         "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n" +
         wrapped;
}

std::string smtp_send(const MailSettings& s, const std::string& to, const std::string& message) {
  curl_once();
  CURL* c = curl_easy_init();
  if (!c) return "curl unavailable";
  Upload up{&message};
  curl_slist* rcpt = curl_slist_append(nullptr, ("<" + to + ">").c_str());
  const std::string from = "<" + s.from + ">";
  curl_easy_setopt(c, CURLOPT_URL, s.smtp_url.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt(c, CURLOPT_READDATA, &up);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(s.timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(s.timeout_ms));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (!s.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, s.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, s.password.c_str());
  }
  if (s.require_tls) curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  const CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(c);
  if (rc == CURLE_OK) return {};
  return std::string(curl_easy_strerror(rc)) + (code ? " (SMTP " + std::to_string(code) + ")" : "");
}

DrainReport drain_outbox(db::Db& db, const MailSettings& s, int64_t now, int batch) {
  DrainReport report;
  auto due = db.read([&](db::Tx& tx) {
    return tx.query(
        "SELECT id, org_id, to_addr, subject, body, attempts, created_at FROM mail_outbox WHERE "
        "status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
        {now, int64_t{batch}});
  });
  for (const auto& r : due.rows) {
    const int64_t id = db::as_int(r[0]);
    const std::string to = db::as_text(r[2]);
    const int64_t attempts = db::as_int(r[5]) + 1;
    std::string error;
    if (!plausible_address(to)) {
      error = "not an e-mail address";
    } else {
      const std::string message = compose(s.from, to, db::as_text(r[3]), db::as_text(r[4]), now,
                                          "custos." + std::to_string(id));
      error = smtp_send(s, to, message);
    }
    if (error.empty()) {
      db.write([&](db::Tx& tx) {
        tx.exec(
            "UPDATE mail_outbox SET status = 'sent', sent_at = ?, attempts = ?, last_error = "
            "NULL WHERE id = ?",
            {now, attempts, id});
      });
      ++report.sent;
      continue;
    }
    const bool give_up = !plausible_address(to) || now - db::as_int(r[6]) >= s.give_up_after_ms;
    const int64_t backoff =
        std::min<int64_t>(3'600'000, s.retry_base_ms << std::min<int64_t>(attempts - 1, 12));
    db.write([&](db::Tx& tx) {
      tx.exec(
          "UPDATE mail_outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_error = "
          "? WHERE id = ?",
          {std::string(give_up ? "failed" : "pending"), attempts, now + backoff, error, id});
    });
    if (give_up) {
      ++report.given_up;
      log::app().error("mail {} given up after {} attempts: {}", id, attempts, error);
    } else {
      ++report.failed;
      log::app().warn("mail {} not sent (attempt {}): {}; retrying in {} s", id, attempts, error,
                      backoff / 1000);
    }
  }
  return report;
}

}  // namespace custos::notify
