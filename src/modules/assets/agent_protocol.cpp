#include "modules/assets/agent_protocol.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "platform/errors/error.h"
#include "platform/xml/sax.h"

namespace custos::assets::agent {

namespace {

[[noreturn]] void invalid(const std::string& detail) {
  throw Error(ErrorCode::invalid_inventory, "body", detail);
}

[[noreturn]] void too_large(const std::string& detail) {
  throw Error(ErrorCode::payload_too_large, "body", detail);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// Reads the REQUEST into an Inventory as the elements close.
class Reader : public xml::Handler {
 public:
  Reader(Inventory& out, const Limits& limits) : out_(out), limits_(limits) {}

  void start(std::string_view name, const char**) override {
    if (path_.empty() && name != "REQUEST") invalid("the document is not an agent REQUEST");
    path_.emplace_back(name);
    text_.clear();
    keep_text_ = kept(path_);
    if (path_.size() == 3 && path_[1] == "CONTENT") {
      if (name == "NETWORKS") {
        net_ = {};
        net_addresses_.clear();
      } else if (name == "SOFTWARES") {
        soft_ = {};
      } else if (name == "ENVS" || name == "ACCOUNTINFO") {
        key_.clear();
        value_.clear();
      }
    }
  }

  // Only the text of a field the reader keeps is gathered and held to the limit; the rest (a
  // process's command line, a registry value) is skipped whatever its length, as the whole
  // document is already capped.
  void text(std::string_view s) override {
    if (!keep_text_) return;
    if (text_.size() + s.size() > limits_.max_text_bytes)
      too_large("an element's text is longer than " + std::to_string(limits_.max_text_bytes) +
                " bytes");
    text_.append(s);
  }

  void end(std::string_view) override {
    const std::string value = trim(text_);
    text_.clear();
    if (path_.size() == 2) {
      if (path_[1] == "QUERY") out_.query = value;
      if (path_[1] == "DEVICEID") out_.device_id = value;
    } else if (path_.size() == 4 && path_[1] == "CONTENT") {
      field(path_[2], path_[3], value);
    } else if (path_.size() == 3 && path_[1] == "CONTENT") {
      close_section(path_[2]);
    }
    path_.pop_back();
    keep_text_ = false;
  }

 private:
  static bool kept(const std::vector<std::string>& path) {
    if (path.size() == 2) return path[1] == "QUERY" || path[1] == "DEVICEID";
    if (path.size() != 4 || path[1] != "CONTENT") return false;
    static constexpr std::array<std::string_view, 8> kSections = {
        "HARDWARE",  "BIOS", "OPERATINGSYSTEM", "CPUS", "NETWORKS",
        "SOFTWARES", "ENVS", "ACCOUNTINFO"};
    return std::find(kSections.begin(), kSections.end(), path[2]) != kSections.end();
  }

  void field(const std::string& section, const std::string& name, const std::string& v) {
    if (section == "HARDWARE") {
      if (name == "NAME") out_.hostname = v;
      if (name == "UUID") out_.uuid = v;
      if (name == "MEMORY") out_.memory_mb = std::atoll(v.c_str());
      if (name == "PROCESSORT" && out_.cpu.empty()) out_.cpu = v;
      if (name == "OSNAME" && out_.os.empty()) out_.os = v;
    } else if (section == "BIOS") {
      if (name == "SSN") out_.serial = v;
      if (name == "SMANUFACTURER" || (name == "MMANUFACTURER" && out_.manufacturer.empty()))
        out_.manufacturer = v;
      if (name == "SMODEL") out_.model = v;
    } else if (section == "OPERATINGSYSTEM") {
      if (name == "FULL_NAME") out_.os = v;
    } else if (section == "CPUS") {
      if (name == "NAME") out_.cpu = v;
    } else if (section == "NETWORKS") {
      if (name == "DESCRIPTION") net_.name = v;
      if (name == "MACADDR") net_.mac = normal_mac(v);
      if (name == "TYPE") net_.type = v;
      if (name == "VIRTUALDEV") net_.virtual_device = v == "1";
      if ((name == "IPADDRESS" || name == "IPADDRESS6") && !v.empty()) net_addresses_.push_back(v);
    } else if (section == "SOFTWARES") {
      if (name == "NAME") soft_.name = v;
      if (name == "PUBLISHER") soft_.publisher = v;
      if (name == "VERSION") soft_.version = v;
    } else if (section == "ENVS" || section == "ACCOUNTINFO") {
      if (name == "KEY" || name == "KEYNAME") key_ = v;
      if (name == "VAL" || name == "KEYVALUE") value_ = v;
    }
  }

  void close_section(const std::string& section) {
    if (section == "NETWORKS") {
      auto same = std::find_if(
          out_.interfaces.begin(), out_.interfaces.end(),
          [&](const Interface& i) { return i.name == net_.name && i.mac == net_.mac; });
      if (same == out_.interfaces.end()) {
        if (out_.interfaces.size() >= limits_.max_interfaces)
          too_large("more than " + std::to_string(limits_.max_interfaces) + " network interfaces");
        out_.interfaces.push_back(net_);
        same = out_.interfaces.end() - 1;
      }
      for (auto& a : net_addresses_)
        if (std::find(same->addresses.begin(), same->addresses.end(), a) == same->addresses.end())
          same->addresses.push_back(a);
    } else if (section == "SOFTWARES") {
      if (soft_.name.empty()) return;
      if (out_.software.size() >= limits_.max_software)
        too_large("more than " + std::to_string(limits_.max_software) + " software entries");
      out_.software.push_back(std::move(soft_));
    } else if (section == "ENVS") {
      if (++envs_ > limits_.max_envs)
        too_large("more than " + std::to_string(limits_.max_envs) + " environment variables");
      const std::string k = lower(key_);
      if ((k == "http_proxy" || k == "https_proxy" || k == "ftp_proxy" || k == "all_proxy") &&
          !value_.empty())
        out_.proxies.emplace_back(key_, value_);
    } else if (section == "ACCOUNTINFO") {
      if (key_ == "TAG") out_.tag = value_;
    }
  }

  Inventory& out_;
  const Limits& limits_;
  std::vector<std::string> path_;
  std::string text_;
  bool keep_text_ = false;
  Interface net_;
  std::vector<std::string> net_addresses_;
  Software soft_;
  std::string key_, value_;
  std::size_t envs_ = 0;
};

std::string inflate_capped(std::string_view body, std::size_t cap) {
  z_stream zs{};
  // 15 + 32: zlib or gzip, detected from the header.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) throw std::bad_alloc();
  struct End {
    z_stream* z;
    ~End() { inflateEnd(z); }
  } end{&zs};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  zs.avail_in = static_cast<uInt>(body.size());
  std::string out;
  std::array<char, 64 * 1024> buf;
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(buf.data());
    zs.avail_out = static_cast<uInt>(buf.size());
    const int rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
      invalid("the compressed body is corrupt");
    const std::size_t got = buf.size() - zs.avail_out;
    if (out.size() + got > cap)
      too_large("the inventory inflates to more than " + std::to_string(cap >> 20) + " MiB");
    out.append(buf.data(), got);
    if (rc == Z_STREAM_END) return out;
    if (rc == Z_BUF_ERROR || (got == 0 && zs.avail_in == 0))
      invalid("the compressed body is truncated");
  }
}

}  // namespace

std::string decode_body(std::string_view body, const Limits& limits) {
  if (body.size() > UINT32_MAX) too_large("body too large");
  const auto b0 = body.size() > 1 ? static_cast<unsigned char>(body[0]) : 0;
  const auto b1 = body.size() > 1 ? static_cast<unsigned char>(body[1]) : 0;
  const bool zlib = (b0 & 0x0f) == 8 && ((b0 << 8) | b1) % 31 == 0;
  const bool gzip = b0 == 0x1f && b1 == 0x8b;
  if (zlib || gzip) return inflate_capped(body, limits.max_xml_bytes);
  if (body.size() > limits.max_xml_bytes)
    too_large("the inventory is larger than " + std::to_string(limits.max_xml_bytes >> 20) +
              " MiB");
  return std::string(body);
}

// The default level: the agent recognises zlib by the 0x78 0x9C header that level writes.
std::string compress(std::string_view data) {
  uLongf n = compressBound(static_cast<uLong>(data.size()));
  std::string out(n, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &n,
                reinterpret_cast<const Bytef*>(data.data()), static_cast<uLong>(data.size()),
                Z_DEFAULT_COMPRESSION) != Z_OK)
    throw std::bad_alloc();
  out.resize(n);
  return out;
}

Inventory parse(std::string_view xml, const Limits& limits) {
  Inventory inv;
  Reader reader(inv, limits);
  try {
    xml::Parser parser(reader, {.max_depth = limits.max_depth});
    parser.feed(xml, true);
  } catch (const xml::Failure& f) {
    if (f.kind == xml::Failure::Kind::too_deep) too_large(f.what());
    invalid(f.what());
  }
  if (inv.query != "PROLOG" && inv.query != "INVENTORY")
    invalid(inv.query.empty() ? "the REQUEST has no QUERY"
                              : "only PROLOG and INVENTORY queries are accepted");
  if (inv.device_id.empty()) invalid("the REQUEST has no DEVICEID");
  if (inv.device_id.size() > 255) invalid("the DEVICEID is longer than 255 characters");
  return inv;
}

std::string prolog_reply(int hours) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<REPLY><PROLOG_FREQ>" +
         std::to_string(hours) + "</PROLOG_FREQ><RESPONSE>SEND</RESPONSE></REPLY>\n";
}

std::string inventory_reply() {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<REPLY></REPLY>\n";
}

bool meaningful_serial(std::string_view serial) {
  static const std::array<std::string_view, 14> junk{"",
                                                     "0",
                                                     "none",
                                                     "n/a",
                                                     "not specified",
                                                     "default string",
                                                     "to be filled by o.e.m.",
                                                     "system serial number",
                                                     "chassis serial number",
                                                     "0123456789",
                                                     "serial number",
                                                     "not applicable",
                                                     "invalid",
                                                     "unknown"};
  const std::string s = lower(trim(serial));
  if (s.find_first_not_of("0") == std::string::npos) return false;
  return std::find(junk.begin(), junk.end(), s) == junk.end();
}

std::string normal_mac(std::string_view s) {
  std::string out;
  int digits = 0;
  for (char c : s) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      if (digits > 0 && digits % 2 == 0) out += ':';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      ++digits;
    } else if (c != ':' && c != '-' && c != '.') {
      return {};
    }
  }
  if (digits != 12 || out == "00:00:00:00:00:00") return {};
  return out;
}

}  // namespace custos::assets::agent
