// IP address management (issue #7, IT-7: "IP addresses are assigned by the IT department
// only"): IPv4 and IPv6 subnets with their gateway and DHCP range, and the addresses in them
// allocated to assets or reserved. Only the IT department (信息管理部) with
// assets:network:write changes them (it_department_only otherwise). Two allocations of one
// address, an allocation inside the DHCP range and overlapping subnets are address_conflict.
// What an inventory reports is checked against this plan (violations.h).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/audit/audit.h"
#include "platform/authz/authz.h"
#include "platform/clock.h"
#include "platform/storage/db.h"

namespace custos::assets {

namespace ip {
struct Address {
  bool v6 = false;
  std::array<uint8_t, 16> b{};  // IPv4 in the first four bytes
  auto operator<=>(const Address&) const = default;
};
std::optional<Address> parse(std::string_view s);
std::string text(const Address& a);  // canonical form (inet_ntop)
struct Cidr {
  Address net;
  int prefix = 0;
};
// "10.1.2.0/24", "fd00::/64"; nullopt when malformed or host bits are set.
std::optional<Cidr> parse_cidr(std::string_view s);
std::string text(const Cidr& c);
bool contains(const Cidr& c, const Address& a);
bool overlaps(const Cidr& a, const Cidr& b);
// Loopback, link-local or unspecified: never a planned address.
bool is_local(const Address& a);
}  // namespace ip

struct Subnet {
  int64_t id = 0;
  std::string cidr, name, gateway, dhcp_start, dhcp_end, note, department_name;
  std::optional<int64_t> vlan, department_id;
  int64_t allocated = 0, created_at = 0;
  int family = 4;
};

struct SubnetInput {
  std::string cidr, name, gateway, dhcp_start, dhcp_end, note;
  std::optional<int64_t> vlan, department_id;
};

struct Allocation {
  int64_t id = 0, subnet_id = 0, created_at = 0;
  std::string address, kind, note, asset_tag, created_by_name;
  std::optional<int64_t> asset_id;
};

struct AllocationInput {
  std::optional<std::string> address;  // absent: the first free address outside DHCP
  std::string kind = "allocation";     // or reservation (no asset)
  std::optional<int64_t> asset_id;
  std::string note;
};

class Network {
 public:
  Network(db::Db& db, const Clock& clock);

  std::vector<Subnet> subnets(const authz::Principal& p);
  Subnet create_subnet(const authz::Principal& p, const audit::Actor& a, const SubnetInput& in);
  void delete_subnet(const authz::Principal& p, const audit::Actor& a, int64_t id);
  std::vector<Allocation> allocations(const authz::Principal& p, int64_t subnet_id);
  Allocation allocate(const authz::Principal& p, const audit::Actor& a, int64_t subnet_id,
                      const AllocationInput& in);
  void release(const authz::Principal& p, const audit::Actor& a, int64_t allocation_id);
  // The addresses allocated to an asset (the caller may see the asset).
  std::vector<Allocation> of_asset(const authz::Principal& p, int64_t asset_id);

 private:
  db::Db& db_;
  const Clock& clock_;
};

}  // namespace custos::assets
