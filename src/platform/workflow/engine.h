// The approval engine (issue #5): one engine for every approval the regulations ask for —
// procurement (IT-1), handover (IT-2), external repair (IT-4), scrapping (IT-6), changing an
// issued document (OA-4), penalty waivers (OA-3), sharing (SI-4), vendor visits (VS-9).
// Modules register form types; administrators store process definitions (definition.h); users
// start instances and act on their tasks. Every action runs in one transaction that first
// locks the instance row, so concurrent actions on one instance apply one after the other (two
// approvers of a 或签 node: the first completes it, the second is told it is decided), and
// every action is an audit record in that transaction.
//
// Routing (OA-3): a node's approvers are resolved when it is reached; anyone without the
// authority the node requires is left out, and the initiator never approves their own request
// unless the definition allows it (their superior is asked instead). When nobody is left the
// action is refused with `no_approver`: a form is never routed to someone without authority.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "platform/audit/audit.h"
#include "platform/authz/authz.h"
#include "platform/clock.h"
#include "platform/jobs/job_runner.h"
#include "platform/notify/notifier.h"
#include "platform/storage/db.h"
#include "platform/workflow/definition.h"
#include "platform/workflow/directory.h"
#include "platform/workflow/form_type.h"

namespace custos::workflow {

struct DefinitionInput {
  std::string key;  // [a-z][a-z0-9_.]{1,63}
  std::string name;
  std::string form_type;
  std::string description;
  std::string graph_json;
  bool allow_self_approval = false;
};

struct Definition {
  int64_t id = 0;
  std::string key;
  int version = 1;
  std::string name, form_type, description, status;  // status: active | retired
  Graph graph;
  bool allow_self_approval = false;
  std::optional<int64_t> created_by;
  int64_t created_at = 0;
  bool latest = true;
};

struct Task {
  int64_t id = 0;
  int64_t instance_id = 0;
  std::string node_id, node_name;
  int64_t assignee_id = 0;
  std::string assignee_name;
  std::string kind;    // approval | delegate | added
  std::string status;  // pending | waiting | approved | rejected | returned | transferred |
                       // delegated | resolved | cancelled
  int position = 0;
  std::optional<int64_t> parent_task_id;
  int64_t created_at = 0;
  std::optional<int64_t> due_at, acted_at;
  std::string comment;
  // For to-do lists: the instance's summary, form type, initiator and status.
  std::string summary, form_type, process_name, instance_status;
  int64_t initiator_id = 0;
  std::string initiator_name;
};

struct HistoryEntry {
  int64_t id = 0;
  std::optional<int64_t> task_id;
  std::string node_id;
  std::optional<int64_t> actor_id;
  std::string actor_name;
  std::string action;  // start, approve, reject, return, transfer, delegate, resolve, add_approver,
                       // withdraw, terminate, comment, attach, resubmit, remind, escalate, timeout
  std::string comment;
  std::string data;  // JSON details
  int64_t at = 0;
};

struct Attachment {
  int64_t id = 0;
  std::string name, content_type, sha256;
  int64_t size = 0;
  std::optional<int64_t> uploaded_by;
  int64_t at = 0;
};

struct Instance {
  int64_t id = 0;
  int64_t definition_id = 0;
  std::string definition_key;
  int definition_version = 0;
  std::string process_name, form_type, form_json, summary;
  std::string subject_type;
  std::optional<int64_t> subject_id, subject_owner_id;
  int64_t initiator_id = 0;
  std::string initiator_name;
  std::optional<int64_t> initiator_department_id;
  std::string initiator_department_name;  // named to whoever may see the instance
  std::string status;  // running | returned | approved | rejected | withdrawn | terminated
  int64_t created_at = 0, updated_at = 0;
  std::optional<int64_t> completed_at;
  int64_t version = 0;
  std::vector<Task> tasks;
  std::vector<HistoryEntry> history;
  std::vector<Attachment> attachments;
  std::vector<int64_t> cc;
  // Names of the people and departments the form's user and department fields name (field ->
  // name), so an approver who may not read those records still sees whom the form is about.
  std::map<std::string, std::string> form_names;
  std::optional<bool> cc_read;  // copied(): whether the caller has opened it since
};

struct StartInput {
  std::string definition_key;
  std::string form_json = "{}";
  std::optional<int64_t> subject_id;        // the record the form is about
  std::optional<int64_t> subject_owner_id;  // its owner (record_owner rule)
};

struct ListQuery {
  int limit = 50;
  std::optional<int64_t> after_id;  // the previous page's last id
  bool oldest_first = false;        // sort=created_asc; newest first by default
  std::string status;
  std::string form_type;
  std::string q;                        // contained in the summary or the process's name
  std::optional<int64_t> initiator_id;  // started by
  std::optional<int64_t> subject_id;    // about this record (with subject_type)
  std::string subject_type;
};

struct DefinitionQuery {
  std::string key;  // every version of this process; empty: the latest of each
  int limit = 50;
  std::string after;
};

template <class T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_cursor;
  int64_t total = 0;
};

struct Counts {
  int64_t pending = 0, overdue = 0, cc_unread = 0, started_running = 0, tasks_open = 0,
          must_read = 0, notifications_unread = 0;
};

namespace perm {
inline constexpr const char* definitions_write = "workflow:definitions:write";
inline constexpr const char* instances_read = "workflow:instances:read";
inline constexpr const char* instances_terminate = "workflow:instances:terminate";
}  // namespace perm

class Engine {
 public:
  Engine(db::Db& db, const Clock& clock, Directory& directory, const notify::Notifier& notifier);

  // Form types, registered by modules at start-up (before requests are served).
  void register_form_type(FormType type);
  std::vector<FormType> form_types() const;
  std::optional<FormType> form_type(const std::string& key) const;

  // Definitions: creating a key anew (version 1) or saving a new version of it. Refused with
  // validation_failed naming the field when the graph would not run (definition.h) or a rule
  // names something that does not exist.
  Definition save_definition(const authz::Principal& p, const audit::Actor& actor,
                             const DefinitionInput& in);
  Definition get_definition(const authz::Principal& p, int64_t id);
  // The latest version of each process (ordered and paged by key), or every version of `key`
  // (by version); `after` is the previous page's next_cursor.
  Page<Definition> list_definitions(const authz::Principal& p, const DefinitionQuery& q = {});
  Definition retire_definition(const authz::Principal& p, const audit::Actor& actor, int64_t id);

  // Instances.
  Instance start(const authz::Principal& p, const audit::Actor& actor, const StartInput& in);
  // For modules starting a form as part of their own change (same transaction).
  int64_t start_in(db::Tx& tx, const audit::Actor& actor, int64_t initiator_id,
                   const StartInput& in, int64_t now);
  Instance get(const authz::Principal& p, int64_t id);
  Page<Instance> list(const authz::Principal& p, const ListQuery& q);  // what the caller may see
  Instance withdraw(const authz::Principal& p, const audit::Actor& actor, int64_t id,
                    const std::string& reason);
  Instance terminate(const authz::Principal& p, const audit::Actor& actor, int64_t id,
                     const std::string& reason);
  Instance resubmit(const authz::Principal& p, const audit::Actor& actor, int64_t id,
                    const std::optional<std::string>& form_json);
  Instance comment(const authz::Principal& p, const audit::Actor& actor, int64_t id,
                   const std::string& text);
  Attachment attach(const authz::Principal& p, const audit::Actor& actor, int64_t id,
                    const std::string& name, const std::string& content_type,
                    const std::string& bytes);
  // The bytes of an attachment the caller may see.
  std::pair<Attachment, std::string> attachment(const authz::Principal& p, int64_t instance_id,
                                                int64_t attachment_id);

  // Task actions (the caller must be the task's assignee).
  Instance approve(const authz::Principal& p, const audit::Actor& actor, int64_t task_id,
                   const std::string& comment);
  Instance reject(const authz::Principal& p, const audit::Actor& actor, int64_t task_id,
                  const std::string& reason);
  // 驳回: to the initiator (target empty) or to an earlier approval node of this instance.
  Instance send_back(const authz::Principal& p, const audit::Actor& actor, int64_t task_id,
                     const std::string& target_node, const std::string& reason);
  Instance transfer(const authz::Principal& p, const audit::Actor& actor, int64_t task_id,
                    int64_t to_user, const std::string& comment);
  Instance delegate(const authz::Principal& p, const audit::Actor& actor, int64_t task_id,
                    int64_t to_user, const std::string& comment);
  // The delegate hands the task back to whoever delegated it.
  Instance resolve(const authz::Principal& p, const audit::Actor& actor, int64_t task_id,
                   const std::string& comment);
  // 加签: before (the new approver first, then the task again) or after (the new approver once
  // this task approves).
  Instance add_approver(const authz::Principal& p, const audit::Actor& actor, int64_t task_id,
                        int64_t user, bool before, const std::string& comment);

  // The to-do centre (待办中心) of the caller.
  Page<Task> pending(const authz::Principal& p, int limit, std::optional<int64_t> after_id,
                     bool overdue_only = false);
  Page<Task> done(const authz::Principal& p, int limit, std::optional<int64_t> after_id);
  Page<Instance> started(const authz::Principal& p, int limit, std::optional<int64_t> after_id);
  Page<Instance> copied(const authz::Principal& p, int limit, std::optional<int64_t> after_id);
  // The caller opened the instance: their copies of it count as read.
  void mark_copies_read(const authz::Principal& p, int64_t instance_id);
  Counts counts(const authz::Principal& p);

  // Time limits: reminders, escalation to the approver's superior, automatic approval or
  // rejection, for every pending task past its due time. Returns how many tasks it handled.
  int run_deadlines(int64_t now);
  void register_jobs(jobs::JobRunner& runner, int64_t interval_ms);

 private:
  struct Ctx;
  Instance load(db::Tx& tx, int64_t org, int64_t id, bool with_details);
  bool may_see(db::Tx& tx, const authz::Principal& p, const Instance& i);
  Definition load_definition(db::Tx& tx, int64_t org, int64_t id);
  void check_rules_exist(db::Tx& tx, int64_t org, const Graph& g);
  template <class F>
  Instance act_on_task(const authz::Principal& p, const audit::Actor& actor, int64_t task_id,
                       const char* action, F&& fn);
  template <class F>
  Instance act_on_instance(const authz::Principal& p, const audit::Actor& actor, int64_t id,
                           F&& fn);

  // Parsed graphs by their JSON text: a stored version never changes, so every action and
  // every to-do row reuses the parse instead of repeating it.
  std::shared_ptr<const Graph> graph_of(const std::string& json) const;

  db::Db& db_;
  const Clock& clock_;
  Directory& directory_;
  const notify::Notifier& notifier_;
  mutable std::mutex mu_;
  std::map<std::string, FormType> forms_;
  mutable std::mutex graphs_mu_;
  mutable std::unordered_map<std::string, std::shared_ptr<const Graph>> graphs_;
};

}  // namespace custos::workflow
