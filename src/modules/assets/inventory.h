// Inventories from agents (issue #7, IT-7): FusionInventory agents send what a machine is,
// which addresses it has and what software it runs; Custos matches the machine to an asset and
// keeps those facts, checks them against the software policy and the address plan
// (violations.h), and puts machines no asset matches into a review queue.
//
//  * Agents authenticate with a per-site agent token (shown once, stored as a SHA-256 hash),
//    sent as the password of HTTP basic authentication (the agent's --user/--password) or as
//    a Bearer token; a person may also upload an inventory file (assets:inventory:write).
//  * Matching, in order: the device id an earlier inventory linked; the BIOS serial (when it
//    means something) against the archive's serials; the system UUID; a physical network
//    interface's MAC address. Exactly one asset must match, else the machine waits in the queue.
//  * Each ingestion is one transaction with its audit record: facts, addresses, software,
//    violations opened and cleared.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modules/assets/agent_protocol.h"
#include "modules/assets/violations.h"
#include "platform/audit/audit.h"
#include "platform/authz/authz.h"
#include "platform/clock.h"
#include "platform/storage/db.h"

namespace custos::assets {

struct AgentToken {
  int64_t id = 0, created_at = 0, inventories = 0;
  std::string name;
  std::optional<int64_t> revoked_at, last_used_at;
};

// Who sent an inventory: an agent token, or a person uploading a file.
struct Sender {
  int64_t org_id = 1;
  std::optional<int64_t> agent_id;
  std::string agent_name;
  audit::Actor actor;
};

struct IngestResult {
  std::string outcome;  // "matched" or "queued"
  std::optional<int64_t> asset_id, queue_id;
  std::string matched_by;  // device_id, serial, uuid or mac
  bool changed = false;    // the machine's facts differ from the last inventory
  int violations_opened = 0;
};

struct QueueItem {
  int64_t id = 0, received_at = 0, software_count = 0;
  std::string device_id, hostname, serial, uuid, macs, addresses, os, status, agent_name;
  std::optional<int64_t> asset_id;
};

struct Machine {
  std::string device_id, hostname, uuid, serial, manufacturer, model, os, cpu, agent_name;
  int64_t memory_mb = 0, software_count = 0, inventoried_at = 0;
  struct Address {
    std::string interface, mac, address;
  };
  std::vector<Address> addresses;
  std::vector<agent::Software> software;
};

class Inventory {
 public:
  Inventory(db::Db& db, const Clock& clock, const Violations& violations);

  std::pair<std::string, AgentToken> create_agent(const authz::Principal& p, const audit::Actor& a,
                                                  const std::string& name);
  std::vector<AgentToken> agents(const authz::Principal& p);
  void revoke_agent(const authz::Principal& p, const audit::Actor& a, int64_t id);
  // The agent behind a token; nullopt when unknown or revoked.
  std::optional<Sender> agent_for_token(const std::string& token, const audit::Actor& client);

  IngestResult ingest(const Sender& from, const agent::Inventory& inv);
  // A person's upload (assets:inventory:write).
  IngestResult upload(const authz::Principal& p, const audit::Actor& a,
                      const agent::Inventory& inv);

  std::vector<QueueItem> queue(const authz::Principal& p, const std::string& status, int limit,
                               std::optional<int64_t> after_id);
  // Links a queued machine to an asset the caller may change, applying its inventory.
  IngestResult link(const authz::Principal& p, const audit::Actor& a, int64_t queue_id,
                    int64_t asset_id);
  void dismiss(const authz::Principal& p, const audit::Actor& a, int64_t queue_id);

  // What the last inventory said about an asset's machine; nullopt when none came yet.
  std::optional<Machine> machine(const authz::Principal& p, int64_t asset_id);

 private:
  IngestResult apply(db::Tx& tx, const Sender& from, int64_t asset_id, const std::string& how,
                     const agent::Inventory& inv, int64_t now);

  db::Db& db_;
  const Clock& clock_;
  const Violations& violations_;
};

}  // namespace custos::assets
