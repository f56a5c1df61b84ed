// IP address management (issue #7, IT-7; only the IT department changes the plan):
//  * GET/POST   /subnets                     subnets with their usage / add one
//  * DELETE     /subnets/{id}                remove an empty subnet
//  * GET/POST   /subnets/{id}/allocations    its allocations and reservations / allocate one
//                                            (no address: the first free one)
//  * DELETE     /ip-allocations/{id}         release an address
//  * GET        /assets/{id}/addresses       the addresses allocated to an asset
#include <boost/json.hpp>

#include "api/api.h"
#include "api/caller.h"
#include "api/json.h"
#include "platform/audit/changes.h"
#include "platform/text/time.h"

namespace custos::api {

namespace json = boost::json;
using http::Method;
using http::Request;
using http::Response;

namespace {

json::object subnet_json(const assets::Subnet& s) {
  return {{"id", std::to_string(s.id)},
          {"cidr", s.cidr},
          {"family", s.family},
          {"name", s.name},
          {"vlan", s.vlan ? json::value(*s.vlan) : json::value(nullptr)},
          {"gateway", s.gateway},
          {"dhcp_start", s.dhcp_start},
          {"dhcp_end", s.dhcp_end},
          {"department_id", json_id(s.department_id)},
          {"department_name", s.department_name},
          {"note", s.note},
          {"allocated", s.allocated},
          {"created_at", text::rfc3339(s.created_at)}};
}

json::object allocation_json(const assets::Allocation& x) {
  return {{"id", std::to_string(x.id)},
          {"subnet_id", std::to_string(x.subnet_id)},
          {"address", x.address},
          {"kind", x.kind},
          {"asset_id", json_id(x.asset_id)},
          {"asset_tag", x.asset_tag},
          {"note", x.note},
          {"created_by_name", x.created_by_name},
          {"created_at", text::rfc3339(x.created_at)}};
}

json::array allocations_json(const std::vector<assets::Allocation>& v) {
  json::array items;
  for (const auto& x : v) items.push_back(allocation_json(x));
  return items;
}

constexpr const char* kSubnet =
    R"JSON({"type":"object","required":["cidr"],"properties":{"id":{"type":"string","readOnly":true},"cidr":{"type":"string","examples":["10.1.2.0/24","fd00:1::/64"]},"family":{"type":"integer","enum":[4,6],"readOnly":true},"name":{"type":"string"},"vlan":{"type":["integer","null"],"minimum":1,"maximum":4094},"gateway":{"type":"string"},"dhcp_start":{"type":"string"},"dhcp_end":{"type":"string"},"department_id":{"type":["string","null"]},"note":{"type":"string"},"allocated":{"type":"integer","readOnly":true}}})JSON";
constexpr const char* kAllocation =
    R"JSON({"type":"object","properties":{"id":{"type":"string","readOnly":true},"address":{"type":"string","description":"absent: the first free address outside the DHCP range"},"kind":{"type":"string","enum":["allocation","reservation"]},"asset_id":{"type":["string","null"],"description":"required for an allocation"},"note":{"type":"string"}}})JSON";

}  // namespace

void register_network_routes(http::Router& router, Deps& deps) {
  deps.schemas["Subnet"] = kSubnet;
  deps.schemas["IpAllocation"] = kAllocation;
  router.add(Method::get, "/api/v1/subnets",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               json::array items;
               for (const auto& s : deps.network.subnets(c.principal))
                 items.push_back(subnet_json(s));
               return list_response(std::move(items));
             },
             {.summary = "IPv4 and IPv6 subnets with how many addresses are allocated",
              .tag = "network",
              .response_schema = R"({"type":"object"})",
              .public_route = false});
  router.add(Method::post, "/api/v1/subnets",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const json::object b = parse_object(req);
               assets::SubnetInput in;
               in.cidr = required_string(b, "cidr", 64);
               in.name = optional_string(b, "name", 100).value_or("");
               in.vlan = optional_int(b, "vlan", 1, 4094);
               in.gateway = optional_string(b, "gateway", 64).value_or("");
               in.dhcp_start = optional_string(b, "dhcp_start", 64).value_or("");
               in.dhcp_end = optional_string(b, "dhcp_end", 64).value_or("");
               in.note = optional_string(b, "note", 1000).value_or("");
               if (auto d = id_field(b, "department_id")) in.department_id = *d;
               return json_response(201,
                                    subnet_json(deps.network.create_subnet(
                                        c.principal, audit::actor_of(c.principal, c.client), in)));
             },
             {.summary = "Add a subnet (IT department); one overlapping another is "
                         "address_conflict",
              .tag = "network",
              .request_schema = "#/components/schemas/Subnet",
              .response_schema = "#/components/schemas/Subnet",
              .success_status = 201,
              .public_route = false});
  router.add(Method::delete_, "/api/v1/subnets/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               deps.network.delete_subnet(c.principal, audit::actor_of(c.principal, c.client),
                                          path_id(req));
               return no_content();
             },
             {.summary = "Remove a subnet without allocations",
              .tag = "network",
              .success_status = 204,
              .public_route = false});
  router.add(
      Method::get, "/api/v1/subnets/{id}/allocations",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        return list_response(allocations_json(deps.network.allocations(c.principal, path_id(req))));
      },
      {.summary = "A subnet's allocations and reservations, in address order",
       .tag = "network",
       .response_schema = R"({"type":"object"})",
       .public_route = false});
  router.add(Method::post, "/api/v1/subnets/{id}/allocations",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const json::object b = parse_object(req);
               assets::AllocationInput in;
               in.address = optional_string(b, "address", 64);
               in.kind = optional_string(b, "kind", 16).value_or("allocation");
               if (b.contains("asset_id")) in.asset_id = required_id(b, "asset_id");
               in.note = optional_string(b, "note", 1000).value_or("");
               return json_response(201, allocation_json(deps.network.allocate(
                                             c.principal, audit::actor_of(c.principal, c.client),
                                             path_id(req), in)));
             },
             {.summary = "Allocate an address to an asset or reserve one (IT department); a "
                         "taken address or one inside the DHCP range is address_conflict",
              .tag = "network",
              .request_schema = "#/components/schemas/IpAllocation",
              .response_schema = "#/components/schemas/IpAllocation",
              .success_status = 201,
              .public_route = false});
  router.add(Method::delete_, "/api/v1/ip-allocations/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               deps.network.release(c.principal, audit::actor_of(c.principal, c.client),
                                    path_id(req));
               return no_content();
             },
             {.summary = "Release an allocated or reserved address (IT department)",
              .tag = "network",
              .success_status = 204,
              .public_route = false});
  router.add(
      Method::get, "/api/v1/assets/{id}/addresses",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        return list_response(allocations_json(deps.network.of_asset(c.principal, path_id(req))));
      },
      {.summary = "The addresses allocated to an asset",
       .tag = "network",
       .response_schema = R"({"type":"object"})",
       .public_route = false});
}

}  // namespace custos::api
