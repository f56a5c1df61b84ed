#include "modules/assets/inventory.h"

#include <boost/json.hpp>

#include <algorithm>

#include "modules/assets/internal.h"
#include "platform/audit/changes.h"
#include "platform/authz/records.h"
#include "platform/crypto/crypto.h"
#include "platform/errors/error.h"

namespace custos::assets {

namespace json = boost::json;

namespace {

using detail::opt;

std::string token_hash(const std::string& token) {
  return crypto::hex(crypto::sha256(token));
}

json::value to_json(const agent::Inventory& inv) {
  json::array nics, soft, proxies;
  for (const auto& n : inv.interfaces) {
    json::array addrs;
    for (const auto& a : n.addresses) addrs.emplace_back(a);
    nics.push_back(json::object{{"name", n.name},
                                {"mac", n.mac},
                                {"type", n.type},
                                {"virtual", n.virtual_device},
                                {"addresses", std::move(addrs)}});
  }
  for (const auto& s : inv.software)
    soft.push_back(
        json::array{json::value(s.name), json::value(s.publisher), json::value(s.version)});
  for (const auto& [k, v] : inv.proxies)
    proxies.push_back(json::array{json::value(k), json::value(v)});
  return json::object{{"query", inv.query},
                      {"device_id", inv.device_id},
                      {"hostname", inv.hostname},
                      {"uuid", inv.uuid},
                      {"serial", inv.serial},
                      {"manufacturer", inv.manufacturer},
                      {"model", inv.model},
                      {"os", inv.os},
                      {"cpu", inv.cpu},
                      {"memory_mb", inv.memory_mb},
                      {"tag", inv.tag},
                      {"interfaces", std::move(nics)},
                      {"software", std::move(soft)},
                      {"proxies", std::move(proxies)}};
}

agent::Inventory from_json(const std::string& text) {
  const json::object o = json::parse(text).as_object();
  auto str = [&](const json::object& x, const char* k) {
    const json::value* v = x.if_contains(k);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  agent::Inventory inv;
  inv.query = str(o, "query");
  inv.device_id = str(o, "device_id");
  inv.hostname = str(o, "hostname");
  inv.uuid = str(o, "uuid");
  inv.serial = str(o, "serial");
  inv.manufacturer = str(o, "manufacturer");
  inv.model = str(o, "model");
  inv.os = str(o, "os");
  inv.cpu = str(o, "cpu");
  inv.tag = str(o, "tag");
  inv.memory_mb = o.at("memory_mb").to_number<int64_t>();
  for (const auto& n : o.at("interfaces").as_array()) {
    const auto& x = n.as_object();
    agent::Interface i{
        str(x, "name"), str(x, "mac"), str(x, "type"), x.at("virtual").as_bool(), {}};
    for (const auto& a : x.at("addresses").as_array()) i.addresses.emplace_back(a.as_string());
    inv.interfaces.push_back(std::move(i));
  }
  for (const auto& s : o.at("software").as_array()) {
    const auto& a = s.as_array();
    inv.software.push_back({std::string(a[0].as_string()), std::string(a[1].as_string()),
                            std::string(a[2].as_string())});
  }
  for (const auto& p : o.at("proxies").as_array())
    inv.proxies.emplace_back(std::string(p.as_array()[0].as_string()),
                             std::string(p.as_array()[1].as_string()));
  return inv;
}

// The facts a change is judged by: a different fingerprint rewrites addresses and software.
std::string fingerprint(const agent::Inventory& inv) {
  std::string s = inv.hostname + '\n' + inv.uuid + '\n' + inv.serial + '\n' + inv.manufacturer +
                  '\n' + inv.model + '\n' + inv.os + '\n' + inv.cpu + '\n' +
                  std::to_string(inv.memory_mb) + '\n';
  for (const auto& n : inv.interfaces) {
    s += n.name + ' ' + n.mac;
    for (const auto& a : n.addresses) s += ' ' + a;
    s += '\n';
  }
  for (const auto& x : inv.software) s += x.name + '\t' + x.publisher + '\t' + x.version + '\n';
  return crypto::hex(crypto::sha256(s));
}

std::string joined_macs(const agent::Inventory& inv) {
  std::string out;
  for (const auto& n : inv.interfaces)
    if (!n.mac.empty() && out.find(n.mac) == std::string::npos)
      out += (out.empty() ? "" : ",") + n.mac;
  return out;
}

std::string joined_addresses(const agent::Inventory& inv) {
  std::string out;
  for (const auto& n : inv.interfaces)
    for (const auto& a : n.addresses)
      if (a != "127.0.0.1" && a != "::1" && a.rfind("fe80:", 0) != 0)
        out += (out.empty() ? "" : ",") + a;
  return out;
}

// The one asset an inventory names, and how it was found.
std::optional<std::pair<int64_t, std::string>> match(db::Tx& tx, int64_t org,
                                                     const agent::Inventory& inv) {
  auto only = [&](const std::string& sql,
                  const std::vector<db::Value>& params) -> std::optional<int64_t> {
    auto rows = tx.query(sql + " LIMIT 2", params).rows;
    if (rows.size() != 1) return std::nullopt;
    return db::as_int(rows[0][0]);
  };
  if (auto a = only("SELECT asset_id FROM asset_machines WHERE org_id = ? AND device_id = ?",
                    {org, inv.device_id}))
    return std::pair{*a, std::string("device_id")};
  if (agent::meaningful_serial(inv.serial))
    if (auto a = only("SELECT id FROM assets WHERE org_id = ? AND serial = ?", {org, inv.serial}))
      return std::pair{*a, std::string("serial")};
  if (!inv.uuid.empty())
    if (auto a = only("SELECT asset_id FROM asset_machines WHERE org_id = ? AND uuid = ?",
                      {org, inv.uuid}))
      return std::pair{*a, std::string("uuid")};
  // Physical interfaces only: a virtual bridge's MAC is often the same on many machines.
  for (const auto& n : inv.interfaces) {
    if (n.mac.empty() || n.virtual_device) continue;
    if (auto a = only("SELECT DISTINCT asset_id FROM asset_addresses WHERE org_id = ? AND mac = ?",
                      {org, n.mac}))
      return std::pair{*a, std::string("mac")};
  }
  return std::nullopt;
}

void check_queue_visible(const authz::Principal& p) {
  if (!authz::may(p, perm::inventory_read)) throw Error(ErrorCode::not_found, "path.id");
}

}  // namespace

Inventory::Inventory(db::Db& db, const Clock& clock, const Violations& violations)
    : db_(db), clock_(clock), violations_(violations) {}

std::pair<std::string, AgentToken> Inventory::create_agent(const authz::Principal& p,
                                                           const audit::Actor& a,
                                                           const std::string& name) {
  authz::require(authz::may(p, perm::inventory_write));
  authz::check_text(name, "body.name", 100, true);
  const std::string token = "agt_" + crypto::random_token(32);
  const int64_t now = clock_.now_ms();
  AgentToken t;
  t.name = name;
  t.created_at = now;
  t.id = db_.write([&](db::Tx& tx) {
    auto r = tx.one(
        "INSERT INTO inventory_agents (org_id, name, token_hash, created_by, created_at) VALUES "
        "(?, ?, ?, ?, ?) RETURNING id",
        {p.org_id, name, token_hash(token), p.user_id, now});
    const int64_t id = db::as_int(r->at(0));
    audit::Changes ch;
    ch.set("name", name);
    audit::record(tx, a,
                  {.action = "assets.agent.create",
                   .object_type = "inventory_agent",
                   .object_id = std::to_string(id),
                   .changes = ch.str()},
                  now);
    return id;
  });
  return {token, t};
}

std::vector<AgentToken> Inventory::agents(const authz::Principal& p) {
  authz::require(authz::may(p, perm::inventory_read));
  return db_.read([&](db::Tx& tx) {
    std::vector<AgentToken> out;
    for (const auto& r : tx.query("SELECT id, name, created_at, revoked_at, last_used_at, "
                                  "inventories FROM inventory_agents WHERE org_id = ? ORDER BY id",
                                  {p.org_id})
                             .rows)
      out.push_back({db::as_int(r[0]), db::as_int(r[2]), db::as_int(r[5]), db::as_text(r[1]),
                     db::as_opt_int(r[3]), db::as_opt_int(r[4])});
    return out;
  });
}

void Inventory::revoke_agent(const authz::Principal& p, const audit::Actor& a, int64_t id) {
  authz::require(authz::may(p, perm::inventory_write));
  db_.write([&](db::Tx& tx) {
    auto r = tx.one("SELECT revoked_at FROM inventory_agents WHERE org_id = ? AND id = ?",
                    {p.org_id, id});
    if (!r) throw Error(ErrorCode::not_found, "path.id");
    if (db::as_opt_int(r->at(0))) return;
    const int64_t now = clock_.now_ms();
    tx.exec("UPDATE inventory_agents SET revoked_at = ? WHERE org_id = ? AND id = ?",
            {now, p.org_id, id});
    audit::record(tx, a,
                  {.action = "assets.agent.revoke",
                   .object_type = "inventory_agent",
                   .object_id = std::to_string(id)},
                  now);
  });
}

std::optional<Sender> Inventory::agent_for_token(const std::string& token,
                                                 const audit::Actor& client) {
  if (token.size() < 8 || token.size() > 200) return std::nullopt;
  auto r = db_.read([&](db::Tx& tx) {
    return tx.one(
        "SELECT org_id, id, name FROM inventory_agents WHERE token_hash = ? AND "
        "revoked_at IS NULL",
        {token_hash(token)});
  });
  if (!r) return std::nullopt;
  Sender s;
  s.org_id = db::as_int(r->at(0));
  s.agent_id = db::as_int(r->at(1));
  s.agent_name = db::as_text(r->at(2));
  s.actor = client;
  s.actor.org_id = s.org_id;
  s.actor.user_id.reset();
  s.actor.session_id.reset();
  return s;
}

IngestResult Inventory::apply(db::Tx& tx, const Sender& from, int64_t asset_id,
                              const std::string& how, const agent::Inventory& inv, int64_t now) {
  const int64_t org = from.org_id;
  IngestResult res;
  res.outcome = "matched";
  res.asset_id = asset_id;
  res.matched_by = how;
  const std::string fp = fingerprint(inv);
  auto prev = tx.one(
      "SELECT fingerprint, device_id FROM asset_machines WHERE org_id = ? AND "
      "asset_id = ?",
      {org, asset_id});
  res.changed = !prev || db::as_text(prev->at(0)) != fp;
  // A machine reporting under a device id another asset holds moves over to this one.
  tx.exec("DELETE FROM asset_machines WHERE org_id = ? AND device_id = ? AND asset_id <> ?",
          {org, inv.device_id, asset_id});
  if (prev) {
    tx.exec(
        "UPDATE asset_machines SET device_id = ?, hostname = ?, uuid = ?, serial = ?, "
        "manufacturer = ?, model = ?, os = ?, cpu = ?, memory_mb = ?, software_count = ?, "
        "agent_id = ?, fingerprint = ?, inventoried_at = ? WHERE org_id = ? AND asset_id = ?",
        {inv.device_id, inv.hostname, inv.uuid, inv.serial, inv.manufacturer, inv.model, inv.os,
         inv.cpu, inv.memory_mb, static_cast<int64_t>(inv.software.size()), opt(from.agent_id), fp,
         now, org, asset_id});
  } else {
    tx.exec(
        "INSERT INTO asset_machines (org_id, asset_id, device_id, hostname, uuid, serial, "
        "manufacturer, model, os, cpu, memory_mb, software_count, agent_id, fingerprint, "
        "inventoried_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {org, asset_id, inv.device_id, inv.hostname, inv.uuid, inv.serial, inv.manufacturer,
         inv.model, inv.os, inv.cpu, inv.memory_mb, static_cast<int64_t>(inv.software.size()),
         opt(from.agent_id), fp, now});
  }
  if (res.changed) {
    tx.exec("DELETE FROM asset_addresses WHERE org_id = ? AND asset_id = ?", {org, asset_id});
    for (const auto& n : inv.interfaces) {
      if (n.addresses.empty()) {
        tx.exec(
            "INSERT INTO asset_addresses (org_id, asset_id, interface, mac, address) VALUES "
            "(?, ?, ?, ?, '')",
            {org, asset_id, n.name, n.mac});
        continue;
      }
      for (const auto& a : n.addresses)
        tx.exec(
            "INSERT INTO asset_addresses (org_id, asset_id, interface, mac, address) VALUES "
            "(?, ?, ?, ?, ?)",
            {org, asset_id, n.name, n.mac, a});
    }
    tx.exec("DELETE FROM asset_software WHERE org_id = ? AND asset_id = ?", {org, asset_id});
    // Many rows: one multi-row INSERT per batch rather than one statement each.
    constexpr size_t kBatch = 200;
    for (size_t i = 0; i < inv.software.size(); i += kBatch) {
      std::string sql =
          "INSERT INTO asset_software (org_id, asset_id, name, publisher, version) VALUES ";
      std::vector<db::Value> params;
      for (size_t j = i; j < std::min(inv.software.size(), i + kBatch); ++j) {
        sql += j == i ? "(?, ?, ?, ?, ?)" : ", (?, ?, ?, ?, ?)";
        const auto& s = inv.software[j];
        params.insert(params.end(), {org, asset_id, s.name, s.publisher, s.version});
      }
      tx.query(sql, params);
    }
    tx.exec(
        "INSERT INTO asset_events (org_id, asset_id, at, actor_id, kind, from_value, "
        "to_value, note) VALUES (?, ?, ?, ?, 'inventory', '', ?, ?)",
        {org, asset_id, now, opt(from.actor.user_id), inv.hostname,
         std::to_string(inv.software.size()) + " software, addresses: " + joined_addresses(inv)});
  }
  res.violations_opened = violations_.reconcile(tx, from.actor, asset_id,
                                                violations_.check(tx, org, asset_id, inv), now);
  return res;
}

IngestResult Inventory::ingest(const Sender& from, const agent::Inventory& inv) {
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    const int64_t org = from.org_id;
    IngestResult res;
    if (auto m = match(tx, org, inv)) {
      res = apply(tx, from, m->first, m->second, inv, now);
      tx.exec(
          "UPDATE inventory_queue SET status = 'linked', asset_id = ?, resolved_at = ? WHERE "
          "org_id = ? AND device_id = ? AND status = 'pending'",
          {m->first, now, org, inv.device_id});
    } else {
      res.outcome = "queued";
      const std::string payload = json::serialize(to_json(inv));
      auto q = tx.one("SELECT id FROM inventory_queue WHERE org_id = ? AND device_id = ?",
                      {org, inv.device_id});
      if (q) {
        res.queue_id = db::as_int(q->at(0));
        tx.exec(
            "UPDATE inventory_queue SET hostname = ?, serial = ?, uuid = ?, macs = ?, "
            "addresses = ?, os = ?, software_count = ?, agent_id = ?, payload = ?, "
            "received_at = ?, status = CASE WHEN status = 'linked' THEN 'pending' ELSE "
            "status END WHERE org_id = ? AND id = ?",
            {inv.hostname, inv.serial, inv.uuid, joined_macs(inv), joined_addresses(inv), inv.os,
             static_cast<int64_t>(inv.software.size()), opt(from.agent_id), payload, now, org,
             *res.queue_id});
      } else {
        auto r = tx.one(
            "INSERT INTO inventory_queue (org_id, device_id, hostname, serial, uuid, macs, "
            "addresses, os, software_count, agent_id, payload, status, received_at) VALUES (?, "
            "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?) RETURNING id",
            {org, inv.device_id, inv.hostname, inv.serial, inv.uuid, joined_macs(inv),
             joined_addresses(inv), inv.os, static_cast<int64_t>(inv.software.size()),
             opt(from.agent_id), payload, now});
        res.queue_id = db::as_int(r->at(0));
      }
    }
    if (from.agent_id)
      tx.exec(
          "UPDATE inventory_agents SET last_used_at = ?, inventories = inventories + 1 WHERE "
          "org_id = ? AND id = ?",
          {now, org, *from.agent_id});
    audit::Changes ch;
    ch.set("device_id", inv.device_id);
    ch.set("outcome", res.outcome);
    if (!from.agent_name.empty()) ch.set("agent", from.agent_name);
    if (!res.matched_by.empty()) ch.set("matched_by", res.matched_by);
    if (res.changed) ch.set("changed", true);
    if (res.violations_opened) ch.set("violations_opened", res.violations_opened);
    audit::record(tx, from.actor,
                  {.action = "assets.inventory.receive",
                   .object_type = res.asset_id ? "asset" : "inventory_queue",
                   .object_id = std::to_string(res.asset_id ? *res.asset_id : *res.queue_id),
                   .changes = ch.str()},
                  now);
    return res;
  });
}

IngestResult Inventory::upload(const authz::Principal& p, const audit::Actor& a,
                               const agent::Inventory& inv) {
  authz::require(authz::may(p, perm::inventory_write));
  if (inv.query != "INVENTORY")
    throw Error(ErrorCode::invalid_inventory, "body", "the file is not an INVENTORY");
  Sender s;
  s.org_id = p.org_id;
  s.actor = a;
  return ingest(s, inv);
}

std::vector<QueueItem> Inventory::queue(const authz::Principal& p, const std::string& status,
                                        int limit, std::optional<int64_t> after_id) {
  authz::require(authz::may(p, perm::inventory_read));
  if (!status.empty()) detail::check_in(status, {"pending", "linked", "dismissed"}, "query.status");
  return db_.read([&](db::Tx& tx) {
    std::string sql =
        "SELECT q.id, q.device_id, q.hostname, q.serial, q.uuid, q.macs, q.addresses, q.os, "
        "q.software_count, q.status, q.asset_id, q.received_at, COALESCE(g.name, '') FROM "
        "inventory_queue q LEFT JOIN inventory_agents g ON g.id = q.agent_id WHERE q.org_id = ?";
    std::vector<db::Value> params{p.org_id};
    if (!status.empty()) {
      sql += " AND q.status = ?";
      params.emplace_back(status);
    }
    if (after_id) {
      sql += " AND q.id < ?";
      params.emplace_back(*after_id);
    }
    sql += " ORDER BY q.id DESC LIMIT ?";
    params.emplace_back(int64_t{limit});
    std::vector<QueueItem> out;
    for (const auto& r : tx.query(sql, params).rows) {
      QueueItem q;
      q.id = db::as_int(r[0]);
      q.device_id = db::as_text(r[1]);
      q.hostname = db::as_text(r[2]);
      q.serial = db::as_text(r[3]);
      q.uuid = db::as_text(r[4]);
      q.macs = db::as_text(r[5]);
      q.addresses = db::as_text(r[6]);
      q.os = db::as_text(r[7]);
      q.software_count = db::as_int(r[8]);
      q.status = db::as_text(r[9]);
      q.asset_id = db::as_opt_int(r[10]);
      q.received_at = db::as_int(r[11]);
      q.agent_name = db::as_text(r[12]);
      out.push_back(std::move(q));
    }
    return out;
  });
}

IngestResult Inventory::link(const authz::Principal& p, const audit::Actor& a, int64_t queue_id,
                             int64_t asset_id) {
  check_queue_visible(p);
  authz::require(authz::may(p, perm::inventory_write));
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    auto q = tx.one(
        "SELECT payload, status, agent_id FROM inventory_queue WHERE org_id = ? AND "
        "id = ?",
        {p.org_id, queue_id});
    if (!q) throw Error(ErrorCode::not_found, "path.id");
    if (db::as_text(q->at(1)) != "pending")
      throw Error(ErrorCode::transition_not_allowed, "", "the machine is not waiting for review");
    detail::writable_asset(tx, p, asset_id);
    Sender s;
    s.org_id = p.org_id;
    s.agent_id = db::as_opt_int(q->at(2));
    s.actor = a;
    const agent::Inventory inv = from_json(db::as_text(q->at(0)));
    IngestResult res = apply(tx, s, asset_id, "review", inv, now);
    res.queue_id = queue_id;
    tx.exec(
        "UPDATE inventory_queue SET status = 'linked', asset_id = ?, resolved_at = ?, "
        "resolved_by = ? WHERE org_id = ? AND id = ?",
        {asset_id, now, p.user_id, p.org_id, queue_id});
    audit::Changes ch;
    ch.set("asset_id", asset_id);
    ch.set("device_id", inv.device_id);
    audit::record(tx, a,
                  {.action = "assets.inventory.link",
                   .object_type = "inventory_queue",
                   .object_id = std::to_string(queue_id),
                   .changes = ch.str()},
                  now);
    return res;
  });
}

void Inventory::dismiss(const authz::Principal& p, const audit::Actor& a, int64_t queue_id) {
  check_queue_visible(p);
  authz::require(authz::may(p, perm::inventory_write));
  db_.write([&](db::Tx& tx) {
    auto q = tx.one("SELECT status FROM inventory_queue WHERE org_id = ? AND id = ?",
                    {p.org_id, queue_id});
    if (!q) throw Error(ErrorCode::not_found, "path.id");
    if (db::as_text(q->at(0)) != "pending")
      throw Error(ErrorCode::transition_not_allowed, "", "the machine is not waiting for review");
    const int64_t now = clock_.now_ms();
    tx.exec(
        "UPDATE inventory_queue SET status = 'dismissed', resolved_at = ?, resolved_by = ? "
        "WHERE org_id = ? AND id = ?",
        {now, p.user_id, p.org_id, queue_id});
    audit::record(tx, a,
                  {.action = "assets.inventory.dismiss",
                   .object_type = "inventory_queue",
                   .object_id = std::to_string(queue_id)},
                  now);
  });
}

std::optional<Machine> Inventory::machine(const authz::Principal& p, int64_t asset_id) {
  return db_.read([&](db::Tx& tx) -> std::optional<Machine> {
    detail::visible_asset(tx, p, asset_id);
    auto r = tx.one(
        "SELECT m.device_id, m.hostname, m.uuid, m.serial, m.manufacturer, m.model, m.os, m.cpu, "
        "m.memory_mb, m.software_count, m.inventoried_at, COALESCE(g.name, '') FROM "
        "asset_machines m LEFT JOIN inventory_agents g ON g.id = m.agent_id WHERE m.org_id = ? "
        "AND m.asset_id = ?",
        {p.org_id, asset_id});
    if (!r) return std::nullopt;
    Machine m;
    m.device_id = db::as_text(r->at(0));
    m.hostname = db::as_text(r->at(1));
    m.uuid = db::as_text(r->at(2));
    m.serial = db::as_text(r->at(3));
    m.manufacturer = db::as_text(r->at(4));
    m.model = db::as_text(r->at(5));
    m.os = db::as_text(r->at(6));
    m.cpu = db::as_text(r->at(7));
    m.memory_mb = db::as_int(r->at(8));
    m.software_count = db::as_int(r->at(9));
    m.inventoried_at = db::as_int(r->at(10));
    m.agent_name = db::as_text(r->at(11));
    for (const auto& a : tx.query("SELECT interface, mac, address FROM asset_addresses WHERE "
                                  "org_id = ? AND asset_id = ? ORDER BY interface, address",
                                  {p.org_id, asset_id})
                             .rows)
      m.addresses.push_back({db::as_text(a[0]), db::as_text(a[1]), db::as_text(a[2])});
    for (const auto& s : tx.query("SELECT name, publisher, version FROM asset_software WHERE "
                                  "org_id = ? AND asset_id = ? ORDER BY name",
                                  {p.org_id, asset_id})
                             .rows)
      m.software.push_back({db::as_text(s[0]), db::as_text(s[1]), db::as_text(s[2])});
    return m;
  });
}

}  // namespace custos::assets
