// The FusionInventory agent's protocol (the OCS Inventory XML dialect; issue #7, IT-7): the
// agent POSTs a PROLOG query, the server answers whether to send an inventory, and the agent
// then POSTs its INVENTORY. Bodies are zlib-compressed (Content-Type
// application/x-compress-zlib), gzip (application/x-compress-gzip) or plain XML.
//
// Everything here is pure (no database): decompression with an output cap (a zlib bomb stops
// at the cap), a guarded XML read (no DOCTYPE or entities, a depth limit, caps on counts and
// text) into the few facts Custos keeps, and the server's replies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace custos::assets::agent {

struct Limits {
  std::size_t max_xml_bytes = 16u << 20;  // after decompression
  int max_depth = 16;
  std::size_t max_text_bytes = 16u << 10;  // one element's text
  std::size_t max_software = 20000;
  std::size_t max_interfaces = 512;
  std::size_t max_envs = 2000;
};

struct Interface {
  std::string name, mac, type;
  bool virtual_device = false;
  std::vector<std::string> addresses;  // IPv4 and IPv6, as reported
};

struct Software {
  std::string name, publisher, version;
};

struct Inventory {
  std::string query;  // PROLOG or INVENTORY
  std::string device_id;
  std::string hostname, uuid, serial, manufacturer, model, os, cpu;
  int64_t memory_mb = 0;
  std::vector<Interface> interfaces;  // one per (name, MAC), addresses merged
  std::vector<Software> software;
  // Proxy settings the machine runs with: environment variables such as http_proxy.
  std::vector<std::pair<std::string, std::string>> proxies;
  std::string tag;  // the agent's --tag
};

// The body as XML: inflates zlib or gzip (detected by their magic bytes, whatever the
// Content-Type says), or returns a plain body as it is. Throws Error(payload_too_large) when
// the XML would exceed the limit and Error(invalid_inventory) when the stream is corrupt.
std::string decode_body(std::string_view body, const Limits& limits);
// zlib (RFC 1950), as the agent expects the server's replies when it compressed its query.
std::string compress(std::string_view data);

// Throws Error(invalid_inventory) for anything that is not a well-formed REQUEST of the
// protocol, Error(payload_too_large) past the limits.
Inventory parse(std::string_view xml, const Limits& limits);

// The server's replies. To a PROLOG: send an inventory, and come back after `hours`.
std::string prolog_reply(int hours);
// To an INVENTORY: an empty reply (the agent only needs a well-formed answer).
std::string inventory_reply();

// A serial that identifies nothing ("To be filled by O.E.M.", "0", …): never used to match.
bool meaningful_serial(std::string_view serial);
// aa:bb:cc:dd:ee:ff in lower case; empty when s is not a MAC or is all zeros.
std::string normal_mac(std::string_view s);

}  // namespace custos::assets::agent
