#include "modules/assets/network.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "modules/assets/internal.h"
#include "platform/audit/changes.h"
#include "platform/authz/records.h"
#include "platform/errors/error.h"

namespace custos::assets {

namespace ip {

std::optional<Address> parse(std::string_view s) {
  if (s.empty() || s.size() > 45) return std::nullopt;
  const std::string z(s);
  Address a;
  if (z.find(':') != std::string::npos) {
    a.v6 = true;
    if (inet_pton(AF_INET6, z.c_str(), a.b.data()) != 1) return std::nullopt;
  } else if (inet_pton(AF_INET, z.c_str(), a.b.data()) != 1) {
    return std::nullopt;
  }
  return a;
}

std::string text(const Address& a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(a.v6 ? AF_INET6 : AF_INET, a.b.data(), buf, sizeof buf);
  return buf;
}

namespace {
int bits(const Address& a) {
  return a.v6 ? 128 : 32;
}
bool bit(const Address& a, int i) {
  return (a.b[static_cast<size_t>(i / 8)] >> (7 - i % 8)) & 1;
}
}  // namespace

std::optional<Cidr> parse_cidr(std::string_view s) {
  const auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto a = parse(s.substr(0, slash));
  if (!a) return std::nullopt;
  int prefix = -1;
  const auto tail = s.substr(slash + 1);
  auto [end, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), prefix);
  if (ec != std::errc() || end != tail.data() + tail.size() || prefix < 0 || prefix > bits(*a))
    return std::nullopt;
  for (int i = prefix; i < bits(*a); ++i)
    if (bit(*a, i)) return std::nullopt;  // host bits set
  return Cidr{*a, prefix};
}

std::string text(const Cidr& c) {
  return text(c.net) + "/" + std::to_string(c.prefix);
}

bool contains(const Cidr& c, const Address& a) {
  if (c.net.v6 != a.v6) return false;
  for (int i = 0; i < c.prefix; ++i)
    if (bit(c.net, i) != bit(a, i)) return false;
  return true;
}

bool overlaps(const Cidr& a, const Cidr& b) {
  return a.prefix <= b.prefix ? contains(a, b.net) : contains(b, a.net);
}

bool is_local(const Address& a) {
  if (!a.v6) return a.b[0] == 127 || (a.b[0] == 169 && a.b[1] == 254) || a.b[0] == 0;
  static const Address loopback = *parse("::1");
  static const Cidr link_local = *parse_cidr("fe80::/10");
  return a == loopback || contains(link_local, a) || a == Address{.v6 = true};
}

}  // namespace ip

namespace {

using authz::check_text;
using detail::opt;

constexpr const char* kSubnetColumns =
    "s.id, s.cidr, s.name, s.vlan, s.gateway, s.dhcp_start, s.dhcp_end, s.department_id, "
    "COALESCE(d.name, ''), s.note, s.created_at, (SELECT COUNT(*) FROM ip_allocations x WHERE "
    "x.org_id = s.org_id AND x.subnet_id = s.id)";

Subnet subnet_of(const std::vector<db::Value>& r) {
  Subnet s;
  s.id = db::as_int(r[0]);
  s.cidr = db::as_text(r[1]);
  s.name = db::as_text(r[2]);
  s.vlan = db::as_opt_int(r[3]);
  s.gateway = db::as_text(r[4]);
  s.dhcp_start = db::as_text(r[5]);
  s.dhcp_end = db::as_text(r[6]);
  s.department_id = db::as_opt_int(r[7]);
  s.department_name = db::as_text(r[8]);
  s.note = db::as_text(r[9]);
  s.created_at = db::as_int(r[10]);
  s.allocated = db::as_int(r[11]);
  s.family = s.cidr.find(':') == std::string::npos ? 4 : 6;
  return s;
}

constexpr const char* kAllocColumns =
    "x.id, x.subnet_id, x.address, x.kind, x.asset_id, COALESCE(a.asset_tag, ''), x.note, "
    "COALESCE(u.name, ''), x.created_at";
constexpr const char* kAllocFrom =
    " FROM ip_allocations x LEFT JOIN assets a ON a.id = x.asset_id LEFT JOIN users u ON u.id = "
    "x.created_by";

Allocation allocation_of(const std::vector<db::Value>& r) {
  Allocation x;
  x.id = db::as_int(r[0]);
  x.subnet_id = db::as_int(r[1]);
  x.address = db::as_text(r[2]);
  x.kind = db::as_text(r[3]);
  x.asset_id = db::as_opt_int(r[4]);
  x.asset_tag = db::as_text(r[5]);
  x.note = db::as_text(r[6]);
  x.created_by_name = db::as_text(r[7]);
  x.created_at = db::as_int(r[8]);
  return x;
}

// IT-7: only the IT department plans addresses.
void require_it(db::Tx& tx, const authz::Principal& p) {
  authz::require(authz::may(p, perm::network_write));
  if (!detail::in_it_department(tx, p.org_id, p.department_path))
    throw Error(ErrorCode::it_department_only, "", "only the IT department allocates IP addresses");
}

ip::Address address_in(const ip::Cidr& net, const std::string& s, const char* field) {
  auto a = ip::parse(s);
  if (!a) throw Error(ErrorCode::validation_failed, field, "an IPv4 or IPv6 address");
  if (!ip::contains(net, *a))
    throw Error(ErrorCode::validation_failed, field, "an address inside " + ip::text(net));
  return *a;
}

bool in_range(const ip::Address& a, const std::string& lo, const std::string& hi) {
  if (lo.empty() || hi.empty()) return false;
  auto l = ip::parse(lo), h = ip::parse(hi);
  return l && h && *l <= a && a <= *h;
}

// The network and (IPv4) broadcast addresses are never allocated.
bool reserved_by_protocol(const ip::Cidr& net, const ip::Address& a) {
  if (net.net.v6) return a == net.net;
  if (net.prefix >= 31) return false;
  if (a == net.net) return true;
  ip::Address bcast = net.net;
  for (int i = net.prefix; i < 32; ++i) bcast.b[static_cast<size_t>(i / 8)] |= 1 << (7 - i % 8);
  return a == bcast;
}

ip::Address next(ip::Address a) {
  for (int i = a.v6 ? 15 : 3; i >= 0; --i)
    if (++a.b[static_cast<size_t>(i)] != 0) break;
  return a;
}

}  // namespace

Network::Network(db::Db& db, const Clock& clock) : db_(db), clock_(clock) {}

std::vector<Subnet> Network::subnets(const authz::Principal& p) {
  authz::require(authz::may(p, perm::network_read));
  return db_.read([&](db::Tx& tx) {
    std::vector<Subnet> out;
    for (const auto& r : tx.query(std::string("SELECT ") + kSubnetColumns +
                                      " FROM ip_subnets s LEFT JOIN departments d ON d.id = "
                                      "s.department_id WHERE s.org_id = ? ORDER BY s.cidr",
                                  {p.org_id})
                             .rows)
      out.push_back(subnet_of(r));
    return out;
  });
}

Subnet Network::create_subnet(const authz::Principal& p, const audit::Actor& a,
                              const SubnetInput& in) {
  const auto net = ip::parse_cidr(in.cidr);
  if (!net)
    throw Error(ErrorCode::validation_failed, "body.cidr",
                "a network such as 10.1.2.0/24 or fd00:1::/64, host bits zero");
  check_text(in.name, "body.name", 100, false);
  check_text(in.note, "body.note", 1000, false);
  if (in.vlan && (*in.vlan < 1 || *in.vlan > 4094))
    throw Error(ErrorCode::validation_failed, "body.vlan", "a VLAN id from 1 to 4094");
  if (!in.gateway.empty()) address_in(*net, in.gateway, "body.gateway");
  if (in.dhcp_start.empty() != in.dhcp_end.empty())
    throw Error(ErrorCode::validation_failed,
                in.dhcp_start.empty() ? "body.dhcp_start" : "body.dhcp_end",
                "a DHCP range needs both ends");
  if (!in.dhcp_start.empty()) {
    const auto lo = address_in(*net, in.dhcp_start, "body.dhcp_start");
    const auto hi = address_in(*net, in.dhcp_end, "body.dhcp_end");
    if (hi < lo)
      throw Error(ErrorCode::validation_failed, "body.dhcp_end", "not before dhcp_start");
  }
  const std::string cidr = ip::text(*net);
  const int64_t now = clock_.now_ms();
  const int64_t id = db_.write([&](db::Tx& tx) {
    require_it(tx, p);
    if (in.department_id && !tx.one("SELECT 1 FROM departments WHERE org_id = ? AND id = ?",
                                    {p.org_id, *in.department_id}))
      throw Error(ErrorCode::validation_failed, "body.department_id", "no such department");
    for (const auto& r :
         tx.query("SELECT cidr FROM ip_subnets WHERE org_id = ?", {p.org_id}).rows) {
      auto other = ip::parse_cidr(db::as_text(r[0]));
      if (other && ip::overlaps(*other, *net))
        throw Error(ErrorCode::address_conflict, "body.cidr",
                    "overlaps the subnet " + db::as_text(r[0]));
    }
    const auto norm = [](const std::string& s) {
      auto x = ip::parse(s);
      return x ? ip::text(*x) : s;
    };
    auto r = tx.one(
        "INSERT INTO ip_subnets (org_id, cidr, name, vlan, gateway, dhcp_start, dhcp_end, "
        "department_id, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {p.org_id, cidr, in.name, opt(in.vlan), norm(in.gateway), norm(in.dhcp_start),
         norm(in.dhcp_end), opt(in.department_id), in.note, now});
    const int64_t sid = db::as_int(r->at(0));
    audit::Changes ch;
    ch.set("cidr", cidr);
    if (!in.dhcp_start.empty()) ch.set("dhcp", in.dhcp_start + " - " + in.dhcp_end);
    audit::record(tx, a,
                  {.action = "assets.subnet.create",
                   .object_type = "subnet",
                   .object_id = std::to_string(sid),
                   .changes = ch.str()},
                  now);
    return sid;
  });
  return db_.read([&](db::Tx& tx) {
    return subnet_of(*tx.one(std::string("SELECT ") + kSubnetColumns +
                                 " FROM ip_subnets s LEFT JOIN departments d ON d.id = "
                                 "s.department_id WHERE s.org_id = ? AND s.id = ?",
                             {p.org_id, id}));
  });
}

void Network::delete_subnet(const authz::Principal& p, const audit::Actor& a, int64_t id) {
  db_.write([&](db::Tx& tx) {
    if (!authz::may(p, perm::network_read) ||
        !tx.one("SELECT 1 FROM ip_subnets WHERE org_id = ? AND id = ?", {p.org_id, id}))
      throw Error(ErrorCode::not_found, "path.id");
    require_it(tx, p);
    if (tx.one("SELECT 1 FROM ip_allocations WHERE org_id = ? AND subnet_id = ?", {p.org_id, id}))
      throw Error(ErrorCode::conflict, "path.id", "release the subnet's allocations first");
    tx.exec("DELETE FROM ip_subnets WHERE org_id = ? AND id = ?", {p.org_id, id});
    audit::record(tx, a,
                  {.action = "assets.subnet.delete",
                   .object_type = "subnet",
                   .object_id = std::to_string(id)},
                  clock_.now_ms());
  });
}

std::vector<Allocation> Network::allocations(const authz::Principal& p, int64_t subnet_id) {
  authz::require(authz::may(p, perm::network_read));
  return db_.read([&](db::Tx& tx) {
    if (!tx.one("SELECT 1 FROM ip_subnets WHERE org_id = ? AND id = ?", {p.org_id, subnet_id}))
      throw Error(ErrorCode::not_found, "path.id");
    std::vector<Allocation> out;
    for (const auto& r : tx.query(std::string("SELECT ") + kAllocColumns + kAllocFrom +
                                      " WHERE x.org_id = ? AND x.subnet_id = ? ORDER BY x.id",
                                  {p.org_id, subnet_id})
                             .rows)
      out.push_back(allocation_of(r));
    // In address order, numerically.
    std::sort(out.begin(), out.end(), [](const Allocation& l, const Allocation& r) {
      return *ip::parse(l.address) < *ip::parse(r.address);
    });
    return out;
  });
}

Allocation Network::allocate(const authz::Principal& p, const audit::Actor& a, int64_t subnet_id,
                             const AllocationInput& in) {
  detail::check_in(in.kind, {"allocation", "reservation"}, "body.kind");
  check_text(in.note, "body.note", 1000, false);
  if (in.kind == "allocation" && !in.asset_id)
    throw Error(ErrorCode::validation_failed, "body.asset_id", "required for an allocation");
  if (in.kind == "reservation" && in.asset_id)
    throw Error(ErrorCode::validation_failed, "body.asset_id",
                "a reservation holds an address for no asset");
  const int64_t now = clock_.now_ms();
  const int64_t id = db_.write([&](db::Tx& tx) {
    auto s = tx.one(
        "SELECT cidr, dhcp_start, dhcp_end, gateway FROM ip_subnets WHERE org_id = ? AND id = ?",
        {p.org_id, subnet_id});
    if (!s || !authz::may(p, perm::network_read)) throw Error(ErrorCode::not_found, "path.id");
    require_it(tx, p);
    const auto net = *ip::parse_cidr(db::as_text(s->at(0)));
    const std::string lo = db::as_text(s->at(1)), hi = db::as_text(s->at(2));
    const std::string gateway = db::as_text(s->at(3));
    if (in.asset_id) detail::visible_asset(tx, p, *in.asset_id);
    std::string address;
    if (in.address) {
      const auto addr = address_in(net, *in.address, "body.address");
      if (reserved_by_protocol(net, addr))
        throw Error(ErrorCode::validation_failed, "body.address",
                    "the network or broadcast address");
      if (in_range(addr, lo, hi))
        throw Error(ErrorCode::address_conflict, "body.address",
                    "inside the DHCP range " + lo + " - " + hi);
      address = ip::text(addr);
      if (address == gateway)
        throw Error(ErrorCode::address_conflict, "body.address", "the subnet's gateway");
      if (tx.one("SELECT 1 FROM ip_allocations WHERE org_id = ? AND address = ?",
                 {p.org_id, address}))
        throw Error(ErrorCode::address_conflict, "body.address", "already allocated or reserved");
    } else {
      // The first free address: skip the DHCP range and what is taken (at most 65,536 tries).
      std::vector<std::string> taken;
      for (const auto& r : tx.query("SELECT address FROM ip_allocations WHERE org_id = ? AND "
                                    "subnet_id = ?",
                                    {p.org_id, subnet_id})
                               .rows)
        taken.push_back(db::as_text(r[0]));
      ip::Address c = next(net.net);
      for (int i = 0; i < 65536 && ip::contains(net, c); ++i, c = next(c)) {
        const std::string t = ip::text(c);
        if (reserved_by_protocol(net, c) || in_range(c, lo, hi) || t == gateway ||
            std::find(taken.begin(), taken.end(), t) != taken.end())
          continue;
        address = t;
        break;
      }
      if (address.empty())
        throw Error(ErrorCode::address_conflict, "body.address", "no free address in the subnet");
    }
    auto r = tx.one(
        "INSERT INTO ip_allocations (org_id, subnet_id, address, kind, asset_id, note, "
        "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {p.org_id, subnet_id, address, in.kind, opt(in.asset_id), in.note, p.user_id, now});
    const int64_t aid = db::as_int(r->at(0));
    if (in.asset_id) detail::add_event(tx, p, *in.asset_id, now, "address", "", address);
    audit::Changes ch;
    ch.set("address", address);
    ch.set("kind", in.kind);
    if (in.asset_id) ch.set("asset_id", *in.asset_id);
    audit::record(tx, a,
                  {.action = "assets.address.allocate",
                   .object_type = "ip_allocation",
                   .object_id = std::to_string(aid),
                   .changes = ch.str()},
                  now);
    return aid;
  });
  return db_.read([&](db::Tx& tx) {
    return allocation_of(*tx.one(
        std::string("SELECT ") + kAllocColumns + kAllocFrom + " WHERE x.org_id = ? AND x.id = ?",
        {p.org_id, id}));
  });
}

void Network::release(const authz::Principal& p, const audit::Actor& a, int64_t allocation_id) {
  db_.write([&](db::Tx& tx) {
    auto r = tx.one("SELECT address, asset_id FROM ip_allocations WHERE org_id = ? AND id = ?",
                    {p.org_id, allocation_id});
    if (!r || !authz::may(p, perm::network_read)) throw Error(ErrorCode::not_found, "path.id");
    require_it(tx, p);
    const int64_t now = clock_.now_ms();
    tx.exec("DELETE FROM ip_allocations WHERE org_id = ? AND id = ?", {p.org_id, allocation_id});
    if (auto asset = db::as_opt_int(r->at(1)))
      detail::add_event(tx, p, *asset, now, "address", db::as_text(r->at(0)), "");
    audit::Changes ch;
    ch.set("address", db::as_text(r->at(0)));
    audit::record(tx, a,
                  {.action = "assets.address.release",
                   .object_type = "ip_allocation",
                   .object_id = std::to_string(allocation_id),
                   .changes = ch.str()},
                  now);
  });
}

std::vector<Allocation> Network::of_asset(const authz::Principal& p, int64_t asset_id) {
  return db_.read([&](db::Tx& tx) {
    detail::visible_asset(tx, p, asset_id);
    std::vector<Allocation> out;
    for (const auto& r : tx.query(std::string("SELECT ") + kAllocColumns + kAllocFrom +
                                      " WHERE x.org_id = ? AND x.asset_id = ? ORDER BY x.id",
                                  {p.org_id, asset_id})
                             .rows)
      out.push_back(allocation_of(r));
    return out;
  });
}

}  // namespace custos::assets
