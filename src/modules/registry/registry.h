// The service information registry (issue #6; SI-1, SI-2, SI-3): customer profiles (客户资料),
// service requests (服务请求) and feedback (反馈意见).
//
//  * Every record carries a classification (SI-1), defaulted by its type; changing it needs
//    registry:records:classify and is audited.
//  * Personal fields (mobile, ID-card number, address, e-mail) are encrypted before they reach
//    storage (crypto::FieldCipher) and found by exact value through keyed blind indexes; output
//    masks them (and the name) unless the caller unmasks with a reason — audited, like every
//    read of a record whose level audits reads (敏感, 机密 by default).
//  * Access is the decision point's: permission ∧ department scope ∧ clearance ≥ classification,
//    or an explicit grant; lists push the same rule into SQL. Another department's record answers
//    404 as if it did not exist.
//  * Lawful collection (SI-2): purposes with their legal basis or consent per customer; a
//    withdrawn consent blocks the uses that relied on it (consent_withdrawn). Data-subject
//    requests run against a 30-day deadline; deletion respects legal holds and leaves an audited
//    tombstone. Review intervals and retention periods are data; jobs apply them.
//  * Service requests follow new → assigned → in_progress → resolved → closed (reopen from
//    resolved or closed), with SLA due times per type and priority, breach flags and escalation
//    to the department head through the to-do centre. Feedback scores 1–5; a complaint escalates
//    to the owning department's head.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "platform/audit/audit.h"
#include "platform/authz/authz.h"
#include "platform/clock.h"
#include "platform/crypto/field_cipher.h"
#include "platform/jobs/job_runner.h"
#include "platform/notify/notifier.h"
#include "platform/privacy/mask.h"
#include "platform/storage/db.h"
#include "platform/storage/group_commit.h"
#include "platform/workflow/todo.h"

namespace custos::registry {

namespace perm {
inline constexpr const char* customers_read = "registry:customers:read";
inline constexpr const char* customers_write = "registry:customers:write";
inline constexpr const char* customers_unmask = "registry:customers:unmask";
inline constexpr const char* customers_export = "registry:customers:export";
inline constexpr const char* requests_read = "registry:requests:read";
inline constexpr const char* requests_write = "registry:requests:write";
inline constexpr const char* requests_export = "registry:requests:export";
inline constexpr const char* feedback_write = "registry:feedback:write";
inline constexpr const char* classify = "registry:records:classify";
inline constexpr const char* config_write = "registry:config:write";
inline constexpr const char* privacy_write = "registry:privacy:write";  // consents, DSRs, holds
}  // namespace perm

// The personal fields, in their masked or clear form.
struct Personal {
  std::optional<std::string> mobile, id_card, address, email;
};

struct Customer {
  int64_t id = 0;
  std::string kind;  // individual | organization
  std::string name;
  Personal personal;
  std::vector<std::string> tags;
  std::optional<int64_t> department_id, owner_user_id;
  int classification = 2;
  std::string source;
  std::string custom_json = "{}";
  std::optional<std::string> external_key;
  std::string status;  // active | anonymised | deleted
  bool legal_hold = false, stale = false;
  std::optional<int64_t> review_due_at, reviewed_at;
  int64_t created_at = 0, updated_at = 0, version = 0;
};

struct CustomerInput {
  std::optional<std::string> kind, name, source, external_key;
  std::optional<std::optional<std::string>> mobile, id_card, address, email;
  std::optional<std::vector<std::string>> tags;
  std::optional<std::optional<int64_t>> department_id, owner_user_id;
  std::optional<int> classification;
  std::optional<std::string> custom_json;
};

// A list's total is counted up to this many rows (Page::total_exact says whether it stopped).
inline constexpr int64_t kCountLimit = db::kListCountLimit;

struct CustomerQuery {
  int limit = 50;
  std::optional<int64_t> after_id;     // newest first: ids below this
  std::string q;                       // full text over name, tags, source
  std::string mobile, id_card, email;  // exact (blind index)
  std::optional<int64_t> department_id;
  std::optional<int> classification;
  std::string tag;
  std::optional<bool> stale;
  std::optional<int64_t> created_from, created_to;
  bool count_total = true;  // false: Page::total stays 0 (exports page without counting)
  int64_t count_limit = kCountLimit;
  bool record_reads = true;  // false: the caller records the read itself (exports)
};

template <class T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_cursor;
  int64_t total = 0;
  bool total_exact = true;  // false: more than count_limit match; total is count_limit
};

struct RequestType {
  int64_t id = 0;
  std::string code, name;
  int default_classification = 1;
};
struct Priority {
  std::string code, name;
  int rank = 0;
};
struct SlaTarget {
  int64_t type_id = 0;
  std::string priority;
  int response_minutes = 0, resolve_minutes = 0;
};

struct ServiceRequest {
  int64_t id = 0;
  std::string number;
  std::optional<int64_t> customer_id;
  std::string customer_name;  // masked unless unmasked
  int64_t type_id = 0;
  std::string type_code, type_name, priority, channel, title, description, status;
  std::optional<int64_t> department_id, assignee_id, owner_user_id;
  std::string assignee_name;
  int classification = 1;
  std::optional<int64_t> response_due_at, resolve_due_at, responded_at, resolved_at, closed_at,
      escalated_at;
  bool response_breached = false, resolve_breached = false;
  std::optional<std::string> external_key;
  std::optional<std::string> customer_external_key;
  int64_t created_at = 0, updated_at = 0, version = 0;
};

struct RequestInput {
  std::optional<std::optional<int64_t>> customer_id;
  std::optional<std::string> type, priority, channel, title, description, external_key;
  std::optional<std::optional<int64_t>> department_id;
  std::optional<int> classification;
};

struct RequestQuery {
  int limit = 50;
  std::string cursor;                 // opaque, from next_cursor
  std::string sort = "created_desc";  // created_desc | created_asc | due_asc
  std::string q;
  std::vector<std::string> status;
  std::string type, priority, channel;
  std::optional<int64_t> department_id, assignee_id, customer_id;
  std::optional<bool> breached;
  std::optional<int> classification;
  std::optional<int64_t> due_before, created_from, created_to;
  bool count_total = true;  // false: Page::total stays 0
  int64_t count_limit = kCountLimit;
};

struct Comment {
  int64_t id = 0, author_id = 0;
  std::string author_name, body;
  int64_t created_at = 0;
};

struct Feedback {
  int64_t id = 0, request_id = 0;
  int satisfaction = 0;
  std::string comment;
  bool complaint = false;
  std::optional<int64_t> created_by;
  int64_t created_at = 0;
};

struct Consent {
  int64_t id = 0, customer_id = 0;
  std::string purpose, legal_basis, policy_version, scope, given_by, source;
  int64_t given_at = 0;
  std::optional<int64_t> withdrawn_at;
  std::string withdraw_reason;
};

struct ConsentInput {
  std::string purpose, legal_basis, policy_version, scope, given_by, source;
  std::optional<int64_t> given_at;
};

struct SubjectRequest {
  int64_t id = 0, customer_id = 0;
  std::string kind, status, detail, response;
  int64_t received_at = 0, due_at = 0;
  std::optional<int64_t> completed_at, handled_by;
};

// What the transaction-level operations do after their checks: nothing (a dry run), write only
// when something changes (imports), or always write (the API: a PATCH bumps the version).
enum class Apply { check, write_changes, write };

class Registry {
 public:
  Registry(db::Db& db, const Clock& clock, const crypto::FieldCipher& cipher,
           const privacy::Masker& masker, const notify::Notifier& notifier,
           const workflow::Todo& todo);

  // ---- customers
  Customer create_customer(const authz::Principal& p, const audit::Actor& a,
                           const CustomerInput& in);
  // Masked; a read of a record whose level audits reads is recorded.
  // A read whose audit record (SI-3, SI-7) the caller lets commit without waiting: given
  // `deferred`, the record is not written here but set there, as a function that queues it and
  // calls back once it committed (true) or failed (false); the caller must not show the record
  // before then (the HTTP answer's hold). Without it, the record is committed before returning.
  using DeferredAudit = std::function<void(std::function<void(bool ok)>)>;
  Customer get_customer(const authz::Principal& p, const audit::Actor& a, int64_t id,
                        DeferredAudit* deferred = nullptr);
  Page<Customer> list_customers(const authz::Principal& p, const audit::Actor& a,
                                const CustomerQuery& q);
  Customer update_customer(const authz::Principal& p, const audit::Actor& a, int64_t id,
                           int64_t version, const CustomerInput& in);
  // Fields in clear (name, mobile, id_card, address, email): registry:customers:unmask, a reason.
  std::map<std::string, std::string> unmask_customer(const authz::Principal& p,
                                                     const audit::Actor& a, int64_t id,
                                                     const std::vector<std::string>& fields,
                                                     const std::string& reason);
  Customer review_customer(const authz::Principal& p, const audit::Actor& a, int64_t id);
  Customer set_legal_hold(const authz::Principal& p, const audit::Actor& a, int64_t id, bool hold,
                          const std::string& reason);

  // ---- lawful collection (SI-2)
  Consent add_consent(const authz::Principal& p, const audit::Actor& a, int64_t customer_id,
                      const ConsentInput& in);
  Consent withdraw_consent(const authz::Principal& p, const audit::Actor& a, int64_t customer_id,
                           int64_t consent_id, const std::string& reason);
  std::vector<Consent> consents(const authz::Principal& p, int64_t customer_id);
  SubjectRequest open_subject_request(const authz::Principal& p, const audit::Actor& a,
                                      int64_t customer_id, const std::string& kind,
                                      const std::string& detail);
  // access: the response is the customer's data in clear (JSON); correction: a note of what was
  // corrected; deletion: the customer anonymised and tombstoned, refused under a legal hold.
  SubjectRequest complete_subject_request(const authz::Principal& p, const audit::Actor& a,
                                          int64_t id, const std::string& note);
  Page<SubjectRequest> subject_requests(const authz::Principal& p, bool open_only, int limit,
                                        std::optional<int64_t> after_id);

  // ---- configuration (registry:config:write)
  std::vector<RequestType> request_types(const authz::Principal& p);
  RequestType save_request_type(const authz::Principal& p, const audit::Actor& a,
                                const RequestType& t);
  std::vector<Priority> priorities(const authz::Principal& p);
  std::vector<SlaTarget> sla_targets(const authz::Principal& p);
  SlaTarget save_sla_target(const authz::Principal& p, const audit::Actor& a, const SlaTarget& t);

  // ---- service requests
  ServiceRequest create_request(const authz::Principal& p, const audit::Actor& a,
                                const RequestInput& in);
  ServiceRequest get_request(const authz::Principal& p, const audit::Actor& a, int64_t id,
                             DeferredAudit* deferred = nullptr);
  Page<ServiceRequest> list_requests(const authz::Principal& p, const RequestQuery& q);
  ServiceRequest update_request(const authz::Principal& p, const audit::Actor& a, int64_t id,
                                int64_t version, const RequestInput& in);
  ServiceRequest assign_request(const authz::Principal& p, const audit::Actor& a, int64_t id,
                                std::optional<int64_t> department_id,
                                std::optional<int64_t> assignee_id);
  // start | resolve | close | reopen; anything not allowed from the current status is
  // transition_not_allowed.
  ServiceRequest transition_request(const authz::Principal& p, const audit::Actor& a, int64_t id,
                                    const std::string& action, const std::string& comment);
  Comment add_comment(const authz::Principal& p, const audit::Actor& a, int64_t request_id,
                      const std::string& body);
  std::vector<Comment> comments(const authz::Principal& p, int64_t request_id);
  Feedback add_feedback(const authz::Principal& p, const audit::Actor& a, int64_t request_id,
                        int satisfaction, const std::string& comment, bool complaint);
  std::vector<Feedback> feedback(const authz::Principal& p, int64_t request_id);

  // ---- inside the caller's transaction (imports): the rules and records of the calls above.
  // Errors name the API's fields (body.name, body.department_id…). insert_*: the new id (0 for
  // Apply::check). change_*: the fields that change (API names), with no version check when
  // version is nullopt.
  int64_t insert_customer(db::Tx& tx, const authz::Principal& p, const audit::Actor& a,
                          const CustomerInput& in, int64_t now, Apply mode);
  std::vector<std::string> change_customer(db::Tx& tx, const authz::Principal& p,
                                           const audit::Actor& a, int64_t id,
                                           std::optional<int64_t> version, const CustomerInput& in,
                                           int64_t now, Apply mode);
  int64_t insert_request(db::Tx& tx, const authz::Principal& p, const audit::Actor& a,
                         const RequestInput& in, int64_t now, Apply mode);
  std::vector<std::string> change_request(db::Tx& tx, const authz::Principal& p,
                                          const audit::Actor& a, int64_t id,
                                          std::optional<int64_t> version, const RequestInput& in,
                                          int64_t now, Apply mode);

  // ---- jobs
  // SLA: flags breaches and escalates them to the department head (once per breach).
  int run_sla(int64_t now);
  // Reviews: records past their review date are flagged stale and their owner gets a task.
  int run_reviews(int64_t now);
  // Retention: records past their period are anonymised or deleted (legal hold excepted).
  int run_retention(int64_t now);
  void register_jobs(jobs::JobRunner& runner, int64_t interval_ms);

  // For imports, exports and the demo generator: the stored form of a customer's personal
  // fields and their blind indexes.
  struct Sealed {
    db::Value mobile, id_card, address, email;
    db::Value mobile_bidx, id_card_bidx, email_bidx;
  };
  Sealed seal(int64_t customer_id, const Personal& clear) const;
  Personal open(int64_t customer_id, const std::vector<db::Value>& sealed_cells) const;
  Personal mask(const Personal& clear) const;
  const privacy::Masker& masker() const { return masker_; }

 private:
  // The audit record of reading one record by id (through a grant when `grant` is set): written
  // now, or handed to `deferred` when it is given.
  void audit_read_by_id(const audit::Actor& a, std::optional<int64_t> grant, const char* permission,
                        const char* action, const char* object_type, int64_t id, int level,
                        DeferredAudit* deferred);

  db::Db& db_;
  const Clock& clock_;
  const crypto::FieldCipher& cipher_;
  const privacy::Masker& masker_;
  const notify::Notifier& notifier_;
  const workflow::Todo& todo_;
  // The audit records of reads (敏感/机密 records, grant uses): concurrent reads share a commit.
  db::GroupCommit read_audits_{db_};
};

// Normalised forms for the blind index: mobile digits only (a leading +86 or 86 dropped),
// ID-card numbers upper-case without spaces, e-mail lower-case; nullopt when not plausible.
std::optional<std::string> normal_mobile(std::string_view v);
std::optional<std::string> normal_id_card(std::string_view v);
std::optional<std::string> normal_email(std::string_view v);

}  // namespace custos::registry
