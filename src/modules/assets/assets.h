// IT asset management (issue #7; IT-1 … IT-7): the equipment archive (设备档案).
//
//  * An asset has a tag unique in the organisation, a category, model and serial, purchase
//    facts, a location, a department, a custodian (保管人) and a designated repairer (IT-4).
//  * Its lifecycle is the server's: ordered → in_stock → in_use ⇄ idle → in_repair /
//    in_external_repair → pending_disposal → scrapped | sold. Each step is an action with the
//    states it may start from; anything else is transition_not_allowed (409). Only a member of
//    the IT department (信息管理部, department kind "it") sends an asset to an external repair
//    centre (IT-4): anyone else gets it_department_only (403).
//  * Every change (creation, fields, state, custodian, location, repair cost) is written to the
//    asset's history and to the audit trail in the same transaction.
//  * Access is the decision point's: department scope over the asset's department, "own records"
//    over its custodian; another department's asset by id is 404, as if it did not exist.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/audit/audit.h"
#include "platform/authz/authz.h"
#include "platform/clock.h"
#include "platform/storage/db.h"
#include "platform/workflow/todo.h"

namespace custos::assets {

namespace perm {
inline constexpr const char* read = "assets:equipment:read";
inline constexpr const char* write = "assets:equipment:write";
inline constexpr const char* inventory_read = "assets:inventory:read";
inline constexpr const char* inventory_write = "assets:inventory:write";
inline constexpr const char* network_read = "assets:network:read";
inline constexpr const char* network_write = "assets:network:write";
inline constexpr const char* violations_read = "assets:violations:read";
inline constexpr const char* violations_write = "assets:violations:write";
}  // namespace perm

// Whole fen as yuan with two decimals: 499950 → "4999.50".
std::string yuan_text(int64_t cents);

// Categories and states, by key (the console names them).
const std::vector<std::string>& categories();
const std::vector<std::string>& states();

struct Asset {
  int64_t id = 0;
  std::string asset_tag, category, name, model, serial, specs, supplier, location, notes, status;
  std::optional<std::string> purchase_date, warranty_end;  // YYYY-MM-DD
  std::optional<int64_t> cost_cents;
  std::optional<int64_t> department_id, custodian_id, repairer_id;
  std::string department_name, custodian_name, repairer_name;
  int64_t created_at = 0, updated_at = 0, version = 1;
};

// Absent fields are left alone; a present empty optional clears the field.
struct AssetInput {
  std::optional<std::string> asset_tag, category, name, model, serial, specs, supplier, location,
      notes;
  std::optional<std::optional<std::string>> purchase_date, warranty_end;
  std::optional<std::optional<int64_t>> cost_cents;
  std::optional<std::optional<int64_t>> department_id, custodian_id, repairer_id;
  std::optional<std::string> status;  // creation only: ordered (default) or in_stock
};

// A lifecycle step: receive, issue, idle, repair, external_repair, repaired, dispose,
// cancel_disposal, scrap, sell.
struct Step {
  std::string action;
  std::optional<int64_t> custodian_id;  // issue: required
  std::optional<std::string> location;  // issue, idle, external_repair (the repair centre)
  std::optional<int64_t> cost_cents;    // repaired: what the repair cost; sell: the price
  std::string note;
};

struct Event {
  int64_t id = 0, at = 0;
  std::optional<int64_t> actor_id;
  std::string actor_name, kind, from, to, note;
  std::optional<int64_t> cost_cents;
  // A custodian event's colleagues by name (from and to are their ids), as the asset names its
  // custodian; empty otherwise.
  std::string from_name, to_name;
};

struct Query {
  int limit = 50;
  std::optional<int64_t> after_id;
  std::string q;  // tag, serial, name or model contains
  std::string status, category;
  std::optional<int64_t> department_id, custodian_id;
};

struct List {
  std::vector<Asset> items;
  std::optional<std::string> next_cursor;
  int64_t total = 0;
  bool total_exact = true;
};

class Assets {
 public:
  Assets(db::Db& db, const Clock& clock, const workflow::Todo& todo);

  Asset create(const authz::Principal& p, const audit::Actor& a, const AssetInput& in);
  Asset get(const authz::Principal& p, int64_t id);
  List list(const authz::Principal& p, const Query& q);
  Asset update(const authz::Principal& p, const audit::Actor& a, int64_t id,
               int64_t expected_version, const AssetInput& in);
  Asset act(const authz::Principal& p, const audit::Actor& a, int64_t id, const Step& step);
  std::vector<Event> history(const authz::Principal& p, int64_t id);
  // How many assets the caller may see are in each state.
  std::vector<std::pair<std::string, int64_t>> count_by_status(const authz::Principal& p);

 private:
  db::Db& db_;
  const Clock& clock_;
  const workflow::Todo& todo_;
};

}  // namespace custos::assets
