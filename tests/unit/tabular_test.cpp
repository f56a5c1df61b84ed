// Tests for platform/tabular: CSV and XLSX reading and writing, the limits and refusals that
// protect the server (zip bomb, DOCTYPE, garbage), streaming writers and header mapping. Zips
// for hostile inputs are built here with minizip.
#include <gtest/gtest.h>
#include <iconv.h>
#include <minizip/unzip.h>
#include <minizip/zip.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "platform/tabular/tabular.h"

namespace custos::tabular {
namespace {

using Rows = std::vector<std::vector<std::string>>;

// --- helpers ---------------------------------------------------------------------------------

std::string temp_path(const std::string& stem) {
  const char* dir = std::getenv("TMPDIR");
  std::string path =
      std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/" + stem + "-XXXXXX";
  const int fd = mkstemp(path.data());
  EXPECT_GE(fd, 0);
  ::close(fd);
  return path;
}

// A unique path that does not exist yet.
std::string fresh_path(const std::string& stem) {
  const std::string path = temp_path(stem);
  ::unlink(path.c_str());
  return path + ".xlsx";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Builds a zip with minizip in a temp file and returns its bytes.
class ZipBuilder {
 public:
  ZipBuilder() : path_(temp_path("tabular-test-zip")) {
    zip_ = zipOpen64(path_.c_str(), APPEND_STATUS_CREATE);
    EXPECT_NE(zip_, nullptr);
  }
  ~ZipBuilder() { ::unlink(path_.c_str()); }

  void add(const std::string& name, std::string_view content) {
    open(name);
    EXPECT_EQ(zipWriteInFileInZip(zip_, content.data(), static_cast<unsigned>(content.size())),
              ZIP_OK);
    EXPECT_EQ(zipCloseFileInZip(zip_), ZIP_OK);
  }

  // prefix + `filler_bytes` copies of `filler` + suffix, written in 1 MiB chunks.
  void add_filled(const std::string& name, std::string_view prefix, char filler,
                  std::size_t filler_bytes, std::string_view suffix) {
    open(name);
    zipWriteInFileInZip(zip_, prefix.data(), static_cast<unsigned>(prefix.size()));
    const std::string chunk(1 << 20, filler);
    for (std::size_t left = filler_bytes; left > 0;) {
      const std::size_t n = std::min(left, chunk.size());
      zipWriteInFileInZip(zip_, chunk.data(), static_cast<unsigned>(n));
      left -= n;
    }
    zipWriteInFileInZip(zip_, suffix.data(), static_cast<unsigned>(suffix.size()));
    EXPECT_EQ(zipCloseFileInZip(zip_), ZIP_OK);
  }

  std::string bytes() {
    EXPECT_EQ(zipClose(zip_, nullptr), ZIP_OK);
    zip_ = nullptr;
    return slurp(path_);
  }

 private:
  void open(const std::string& name) {
    zip_fileinfo info{};
    EXPECT_EQ(zipOpenNewFileInZip64(zip_, name.c_str(), &info, nullptr, 0, nullptr, 0, nullptr,
                                    Z_DEFLATED, Z_DEFAULT_COMPRESSION, 0),
              ZIP_OK);
  }

  std::string path_;
  zipFile zip_ = nullptr;
};

// One entry of a zip, or "" when absent.
std::string unzip_entry(const std::string& zip_bytes, const std::string& name) {
  const std::string path = temp_path("tabular-test-unzip");
  std::ofstream(path, std::ios::binary) << zip_bytes;
  std::string out;
  unzFile uf = unzOpen64(path.c_str());
  if (uf != nullptr && unzLocateFile(uf, name.c_str(), 1) == UNZ_OK &&
      unzOpenCurrentFile(uf) == UNZ_OK) {
    char buf[65536];
    for (int n; (n = unzReadCurrentFile(uf, buf, sizeof buf)) > 0;) out.append(buf, n);
    unzCloseCurrentFile(uf);
  }
  if (uf != nullptr) unzClose(uf);
  ::unlink(path.c_str());
  return out;
}

constexpr std::string_view kMainNs = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
constexpr std::string_view kRelNs =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

std::string worksheet_xml(std::string_view sheet_data) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet xmlns=\"" + std::string(kMainNs) +
         "\"><sheetData>" + std::string(sheet_data) + "</sheetData></worksheet>";
}

// The parts of a minimal workbook whose one sheet is `sheet_xml`.
void add_minimal_package(ZipBuilder& zip, bool with_strings) {
  zip.add("[Content_Types].xml",
          "<?xml version=\"1.0\"?><Types "
          "xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>");
  zip.add("_rels/.rels",
          "<?xml version=\"1.0\"?><Relationships "
          "xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
          "<Relationship Id=\"rId1\" Type=\"" +
              std::string(kRelNs) +
              "/officeDocument\" Target=\"xl/workbook.xml\"/>"
              "</Relationships>");
  zip.add("xl/workbook.xml", "<?xml version=\"1.0\"?><workbook xmlns=\"" + std::string(kMainNs) +
                                 "\" xmlns:r=\"" + std::string(kRelNs) +
                                 "\"><sheets><sheet name=\"S\" sheetId=\"1\" "
                                 "r:id=\"rId1\"/></sheets></workbook>");
  std::string rels =
      "<?xml version=\"1.0\"?><Relationships "
      "xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
      "<Relationship Id=\"rId1\" Type=\"" +
      std::string(kRelNs) + "/worksheet\" Target=\"worksheets/sheet1.xml\"/>";
  if (with_strings) {
    rels += "<Relationship Id=\"rId2\" Type=\"" + std::string(kRelNs) +
            "/sharedStrings\" Target=\"sharedStrings.xml\"/>";
  }
  zip.add("xl/_rels/workbook.xml.rels", rels + "</Relationships>");
}

std::string minimal_xlsx(std::string_view sheet_xml, std::string_view strings_xml = {}) {
  ZipBuilder zip;
  add_minimal_package(zip, !strings_xml.empty());
  zip.add("xl/worksheets/sheet1.xml", sheet_xml);
  if (!strings_xml.empty()) zip.add("xl/sharedStrings.xml", strings_xml);
  return zip.bytes();
}

std::string to_gb18030(const std::string& utf8) {
  iconv_t cd = iconv_open("GB18030", "UTF-8");
  EXPECT_NE(cd, reinterpret_cast<iconv_t>(-1));
  std::string out(utf8.size() * 2 + 16, '\0');
  char* src = const_cast<char*>(utf8.data());
  std::size_t src_left = utf8.size();
  char* dst = out.data();
  std::size_t dst_left = out.size();
  EXPECT_NE(iconv(cd, &src, &src_left, &dst, &dst_left), static_cast<std::size_t>(-1));
  iconv_close(cd);
  out.resize(out.size() - dst_left);
  return out;
}

long max_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

template <typename F>
TabularError expect_refusal(F&& f) {
  try {
    f();
  } catch (const TabularError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a TabularError";
  return TabularError(ErrorKind::malformed, "none");
}

// --- CSV ------------------------------------------------------------------------------------

TEST(TabularCsv, QuotingRoundTrip) {
  Sheet sheet{"", {"名称", "备注", "金额"}, {}};
  sheet.rows = {{"内科", "含,逗号", "12.5"},
                {"外科", "含\"引号\"", ""},
                {"急诊", "第一行\r\n第二行\n第三行", "-3"},
                {"", " 前后空格 ", "x"}};
  const std::string csv = write_csv(sheet);
  ASSERT_TRUE(csv.starts_with("\xEF\xBB\xBF"));
  EXPECT_NE(csv.find("\"含,逗号\""), std::string::npos);
  EXPECT_NE(csv.find("\"含\"\"引号\"\"\""), std::string::npos);
  EXPECT_NE(csv.find("名称,备注,金额\r\n"), std::string::npos);
  const Sheet back = read_csv(csv);
  EXPECT_EQ(back.header, sheet.header);
  EXPECT_EQ(back.rows, sheet.rows);
}

TEST(TabularCsv, LineEndingsBomAndEmptyRows) {
  const Sheet lf = read_csv("a,b,c\n1,2,3\n\n4,\"x\ny\"\n\n\n");
  EXPECT_EQ(lf.header, (std::vector<std::string>{"a", "b", "c"}));
  // The empty middle row is kept (row numbers stay right), short rows are padded, trailing
  // empty rows are dropped.
  EXPECT_EQ(lf.rows, (Rows{{"1", "2", "3"}, {"", "", ""}, {"4", "x\ny", ""}}));

  const Sheet crlf = read_csv(
      "\xEF\xBB\xBF"
      "a,b\r\n1,2\r\n,\r\n");
  EXPECT_EQ(crlf.header, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(crlf.rows, (Rows{{"1", "2"}}));

  const Sheet no_final_newline = read_csv("a\r\n\"q\"\"uote\"");
  EXPECT_EQ(no_final_newline.rows, (Rows{{"q\"uote"}}));

  // Lenient where Excel is: a quote inside an unquoted field, text after a closing quote.
  const Sheet lenient = read_csv("h1,h2\nab\"c,\"x\"y\n");
  EXPECT_EQ(lenient.rows, (Rows{{"ab\"c", "xy"}}));

  EXPECT_TRUE(read_csv("").header.empty());
  EXPECT_TRUE(read_csv("\xEF\xBB\xBF").header.empty());
}

TEST(TabularCsv, DecodesGb18030) {
  const std::string utf8 =
      "姓名,科室,电话\r\n张三,心血管内科,13800000000\r\n李四,\"骨科,二病区\",\r\n";
  const std::string gb = to_gb18030(utf8);
  ASSERT_NE(gb, utf8);
  const Sheet sheet = read_csv(gb);
  EXPECT_EQ(sheet.header, (std::vector<std::string>{"姓名", "科室", "电话"}));
  EXPECT_EQ(sheet.rows, (Rows{{"张三", "心血管内科", "13800000000"}, {"李四", "骨科,二病区", ""}}));
}

TEST(TabularCsv, FormulaInjectionNeutralised) {
  Sheet sheet{"", {"=HYPERLINK(\"http://x\")", "ok"}, {}};
  sheet.rows = {{"=1+1", "+86 10 1234"},
                {"@SUM(A1)", "-2+3"},
                {"\tx", "\rcmd"},
                {"-12.5", "-7"},
                {"a=b", "-"}};
  const Sheet back = read_csv(write_csv(sheet));
  EXPECT_EQ(back.header[0], "'=HYPERLINK(\"http://x\")");
  EXPECT_EQ(back.rows[0], (std::vector<std::string>{"'=1+1", "'+86 10 1234"}));
  EXPECT_EQ(back.rows[1], (std::vector<std::string>{"'@SUM(A1)", "'-2+3"}));
  EXPECT_EQ(back.rows[2], (std::vector<std::string>{"'\tx", "'\rcmd"}));
  EXPECT_EQ(back.rows[3], (std::vector<std::string>{"-12.5", "-7"}));  // plain numbers stay
  EXPECT_EQ(back.rows[4], (std::vector<std::string>{"a=b", "'-"}));
}

TEST(TabularCsv, LimitsRefuse) {
  ReadLimits limits;
  limits.max_rows = 3;
  limits.max_columns = 4;
  limits.max_cell_bytes = 100;

  EXPECT_NO_THROW(read_csv("h\n1\n2\n3\n\n\n", limits));  // trailing empties don't count
  TabularError rows = expect_refusal([&] { read_csv("h\n1\n2\n3\n4\n", limits); });
  EXPECT_EQ(rows.kind(), ErrorKind::too_large);
  EXPECT_EQ(rows.row(), 5u);
  EXPECT_NE(std::string(rows.what()).find("row 5"), std::string::npos);

  EXPECT_NO_THROW(read_csv("a,b,c,d,,,\n", limits));  // empty cells past the limit are fine
  TabularError cols = expect_refusal([&] { read_csv("a,b\n1,2,3,4,5\n", limits); });
  EXPECT_EQ(cols.kind(), ErrorKind::too_large);
  EXPECT_EQ(cols.row(), 2u);
  EXPECT_EQ(cols.column(), 5u);
  EXPECT_NE(std::string(cols.what()).find("column 5 (E)"), std::string::npos);

  const std::string secret(150, 'S');
  TabularError cell = expect_refusal([&] { read_csv("a,b\nx,\"" + secret + "\"\n", limits); });
  EXPECT_EQ(cell.kind(), ErrorKind::too_large);
  EXPECT_EQ(cell.row(), 2u);
  EXPECT_EQ(cell.column(), 2u);
  EXPECT_EQ(std::string(cell.what()).find("SSSS"), std::string::npos);  // no content echoed

  limits = ReadLimits{};
  limits.max_cells = 10;
  EXPECT_EQ(expect_refusal([&] { read_csv("a,b,c\n1,2,3\n4,5,6\n7,8,9\n", limits); }).kind(),
            ErrorKind::too_large);
}

TEST(TabularCsv, MalformedRefused) {
  TabularError open_quote = expect_refusal([] { read_csv("a,b\n1,\"never closed\n2,3\n"); });
  EXPECT_EQ(open_quote.kind(), ErrorKind::malformed);
  EXPECT_EQ(open_quote.row(), 2u);
  EXPECT_EQ(open_quote.column(), 2u);
  EXPECT_EQ(expect_refusal([] { read_csv(std::string("a,b\n1\0,2\n", 9)); }).kind(),
            ErrorKind::malformed);
  EXPECT_EQ(expect_refusal([] {
              read_csv(
                  "\xFF\xFE"
                  "a\0,\0b\0");
            }).kind(),
            ErrorKind::unsupported);
  // Neither UTF-8 nor GB18030 (0x80 alone and 0xFF are never valid GB18030).
  EXPECT_EQ(expect_refusal([] { read_csv("a\x80\xFF\n"); }).kind(), ErrorKind::malformed);
}

TEST(TabularCsv, StreamWriter100kRows) {
  std::size_t bytes = 0;
  std::size_t lines = 0;
  std::size_t calls = 0;
  std::string first_two;
  CsvStreamWriter writer([&](std::string_view chunk) {
    bytes += chunk.size();
    for (char c : chunk) lines += c == '\n';
    if (calls++ < 2) first_two += chunk;
  });
  writer.header({"编号", "名称", "备注"});
  for (int i = 0; i < 100000; ++i) {
    writer.row({std::to_string(i), "设备" + std::to_string(i), i % 1000 == 0 ? "=cmd|x" : "ok"});
  }
  writer.watermark("admin 2024-05-01");
  EXPECT_EQ(writer.rows_written(), 100000u);
  EXPECT_EQ(lines, 100002u);
  EXPECT_EQ(calls, 100002u);
  EXPECT_GT(bytes, 1500000u);
  // The same bytes as write_csv for the same content.
  Sheet one{"", {"编号", "名称", "备注"}, {{"0", "设备0", "=cmd|x"}}};
  EXPECT_EQ(first_two, write_csv(one));
  EXPECT_THROW(writer.header({"late"}), std::logic_error);
}

// --- XLSX -----------------------------------------------------------------------------------

TEST(TabularXlsx, RoundTripSeveralSheets) {
  Sheet first{"设备登记", {"编号", "名称", "原值", "备注", "电话"}, {}};
  first.rows = {
      {"001", "心电监护仪", "12345.67", "含,逗号 \"引号\"\n换行", "13800000000"},
      {"2", "", "-5", "", "+8613800000000"},  // empty cell in the middle of the row
      {"", "", "", "", ""},                   // empty row in the middle
      {"4", "输液泵", "0.1", "=1+1", "010-12345678"},
      {"5", "B超 ", "1e5", "_x0041_ 不是转义", ""},
      {"6", "控制\x01字符", "1.50", "110101199003071234", "0"},
  };
  Sheet second{"第二页", {"x"}, {{"should not be read"}}};
  const std::string xlsx = write_xlsx({first, second});
  ASSERT_EQ(detect(xlsx), Format::xlsx);

  const Sheet back = read_xlsx(xlsx);
  EXPECT_EQ(back.name, "设备登记");
  EXPECT_EQ(back.header, first.header);
  EXPECT_EQ(back.rows, first.rows);

  // Numbers really are numbers in the file; codes and "1.50" are strings.
  const std::string sheet1 = unzip_entry(xlsx, "xl/worksheets/sheet1.xml");
  EXPECT_NE(sheet1.find("<v>12345.67</v>"), std::string::npos);
  EXPECT_NE(sheet1.find("<v>-5</v>"), std::string::npos);
  EXPECT_NE(unzip_entry(xlsx, "xl/sharedStrings.xml").find("<t>001</t>"), std::string::npos);
  EXPECT_NE(sheet1.find("<pane"), std::string::npos);        // frozen header
  EXPECT_NE(sheet1.find("<autoFilter"), std::string::npos);  // filter on the header
  EXPECT_NE(sheet1.find("<cols>"), std::string::npos);       // fitted widths

  // read_any picks the reader by content.
  EXPECT_EQ(read_any(xlsx).rows, first.rows);

  // detect_numbers off: everything is text.
  WriteOptions text_only;
  text_only.detect_numbers = false;
  EXPECT_EQ(read_xlsx(write_xlsx({first}, text_only)).rows, first.rows);
}

TEST(TabularXlsx, SheetNamesMadeValid) {
  const std::string xlsx =
      write_xlsx({Sheet{"a/b:c", {"h"}, {}}, Sheet{"A/B:C", {"h"}, {}},
                  Sheet{"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二", {}, {}},
                  Sheet{"", {}, {}}});
  const std::string workbook = unzip_entry(xlsx, "xl/workbook.xml");
  EXPECT_NE(workbook.find("name=\"a_b_c\""), std::string::npos);
  EXPECT_NE(workbook.find("name=\"A_B_C (2)\""), std::string::npos);
  EXPECT_NE(
      workbook.find("name=\"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一\""),
      std::string::npos);
  EXPECT_NE(workbook.find("name=\"Sheet4\""), std::string::npos);
}

TEST(TabularXlsx, WatermarkWrittenEverywhere) {
  const std::string wm = "张三(zhangsan) 2024-05-01 10:00 filter: dept=ICU";
  WriteOptions options;
  options.watermark = wm;
  options.author = "张三";
  options.title = "设备登记导出";
  const std::string xlsx =
      write_xlsx({Sheet{"设备", {"编号", "名称"}, {{"1", "监护仪"}}}}, options);

  const Sheet back = read_xlsx(xlsx);
  ASSERT_EQ(back.rows.size(), 2u);
  EXPECT_EQ(back.rows.back()[0], std::string(kWatermarkPrefix) + wm);
  EXPECT_TRUE(is_watermark_row(back.rows.back()));
  EXPECT_FALSE(is_watermark_row(back.rows.front()));

  const std::string core = unzip_entry(xlsx, "docProps/core.xml");
  EXPECT_NE(core.find(wm), std::string::npos) << core;
  EXPECT_NE(core.find("<dc:creator>张三</dc:creator>"), std::string::npos);
  EXPECT_NE(unzip_entry(xlsx, "docProps/custom.xml").find(wm), std::string::npos);
  const std::string sheet1 = unzip_entry(xlsx, "xl/worksheets/sheet1.xml");
  EXPECT_NE(sheet1.find("<oddFooter>&amp;L" + wm), std::string::npos) << sheet1;

  // CSV gets the row too.
  const Sheet csv = read_csv(write_csv(Sheet{"", {"a"}, {{"1"}}}, options));
  EXPECT_TRUE(is_watermark_row(csv.rows.back()));
}

TEST(TabularXlsx, ReadsWhatExcelWrites) {
  ZipBuilder zip;
  zip.add("_rels/.rels",
          "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
          "<Relationship Id=\"rId1\" Type=\"" +
              std::string(kRelNs) +
              "/officeDocument\" Target=\"/xl/workbook.xml\"/>"
              "</Relationships>");
  // Workbook order: a hidden list sheet first, then the register (stored as sheet2.xml).
  zip.add("xl/workbook.xml",
          "<x:workbook xmlns:x=\"" + std::string(kMainNs) + "\" xmlns:r=\"" + std::string(kRelNs) +
              "\"><x:sheets><x:sheet name=\"lists\" sheetId=\"3\" state=\"hidden\" r:id=\"rId3\"/>"
              "<x:sheet name=\"资产\" sheetId=\"2\" r:id=\"rId2\"/>"
              "<x:sheet name=\"other\" sheetId=\"1\" r:id=\"rId1\"/></x:sheets></x:workbook>");
  zip.add("xl/_rels/workbook.xml.rels",
          "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
          "<Relationship Id=\"rId1\" Type=\"" +
              std::string(kRelNs) + "/worksheet\" Target=\"worksheets/sheet1.xml\"/>" +
              "<Relationship Id=\"rId2\" Type=\"" + std::string(kRelNs) +
              "/worksheet\" Target=\"/xl/worksheets/sheet2.xml\"/>" +
              "<Relationship Id=\"rId3\" Type=\"" + std::string(kRelNs) +
              "/worksheet\" Target=\"./worksheets/../worksheets/sheet3.xml\"/>" +
              "<Relationship Id=\"rId9\" Type=\"" + std::string(kRelNs) +
              "/sharedStrings\" Target=\"sharedStrings.xml\"/></Relationships>");
  zip.add("xl/sharedStrings.xml",
          "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
          "<sst xmlns=\"" +
              std::string(kMainNs) +
              "\" count=\"4\" uniqueCount=\"4\">"
              "<si><t>资产编号</t></si>"
              "<si><r><t>名</t></r><r><rPr><b/></rPr><t>称</t></r>"
              "<rPh sb=\"0\" eb=\"1\"><t>ミョウ</t></rPh></si>"
              "<si><t>line1_x000D_\nline2</t></si>"
              "<si><t xml:space=\"preserve\">  前导空格 &amp; &lt;tag&gt;</t></si></sst>");
  zip.add("xl/worksheets/sheet1.xml", worksheet_xml("<row r=\"1\"><c r=\"A1\"><v>1</v></c></row>"));
  zip.add("xl/worksheets/sheet3.xml", worksheet_xml("<row r=\"1\"><c r=\"A1\"><v>2</v></c></row>"));
  zip.add("xl/worksheets/sheet2.xml",
          worksheet_xml(
              "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c>"
              "<c r=\"D1\" t=\"inlineStr\"><is><t>备注</t></is></c></row>"
              "<row r=\"3\" spans=\"1:4\"><c r=\"A3\" t=\"s\"><v>2</v></c>"
              "<c r=\"B3\" s=\"1\"><v>0.30000000000000004</v></c><c r=\"C3\" t=\"b\"><v>1</v></c>"
              "<c r=\"D3\" t=\"str\"><f>A3&amp;\"x\"</f><v>cached</v></c></row>"
              "<row r=\"7\"><c r=\"C7\" s=\"2\"><v>45292</v></c><c r=\"B7\" t=\"e\"><v>#N/A</v></c>"
              "<c r=\"D7\" s=\"3\"/></row>"
              "<row><c t=\"inlineStr\"><is><r><t>ab</t></r><r><t>cd</t></r></is></c>"
              "<c t=\"s\"><v>3</v></c><c><f>SUM(1,2)</f><v>3</v></c><c t=\"b\"><v>0</v></c></row>"
              "<row r=\"9\"><c r=\"A9\"><v>1.2345678901234567E-3</v></c>"
              "<c r=\"B9\"><v>123456789012345678</v></c></row>"));
  const Sheet sheet = read_xlsx(zip.bytes());
  EXPECT_EQ(sheet.name, "资产");
  EXPECT_EQ(sheet.header, (std::vector<std::string>{"资产编号", "名称", "", "备注"}));
  EXPECT_EQ(sheet.rows, (Rows{
                            {"", "", "", ""},
                            {"line1\r\nline2", "0.3", "TRUE", "cached"},
                            {"", "", "", ""},
                            {"", "", "", ""},
                            {"", "", "", ""},
                            {"", "#N/A", "45292", ""},  // dates stay serial numbers
                            {"abcd", "  前导空格 & <tag>", "3", "FALSE"},
                            {"0.00123456789012346", "123456789012345678", "", ""},
                        }));
}

TEST(TabularXlsx, ZipBombRefusedQuicklyInLittleMemory) {
  ZipBuilder zip;
  add_minimal_package(zip, true);
  zip.add("xl/worksheets/sheet1.xml", worksheet_xml("<row r=\"1\"><c t=\"s\"><v>0</v></c></row>"));
  zip.add_filled("xl/sharedStrings.xml", "<sst xmlns=\"" + std::string(kMainNs) + "\"><si><t>", ' ',
                 std::size_t{200} << 20, "</t></si></sst>");
  const std::string bomb = zip.bytes();
  ASSERT_LT(bomb.size(), std::size_t{2} << 20);  // 200 MiB in well under 2 MiB

  const long rss_before = max_rss_kib();
  const auto start = std::chrono::steady_clock::now();
  TabularError e = expect_refusal([&] { read_xlsx(bomb); });
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(e.kind(), ErrorKind::too_large);
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  EXPECT_LT(max_rss_kib() - rss_before, 64 * 1024);

  // Same bomb with its declared sizes forged small: inflating stops at the declared size and
  // the entry is refused.
  std::string forged = bomb;
  for (std::size_t at = 0; (at = forged.find("xl/sharedStrings.xml", at)) != std::string::npos;
       ++at) {
    std::uint32_t small = 4096;
    if (at >= 46 && forged.compare(at - 46, 4, "PK\x01\x02") == 0) {
      std::memcpy(&forged[at - 46 + 24], &small, 4);  // central directory
    } else if (at >= 30 && forged.compare(at - 30, 4, "PK\x03\x04") == 0) {
      std::memcpy(&forged[at - 30 + 22], &small, 4);  // local header
    }
  }
  EXPECT_THROW(read_xlsx(forged), TabularError);

  // The budget is for all parts together.
  ReadLimits limits;
  limits.max_uncompressed_bytes = 1 << 20;
  ZipBuilder two;
  add_minimal_package(two, true);
  two.add_filled("xl/worksheets/sheet1.xml",
                 "<worksheet xmlns=\"" + std::string(kMainNs) + "\"><sheetData/>", ' ', 600 << 10,
                 "</worksheet>");
  two.add_filled("xl/sharedStrings.xml", "<sst xmlns=\"" + std::string(kMainNs) + "\">", ' ',
                 600 << 10, "</sst>");
  EXPECT_EQ(expect_refusal([&] { read_xlsx(two.bytes(), limits); }).kind(), ErrorKind::too_large);
}

TEST(TabularXlsx, DoctypeAndEntitiesRefused) {
  const std::string xxe = minimal_xlsx(
      "<?xml version=\"1.0\"?><!DOCTYPE worksheet [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
      "<worksheet xmlns=\"" +
      std::string(kMainNs) +
      "\"><sheetData><row r=\"1\">"
      "<c r=\"A1\" t=\"inlineStr\"><is><t>&x;</t></is></c></row></sheetData></worksheet>");
  TabularError e = expect_refusal([&] { read_xlsx(xxe); });
  EXPECT_NE(std::string(e.what()).find("DOCTYPE"), std::string::npos) << e.what();

  const std::string laughs = minimal_xlsx(
      worksheet_xml("<row r=\"1\"><c t=\"s\"><v>0</v></c></row>"),
      "<?xml version=\"1.0\"?><!DOCTYPE sst [<!ENTITY a \"aaaaaaaaaa\">"
      "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
      "<sst xmlns=\"" +
          std::string(kMainNs) + "\"><si><t>&c;</t></si></sst>");
  EXPECT_NE(std::string(expect_refusal([&] { read_xlsx(laughs); }).what()).find("DOCTYPE"),
            std::string::npos);
}

TEST(TabularXlsx, GarbageAndUnsupportedRefused) {
  EXPECT_THROW(read_xlsx(""), TabularError);
  EXPECT_THROW(read_xlsx("this is not a zip at all"), TabularError);
  std::string noise = "PK\x03\x04";
  for (int i = 0; i < 5000; ++i) noise += static_cast<char>((i * 7919 + 13) % 251);
  EXPECT_EQ(expect_refusal([&] { read_any(noise); }).kind(), ErrorKind::malformed);
  // Truncated zip.
  const std::string good = write_xlsx({Sheet{"s", {"a"}, {{"1"}}}});
  EXPECT_THROW(read_xlsx(good.substr(0, good.size() / 2)), TabularError);

  // A zip without a workbook.
  ZipBuilder docx;
  docx.add("word/document.xml", "<document/>");
  EXPECT_NE(std::string(expect_refusal([&] { read_xlsx(docx.bytes()); }).what()).find("workbook"),
            std::string::npos);
  // OLE2: legacy .xls or an encrypted .xlsx.
  std::string ole("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
  ole += std::string(512, '\0');
  EXPECT_EQ(expect_refusal([&] { read_any(ole); }).kind(), ErrorKind::unsupported);
  // Binary data given to the CSV reader.
  EXPECT_THROW(read_any(std::string("\x01\x02\x00\x03", 4)), TabularError);
}

TEST(TabularXlsx, LimitsRefuse) {
  ReadLimits limits;
  limits.max_rows = 2;
  limits.max_columns = 3;
  limits.max_cell_bytes = 10;
  limits.max_xml_depth = 8;
  const auto cell = [](const std::string& ref, const std::string& v) {
    return "<c r=\"" + ref + "\" t=\"inlineStr\"><is><t>" + v + "</t></is></c>";
  };
  EXPECT_NO_THROW(read_xlsx(
      minimal_xlsx(worksheet_xml("<row r=\"1\">" + cell("A1", "h") + "</row><row r=\"3\">" +
                                 cell("C3", "x") + "<c r=\"XFD3\" s=\"1\"/></row>")),
      limits));
  TabularError rows = expect_refusal([&] {
    read_xlsx(minimal_xlsx(worksheet_xml("<row r=\"1048576\">" + cell("A1048576", "x") + "</row>")),
              limits);
  });
  EXPECT_EQ(rows.kind(), ErrorKind::too_large);
  EXPECT_EQ(rows.row(), 1048576u);
  TabularError cols = expect_refusal([&] {
    read_xlsx(minimal_xlsx(worksheet_xml("<row r=\"1\">" + cell("D1", "x") + "</row>")), limits);
  });
  EXPECT_EQ(cols.column(), 4u);
  TabularError big = expect_refusal([&] {
    read_xlsx(
        minimal_xlsx(worksheet_xml("<row r=\"2\">" + cell("B2", std::string(50, 'Z')) + "</row>")),
        limits);
  });
  EXPECT_EQ(big.kind(), ErrorKind::too_large);
  EXPECT_EQ(std::string(big.what()).find("ZZZ"), std::string::npos);
  std::string deep;
  for (int i = 0; i < 20; ++i) deep += "<x>";
  for (int i = 0; i < 20; ++i) deep += "</x>";
  EXPECT_EQ(expect_refusal([&] {
              read_xlsx(minimal_xlsx("<worksheet xmlns=\"" + std::string(kMainNs) + "\">" + deep +
                                     "</worksheet>"),
                        limits);
            }).kind(),
            ErrorKind::too_large);
  EXPECT_THROW(read_xlsx(minimal_xlsx(worksheet_xml("<row r=\"1\"><c r=\"1A\"/></row>"))),
               TabularError);
  EXPECT_THROW(
      read_xlsx(minimal_xlsx(worksheet_xml("<row r=\"1\"><c r=\"A1\" t=\"s\"><v>5</v></c></row>"))),
      TabularError);
}

TEST(TabularXlsx, StreamingFileWriter) {
  const std::string path = fresh_path("tabular-test-stream");
  {
    XlsxFileWriter writer;
    writer.open(path, "大量数据", "admin 导出 2024-05-01");
    writer.header({"编号", "名称", "金额"});
    for (int i = 0; i < 20000; ++i) {
      writer.row({std::to_string(i + 1), "设备" + std::to_string(i), i % 2 ? "" : "0.5"});
    }
    writer.close();
  }
  const Sheet back = read_xlsx(slurp(path));
  ::unlink(path.c_str());
  EXPECT_EQ(back.name, "大量数据");
  EXPECT_EQ(back.header, (std::vector<std::string>{"编号", "名称", "金额"}));
  ASSERT_EQ(back.rows.size(), 20001u);
  EXPECT_EQ(back.rows[0], (std::vector<std::string>{"1", "设备0", "0.5"}));
  EXPECT_EQ(back.rows[19999], (std::vector<std::string>{"20000", "设备19999", ""}));
  EXPECT_EQ(back.rows.back()[0], std::string(kWatermarkPrefix) + "admin 导出 2024-05-01");

  // Abandoned before close(): nothing is written.
  const std::string abandoned = fresh_path("tabular-test-abandon");
  {
    XlsxFileWriter writer;
    writer.open(abandoned, "s");
    writer.row({"1"});
  }
  EXPECT_NE(::access(abandoned.c_str(), F_OK), 0);
  const std::filesystem::path dir = std::filesystem::path(abandoned).parent_path();
  const std::string stem = std::filesystem::path(abandoned).filename().string();
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    EXPECT_FALSE(entry.path().filename().string().starts_with(stem)) << entry.path();
  }
}

// --- Mapping --------------------------------------------------------------------------------

std::vector<Column> asset_columns() {
  return {
      {"asset_tag", "资产编号", "Asset tag", {"Asset Tag", "资产标签"}, true},
      {"name", "名称", "Name", {"Item Name"}, true},
      {"serial", "序列号", "Serial number", {"Serial"}},
      {"department", "使用科室", "Department", {}, true},
      {"cost", "原值（元）", "Purchase cost", {}},
  };
}

TEST(TabularColumns, MapsZhEnAliasAndReports) {
  const auto columns = asset_columns();
  const Mapping m = map_columns(
      {" ASSET TAG ", "名称*", "serial_number", "备注", "", "原值(元)", "资产编号"}, columns);
  EXPECT_EQ(m.index_of_key, (std::vector<int>{0, 1, 2, -1, 5}));
  EXPECT_EQ(m.unknown_headers, (std::vector<std::string>{"备注"}));
  EXPECT_EQ(m.missing_required, (std::vector<std::string>{"department"}));
  EXPECT_EQ(m.duplicate_headers, (std::vector<std::string>{"资产编号"}));

  const Mapping zh = map_columns({"使用科室", "资产编号", "名称"}, columns);
  EXPECT_EQ(zh.index_of_key, (std::vector<int>{1, 2, -1, 0, -1}));
  EXPECT_TRUE(zh.missing_required.empty());
  EXPECT_TRUE(zh.unknown_headers.empty());

  const Mapping en_and_bilingual =
      map_columns({"Item Name", "Department", "资产编号\nAsset tag", "asset_tag_x"}, columns);
  EXPECT_EQ(en_and_bilingual.index_of_key, (std::vector<int>{2, 0, -1, 1, -1}));
  EXPECT_EQ(en_and_bilingual.unknown_headers, (std::vector<std::string>{"asset_tag_x"}));

  const std::vector<std::string> row = {"A-001", "监护仪"};
  EXPECT_EQ(cell_at(row, m.index_of_key[0]), "A-001");
  EXPECT_EQ(cell_at(row, m.index_of_key[3]), "");
  EXPECT_EQ(cell_at(row, 7), "");
}

TEST(TabularColumns, TemplateUsesChineseHeadersAndMapsBack) {
  const auto columns = asset_columns();
  const Sheet t = template_sheet("资产导入模板", columns);
  EXPECT_EQ(t.name, "资产导入模板");
  EXPECT_EQ(t.header,
            (std::vector<std::string>{"资产编号", "名称", "序列号", "使用科室", "原值（元）"}));
  EXPECT_TRUE(t.rows.empty());
  const Sheet back = read_xlsx(write_xlsx({t}));
  const Mapping m = map_columns(back.header, columns);
  EXPECT_EQ(m.index_of_key, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(TabularDetect, ByContentNotName) {
  EXPECT_EQ(detect("PK\x03\x04rest"), Format::xlsx);
  EXPECT_EQ(detect(std::string("PK\x05\x06", 4) + std::string(18, '\0')), Format::xlsx);
  EXPECT_EQ(detect("a,b\r\n"), Format::csv);
  EXPECT_EQ(detect(""), Format::csv);
  EXPECT_EQ(read_any("\xEF\xBB\xBF"
                     "编号\r\n1\r\n")
                .rows,
            (Rows{{"1"}}));
}

}  // namespace
}  // namespace custos::tabular
