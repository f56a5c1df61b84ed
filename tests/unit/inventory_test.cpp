// Issue #7 (IT-7): the agent protocol's reader, the software policy's patterns and the address
// arithmetic of IP address management.
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <sstream>

#include "expect_error.h"
#include "modules/assets/agent_protocol.h"
#include "modules/assets/labels.h"
#include "modules/assets/network.h"
#include "modules/assets/violations.h"
#include "platform/xml/sax.h"

namespace custos::assets {
namespace {

using testing_err::throws_code;

const char* kInventory = R"(<?xml version="1.0" encoding="UTF-8" ?>
<REQUEST>
  <CONTENT>
    <ACCOUNTINFO><KEYNAME>TAG</KEYNAME><KEYVALUE>门诊楼</KEYVALUE></ACCOUNTINFO>
    <BIOS><SSN>CN0X1234</SSN><SMANUFACTURER>Dell Inc.</SMANUFACTURER><SMODEL>OptiPlex 7090</SMODEL></BIOS>
    <HARDWARE><NAME>ws-0301</NAME><UUID>4C4C4544-0051</UUID><MEMORY>16022</MEMORY>
      <OSNAME>Microsoft Windows 10 专业版</OSNAME></HARDWARE>
    <CPUS><NAME>Intel(R) Core(TM) i5-10500</NAME></CPUS>
    <NETWORKS><DESCRIPTION>eth0</DESCRIPTION><MACADDR>52:54:00:AB:CD:EF</MACADDR>
      <IPADDRESS>10.20.0.10</IPADDRESS><VIRTUALDEV>0</VIRTUALDEV></NETWORKS>
    <NETWORKS><DESCRIPTION>eth0</DESCRIPTION><MACADDR>52:54:00:ab:cd:ef</MACADDR>
      <IPADDRESS6>fd00::10</IPADDRESS6><VIRTUALDEV>0</VIRTUALDEV></NETWORKS>
    <NETWORKS><DESCRIPTION>lo</DESCRIPTION><MACADDR>00:00:00:00:00:00</MACADDR>
      <IPADDRESS>127.0.0.1</IPADDRESS><VIRTUALDEV>1</VIRTUALDEV></NETWORKS>
    <SOFTWARES><NAME>腾讯QQ</NAME><PUBLISHER>Tencent</PUBLISHER><VERSION>9.7</VERSION></SOFTWARES>
    <SOFTWARES><NAME>WPS Office</NAME><PUBLISHER>Kingsoft</PUBLISHER></SOFTWARES>
    <SOFTWARES><PUBLISHER>nameless</PUBLISHER></SOFTWARES>
    <ENVS><KEY>HTTPS_PROXY</KEY><VAL>http://10.9.9.9:8080</VAL></ENVS>
    <ENVS><KEY>PATH</KEY><VAL>/usr/bin</VAL></ENVS>
  </CONTENT>
  <DEVICEID>ws-0301-2026-12-01-08-00-00</DEVICEID>
  <QUERY>INVENTORY</QUERY>
</REQUEST>)";

TEST(AgentProtocol, ReadsTheFactsCustosKeeps) {
  const auto inv = agent::parse(kInventory, {});
  EXPECT_EQ(inv.query, "INVENTORY");
  EXPECT_EQ(inv.device_id, "ws-0301-2026-12-01-08-00-00");
  EXPECT_EQ(inv.hostname, "ws-0301");
  EXPECT_EQ(inv.serial, "CN0X1234");
  EXPECT_EQ(inv.uuid, "4C4C4544-0051");
  EXPECT_EQ(inv.manufacturer, "Dell Inc.");
  EXPECT_EQ(inv.model, "OptiPlex 7090");
  EXPECT_EQ(inv.os, "Microsoft Windows 10 专业版");
  EXPECT_EQ(inv.cpu, "Intel(R) Core(TM) i5-10500");
  EXPECT_EQ(inv.memory_mb, 16022);
  EXPECT_EQ(inv.tag, "门诊楼");
  // One interface per name and MAC, its addresses merged; the all-zero MAC is no MAC.
  ASSERT_EQ(inv.interfaces.size(), 2u);
  EXPECT_EQ(inv.interfaces[0].mac, "52:54:00:ab:cd:ef");
  EXPECT_EQ(inv.interfaces[0].addresses, (std::vector<std::string>{"10.20.0.10", "fd00::10"}));
  EXPECT_EQ(inv.interfaces[1].mac, "");
  EXPECT_TRUE(inv.interfaces[1].virtual_device);
  ASSERT_EQ(inv.software.size(), 2u) << "software without a name is skipped";
  EXPECT_EQ(inv.software[0].name, "腾讯QQ");
  EXPECT_EQ(inv.software[0].publisher, "Tencent");
  ASSERT_EQ(inv.proxies.size(), 1u);
  EXPECT_EQ(inv.proxies[0].second, "http://10.9.9.9:8080");
}

// The PROLOG every agent sends first (the API tests run the real agent for the rest).
TEST(AgentProtocol, PrologAndItsReply) {
  const auto p = agent::parse(
      "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<REQUEST>\n  <DEVICEID>vm-2026</DEVICEID>\n  "
      "<QUERY>PROLOG</QUERY>\n  <TOKEN>12345678</TOKEN>\n</REQUEST>\n",
      {});
  EXPECT_EQ(p.query, "PROLOG");
  EXPECT_EQ(p.device_id, "vm-2026");
  const std::string reply = agent::prolog_reply(24);
  EXPECT_NE(reply.find("<RESPONSE>SEND</RESPONSE>"), std::string::npos);
  EXPECT_NE(reply.find("<PROLOG_FREQ>24</PROLOG_FREQ>"), std::string::npos);
}

TEST(AgentProtocol, RefusesWhatIsNotAnAgentRequest) {
  const agent::Limits lim;
  for (const char* bad : {"", "not xml", "<HTML/>", "<REQUEST><QUERY>INVENTORY</QUERY></REQUEST>",
                          "<REQUEST><DEVICEID>x</DEVICEID><QUERY>SNMPQUERY</QUERY></REQUEST>",
                          "<REQUEST><DEVICEID>x</DEVICEID><QUERY>PROLOG</QUERY>",
                          "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x \"y\">]><REQUEST/>",
                          "<?xml version=\"1.0\" encoding=\"GB2312\"?><REQUEST/>",
                          "<REQUEST><DEVICEID>\xff</DEVICEID><QUERY>PROLOG</QUERY></REQUEST>"})
    EXPECT_TRUE(throws_code([&] { agent::parse(bad, lim); }, ErrorCode::invalid_inventory)) << bad;
}

TEST(AgentProtocol, LimitsDepthCountsAndText) {
  agent::Limits lim;
  std::string deep = "<REQUEST>";
  for (int i = 0; i < 40; ++i) deep += "<A>";
  EXPECT_TRUE(throws_code([&] { agent::parse(deep, lim); }, ErrorCode::payload_too_large));
  lim.max_software = 3;
  std::string many = "<REQUEST><CONTENT>";
  for (int i = 0; i < 4; ++i)
    many += "<SOFTWARES><NAME>s" + std::to_string(i) + "</NAME></SOFTWARES>";
  many += "</CONTENT><DEVICEID>d</DEVICEID><QUERY>INVENTORY</QUERY></REQUEST>";
  EXPECT_TRUE(throws_code([&] { agent::parse(many, lim); }, ErrorCode::payload_too_large));
  lim = {};
  lim.max_text_bytes = 10;
  EXPECT_TRUE(
      throws_code([&] { agent::parse("<REQUEST><DEVICEID>01234567890</DEVICEID></REQUEST>", lim); },
                  ErrorCode::payload_too_large));
  // A field the reader does not keep (a process's command line, here ten times the limit) is
  // skipped, not refused: a build machine's inventory carries such lines.
  const std::string with_process =
      "<REQUEST><CONTENT><PROCESSES><CMD>" + std::string(100, 'x') +
      "</CMD></PROCESSES><SOFTWARES><NAME>vim</NAME></SOFTWARES></CONTENT>"
      "<DEVICEID>d</DEVICEID><QUERY>INVENTORY</QUERY></REQUEST>";
  const auto inv = agent::parse(with_process, lim);
  ASSERT_EQ(inv.software.size(), 1u);
  EXPECT_EQ(inv.software[0].name, "vim");
  EXPECT_EQ(inv.device_id, "d");
}

TEST(AgentProtocol, DecodesZlibGzipAndPlainWithACap) {
  const std::string xml = kInventory;
  const std::string z = agent::compress(xml);
  ASSERT_GE(z.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(z[0]), 0x78);
  EXPECT_EQ(static_cast<unsigned char>(z[1]), 0x9C) << "the agent only recognises this header";
  EXPECT_EQ(agent::decode_body(z, {}), xml);
  EXPECT_EQ(agent::decode_body(xml, {}), xml);
  // gzip, as `--no-compression` off and Compress::Zlib missing would send.
  z_stream zs{};
  ASSERT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string gz(xml.size() + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(xml.data()));
  zs.avail_in = static_cast<uInt>(xml.size());
  zs.next_out = reinterpret_cast<Bytef*>(gz.data());
  zs.avail_out = static_cast<uInt>(gz.size());
  ASSERT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  gz.resize(zs.total_out);
  deflateEnd(&zs);
  EXPECT_EQ(agent::decode_body(gz, {}), xml);
  // A bomb stops at the cap; a truncated or corrupt stream is refused.
  agent::Limits small;
  small.max_xml_bytes = 1 << 20;
  const std::string bomb = agent::compress(std::string(8 << 20, '<'));
  EXPECT_LT(bomb.size(), 64u << 10);
  EXPECT_TRUE(throws_code([&] { agent::decode_body(bomb, small); }, ErrorCode::payload_too_large));
  EXPECT_TRUE(throws_code([&] { agent::decode_body(z.substr(0, z.size() / 2), {}); },
                          ErrorCode::invalid_inventory));
  std::string corrupt = z;
  corrupt[z.size() / 2] ^= 0x55;
  corrupt[z.size() / 2 + 1] ^= 0x55;
  EXPECT_TRUE(throws_code([&] { agent::decode_body(corrupt, {}); }, ErrorCode::invalid_inventory));
  EXPECT_TRUE(throws_code([&] { agent::decode_body(std::string(2 << 20, 'x'), small); },
                          ErrorCode::payload_too_large));
}

TEST(AgentProtocol, SerialsAndMacs) {
  for (const char* junk : {"", "0", "00000000", "To be filled by O.E.M.", "Default string",
                           " System Serial Number ", "N/A", "None"})
    EXPECT_FALSE(agent::meaningful_serial(junk)) << junk;
  EXPECT_TRUE(agent::meaningful_serial("CN0X1234"));
  EXPECT_EQ(agent::normal_mac("52-54-00-AB-CD-EF"), "52:54:00:ab:cd:ef");
  EXPECT_EQ(agent::normal_mac("5254.00ab.cdef"), "52:54:00:ab:cd:ef");
  EXPECT_EQ(agent::normal_mac("00:00:00:00:00:00"), "");
  EXPECT_EQ(agent::normal_mac("52:54:00:ab:cd"), "");
  EXPECT_EQ(agent::normal_mac("52:54:00:ab:cd:eg"), "");
}

TEST(SoftwarePolicy, GlobPatterns) {
  EXPECT_TRUE(glob_match("QQ*", "qq音乐"));
  EXPECT_TRUE(glob_match("*QQ*", "腾讯QQ"));
  EXPECT_TRUE(glob_match("MSN", "msn"));
  EXPECT_FALSE(glob_match("MSN", "MSN Messenger"));
  EXPECT_TRUE(glob_match("MSN*", "MSN Messenger"));
  EXPECT_TRUE(glob_match("腾讯??", "腾讯QQ"));
  EXPECT_TRUE(glob_match("?讯QQ", "腾讯QQ")) << "? is one character, not one byte";
  EXPECT_FALSE(glob_match("?QQ", "腾讯QQ"));
  EXPECT_TRUE(glob_match("*a*b*c*", "xxaxxbxxcxx"));
  EXPECT_FALSE(glob_match("*a*b*c*", "xxaxxcxxbxx"));
  EXPECT_TRUE(glob_match("nmap", "NMAP"));
  EXPECT_FALSE(glob_match("wrk", "wrk2"));
  EXPECT_TRUE(glob_match("*", ""));
}

TEST(IpAddresses, ParseAndCanonicalForm) {
  EXPECT_EQ(ip::text(*ip::parse("10.1.2.3")), "10.1.2.3");
  EXPECT_EQ(ip::text(*ip::parse("FD00:0:0:0::0010")), "fd00::10");
  for (const char* bad :
       {"", "10.1.2", "10.1.2.256", "1.2.3.4.5", "fd00:::1", "10.1.2.3/24", " 10.1.2.3", "x"})
    EXPECT_FALSE(ip::parse(bad)) << bad;
  EXPECT_TRUE(ip::parse_cidr("10.1.2.0/24"));
  EXPECT_FALSE(ip::parse_cidr("10.1.2.5/24")) << "host bits set";
  EXPECT_FALSE(ip::parse_cidr("10.1.2.0/33"));
  EXPECT_FALSE(ip::parse_cidr("10.1.2.0/"));
  EXPECT_FALSE(ip::parse_cidr("10.1.2.0"));
  EXPECT_EQ(ip::text(*ip::parse_cidr("FD00:1::/64")), "fd00:1::/64");
}

TEST(IpAddresses, ContainsAndOverlaps) {
  const auto net = *ip::parse_cidr("10.20.0.0/24");
  EXPECT_TRUE(ip::contains(net, *ip::parse("10.20.0.255")));
  EXPECT_FALSE(ip::contains(net, *ip::parse("10.20.1.0")));
  EXPECT_FALSE(ip::contains(net, *ip::parse("::ffff:10.20.0.1"))) << "families never mix";
  EXPECT_TRUE(ip::overlaps(net, *ip::parse_cidr("10.20.0.128/25")));
  EXPECT_TRUE(ip::overlaps(*ip::parse_cidr("10.0.0.0/8"), net));
  EXPECT_FALSE(ip::overlaps(net, *ip::parse_cidr("10.20.1.0/24")));
  EXPECT_TRUE(ip::contains(*ip::parse_cidr("0.0.0.0/0"), *ip::parse("8.8.8.8")));
  EXPECT_TRUE(ip::contains(*ip::parse_cidr("fd00::/8"), *ip::parse("fd12:3456::1")));
  EXPECT_TRUE(ip::is_local(*ip::parse("127.0.0.1")));
  EXPECT_TRUE(ip::is_local(*ip::parse("fe80::1")));
  EXPECT_TRUE(ip::is_local(*ip::parse("::1")));
  EXPECT_FALSE(ip::is_local(*ip::parse("fd00::2")));
  EXPECT_FALSE(ip::is_local(*ip::parse("192.0.2.2")));
  EXPECT_LT(*ip::parse("10.20.0.9"), *ip::parse("10.20.0.10")) << "numeric order";
}

}  // namespace
}  // namespace custos::assets

namespace custos::assets {
namespace {

TEST(Labels, ConsoleBaseAndTheQrCode) {
  EXPECT_EQ(console_base("https://custos.example.cn/", "evil", true), "https://custos.example.cn");
  EXPECT_EQ(console_base("", "10.0.0.5:8080", false), "http://10.0.0.5:8080");
  EXPECT_EQ(console_base("", "[fd00::1]:8443", true), "https://[fd00::1]:8443");
  EXPECT_EQ(console_base("", "x\"><script>", false), "http://localhost");
  EXPECT_EQ(console_base("javascript:alert(1)", "h", false), "http://h");
  const auto m = qr_modules("https://custos.example.cn/assets/12345");
  ASSERT_GE(m.size(), 21u);
  EXPECT_EQ(m.size(), m[0].size());
  // The finder pattern's corner is dark, the module inside its white ring light.
  EXPECT_TRUE(m[0][0]);
  EXPECT_FALSE(m[1][1]);
  Asset a;
  a.id = 7;
  a.asset_tag = "ZC-<1>&";
  a.name = "办公电脑";
  const std::string svg = label_svg(a, "http://h", "滨江医院");
  EXPECT_NE(svg.find("ZC-&lt;1&gt;&amp;"), std::string::npos);
  EXPECT_EQ(svg.find("<1>"), std::string::npos);
}

}  // namespace
}  // namespace custos::assets
