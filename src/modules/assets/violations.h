// The software policy and the violations register (issue #7, IT-5 and IT-7).
//
//  * Software rules: prohibit or allow, by name pattern and optionally publisher pattern
//    (glob: * and ?, case-insensitive), with a category (games, hacking, trojan, chat, p2p,
//    unrelated, other). Software is prohibited when a prohibit rule matches and no allow rule
//    does: the allow list wins.
//  * Approved proxies (host:port). A machine whose inventory shows any other proxy setting
//    (http_proxy, https_proxy, ftp_proxy, all_proxy) has an unapproved proxy.
//  * Violations: raised by inventories (prohibited_software, address_mismatch,
//    address_conflict, unapproved_proxy) or recorded by hand (acceptable_use with the seed's
//    case a–d, or other). Each is assigned to the asset's custodian and the head of their
//    department, through their to-do lists. An inventory that no longer shows what raised a
//    violation clears it; a person resolves the rest, with a resolution.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modules/assets/agent_protocol.h"
#include "platform/audit/audit.h"
#include "platform/authz/authz.h"
#include "platform/clock.h"
#include "platform/storage/db.h"
#include "platform/workflow/todo.h"

namespace custos::assets {

const std::vector<std::string>& software_categories();
const std::vector<std::string>& violation_kinds();

// Glob match, case-insensitive for ASCII: * any run, ? one character (UTF-8 aware).
bool glob_match(std::string_view pattern, std::string_view text);

struct SoftwareRule {
  int64_t id = 0, created_at = 0;
  std::string kind, category, name_pattern, publisher_pattern, note;
};

struct Proxy {
  int64_t id = 0, created_at = 0;
  std::string address, note;
};

struct Violation {
  int64_t id = 0, created_at = 0, last_seen_at = 0;
  std::string kind, use_case, source, subject, detail, status, resolution;
  std::optional<int64_t> asset_id, user_id, department_id, head_id, reported_by, resolved_by,
      resolved_at;
  std::string asset_tag, user_name, department_name, head_name;
};

struct ViolationInput {
  std::string kind;      // acceptable_use or other
  std::string use_case;  // a, b, c or d for acceptable_use
  std::optional<int64_t> asset_id, user_id;
  std::string detail;
};

struct ViolationQuery {
  int limit = 50;
  std::optional<int64_t> after_id;
  std::string status, kind;
  std::optional<int64_t> asset_id, department_id;
  bool mine = false;  // assigned to the caller (as the person or as the department head)
};

struct ViolationList {
  std::vector<Violation> items;
  std::optional<std::string> next_cursor;
  int64_t total = 0;
  bool total_exact = true;
};

// What an inventory found on one asset, to reconcile with the register.
struct Finding {
  std::string kind, subject, detail;
};

class Violations {
 public:
  Violations(db::Db& db, const Clock& clock, const workflow::Todo& todo);

  std::vector<SoftwareRule> rules(const authz::Principal& p);
  SoftwareRule add_rule(const authz::Principal& p, const audit::Actor& a, const SoftwareRule& in);
  void delete_rule(const authz::Principal& p, const audit::Actor& a, int64_t id);
  std::vector<Proxy> proxies(const authz::Principal& p);
  Proxy add_proxy(const authz::Principal& p, const audit::Actor& a, const Proxy& in);
  void delete_proxy(const authz::Principal& p, const audit::Actor& a, int64_t id);

  ViolationList list(const authz::Principal& p, const ViolationQuery& q);
  Violation get(const authz::Principal& p, int64_t id);
  // Open violations the caller may see, by department and by kind.
  struct Summary {
    struct Department {
      std::optional<int64_t> id;
      std::string name;
      int64_t open = 0;
    };
    std::vector<Department> by_department;
    std::vector<std::pair<std::string, int64_t>> by_kind;
  };
  Summary summary(const authz::Principal& p);
  Violation record(const authz::Principal& p, const audit::Actor& a, const ViolationInput& in);
  Violation resolve(const authz::Principal& p, const audit::Actor& a, int64_t id,
                    const std::string& resolution);

  // Inside an ingestion's transaction: what the inventory shows on the asset against the
  // rules and the address plan.
  std::vector<Finding> check(db::Tx& tx, int64_t org, int64_t asset_id,
                             const agent::Inventory& inv) const;
  // Opens new findings (assigned, audited), refreshes the ones still seen and clears the
  // inventory violations no longer seen. Returns how many were opened.
  int reconcile(db::Tx& tx, const audit::Actor& a, int64_t asset_id,
                const std::vector<Finding>& found, int64_t now) const;

 private:
  int64_t open(db::Tx& tx, const audit::Actor& a, const std::string& kind,
               const std::string& use_case, const std::string& source,
               std::optional<int64_t> asset_id, std::optional<int64_t> user_id,
               const std::string& subject, const std::string& detail,
               std::optional<int64_t> reported_by, int64_t now) const;

  db::Db& db_;
  const Clock& clock_;
  const workflow::Todo& todo_;
};

}  // namespace custos::assets
