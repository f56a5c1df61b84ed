// Registers in and out of spreadsheets: reading and writing CSV and XLSX, mapping a sheet's
// header to an importer's fields, and the download template. Every module imports and exports
// its registers (departments, users, customers, assets…) through this, because Excel is how
// Chinese offices exchange them.
//
// Conventions shared by readers and writers:
//  * All text is UTF-8. The first row of a sheet is its header; `rows[i]` is spreadsheet row
//    (or CSV record) i + 2, so importers can name rows the way the user sees them.
//  * Readers never trim or reinterpret cell text. Data rows are padded with "" to the header's
//    width (they may be longer; extra cells are kept). Empty rows in the middle are kept (to
//    keep the numbering); fully empty rows at the end are dropped.
//  * XLSX numbers come back as text: integers as stored, fractions and exponent forms with at
//    most 15 significant digits, the precision Excel shows (a stored 0.30000000000000004 reads
//    as "0.3"). Dates are NOT converted: a date cell
//    reads as its serial day number ("45292" is 2024-01-01, "45292.5" is noon that day), since
//    the sheet XML alone cannot tell a date from a number. Booleans read as "TRUE"/"FALSE",
//    formulas as their cached result, error cells as their code ("#N/A").
//  * Writers defend against spreadsheet formula injection (OWASP "CSV injection"): in CSV a cell
//    starting with = + - @ tab or CR gets a leading apostrophe ('=1+1 shows as text), except a
//    plain negative number such as -12.5, which Excel cannot run. XLSX cells are always written
//    as typed string or number cells, never as formulas, so they need no apostrophe. Readers do
//    not strip apostrophes.
//  * Writers throw TabularError for content Excel cannot hold (a cell over 32767 characters,
//    more than 1048576 rows) and std::runtime_error when a temp file cannot be written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace custos::tabular {

// A table: header row + data rows of UTF-8 strings.
struct Sheet {
  std::string name;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

enum class Format { csv, xlsx };

// Detects by content, not by file name: a zip ("PK\x03\x04", or an empty zip) is xlsx, anything
// else is csv.
Format detect(std::string_view bytes);

// Why a file was refused, for the caller's choice of HTTP status: `malformed` (422), `too_large`
// (a ReadLimits bound or an Excel bound was hit: 413) or `unsupported` (encrypted, legacy .xls,
// UTF-16 text, an unknown compression: 415).
enum class ErrorKind { malformed, too_large, unsupported };

// The message is English, names the row and column when one is at fault, and never quotes more
// than 40 bytes of what the file contained. row() and column() are 1-based as in the
// spreadsheet (the header is row 1); 0 when not about one cell.
class TabularError : public std::runtime_error {
 public:
  TabularError(ErrorKind kind, const std::string& message, std::size_t row = 0,
               std::size_t column = 0);
  ErrorKind kind() const noexcept { return kind_; }
  std::size_t row() const noexcept { return row_; }
  std::size_t column() const noexcept { return column_; }

 private:
  ErrorKind kind_;
  std::size_t row_;
  std::size_t column_;
};

// Bounds that protect the server from hostile or accidental uploads. Exceeding one throws
// TabularError(ErrorKind::too_large) as soon as it is seen, before the memory is spent.
struct ReadLimits {
  std::size_t max_rows = 200000;       // data rows, header not counted
  std::size_t max_columns = 200;       // a non-empty cell past this column is refused
  std::size_t max_cells = 10'000'000;  // rows × columns after padding (memory: ~32 B per cell)
  std::size_t max_cell_bytes = 32 * 1024;
  // XLSX: total bytes inflated from the zip (declared sizes are checked before inflating and
  // actual sizes while inflating, so a zip bomb is refused early and in constant memory).
  std::uint64_t max_uncompressed_bytes = 100ull * 1024 * 1024;
  std::size_t max_zip_entries = 10000;
  int max_xml_depth = 64;
};

// RFC 4180: quoted fields with "" escapes and embedded newlines, CRLF, LF or CR line ends.
// Strips a UTF-8 BOM. Bytes that are not valid UTF-8 are decoded as GB18030 (what Excel on
// Chinese Windows saves as "CSV"). Refuses NUL bytes (binary data) and UTF-16 text. Lenient like
// Excel: a quote inside an unquoted field is literal, text after a closing quote is appended.
Sheet read_csv(std::string_view bytes, const ReadLimits& limits = {});

// The first visible worksheet in workbook order (hidden sheets, e.g. lists behind drop-downs,
// are skipped). Shared strings including rich-text runs (phonetic runs excluded), inline
// strings, numbers, booleans, cached formula values; cell references place cells even when
// cells or rows are skipped; _xHHHH_ escapes decoded. Refuses: not a zip, no workbook,
// encrypted entries or files (OLE2 containers), compression other than deflate/stored, any XML
// DOCTYPE (so no XXE and no entity expansion), XML nested deeper than max_xml_depth, and
// anything beyond the limits.
Sheet read_xlsx(std::string_view bytes, const ReadLimits& limits = {});

// detect() then read_csv or read_xlsx; refuses legacy .xls and encrypted workbooks (OLE2) with
// a message telling the user to save as .xlsx.
Sheet read_any(std::string_view bytes, const ReadLimits& limits = {});

// The final row that exports add to record who exported, when and with which filter. Importers
// skip it with is_watermark_row().
inline constexpr std::string_view kWatermarkPrefix = "导出人/Exported by: ";
std::vector<std::string> watermark_row(std::string_view watermark);
bool is_watermark_row(const std::vector<std::string>& row);

struct WriteOptions {
  // Who exported, when, with which filter. Empty = none. When set it is written (a) in the page
  // footer of every sheet, (b) as the document's comments property (and a custom property
  // "CustosWatermark"), and (c) as a final row kWatermarkPrefix + watermark.
  std::string watermark;
  std::string author = "Custos";  // document property
  std::string title;              // document property; empty = none
  // XLSX: write a cell as a number when it is a plain decimal that reads back unchanged
  // (-?digits[.digits], no leading zeros, no trailing fractional zeros, ≤ 15 significant
  // digits, ≤ 11 integer digits so Excel shows it without exponent). Codes such as "007",
  // phone numbers with "+", ID numbers (18 digits) and "1.50" stay text.
  bool detect_numbers = true;
};

// UTF-8 with BOM (Excel on Chinese Windows then opens it correctly), CRLF, cells quoted when
// they hold , " CR or LF; formula injection neutralised (see above). A non-empty
// options.watermark adds the watermark row.
std::string write_csv(const Sheet& sheet, const WriteOptions& options = {});

// An .xlsx file with one worksheet per Sheet (names made valid and unique for Excel: at most 31
// characters, none of []:*?/\). Header row bold with a light fill, an autofilter and frozen;
// column widths fitted to content (CJK counts double). Builds everything in memory: for big
// exports use XlsxFileWriter.
std::string write_xlsx(const std::vector<Sheet>& sheets, const WriteOptions& options = {});

// Streaming CSV for big exports: constant memory, one sink call per line. The BOM goes out with
// the first line.
class CsvStreamWriter {
 public:
  explicit CsvStreamWriter(std::function<void(std::string_view)> sink);
  void header(const std::vector<std::string>& cells);  // at most once, before any row
  void row(const std::vector<std::string>& cells);
  void watermark(std::string_view watermark);  // the watermark row; call last
  std::size_t rows_written() const noexcept { return rows_; }

 private:
  void line(const std::vector<std::string>& cells);
  std::function<void(std::string_view)> sink_;
  std::string buffer_;
  std::size_t rows_ = 0;
  bool started_ = false;
};

// Streaming XLSX: libxlsxwriter's constant_memory mode (each row goes to a temp file in $TMPDIR
// as it is written), one worksheet, rows strictly in order. The file is built under a mkstemp
// name beside `path` and renamed into place by close(), so `path` is either absent or complete;
// destroying an unclosed writer discards everything.
class XlsxFileWriter {
 public:
  XlsxFileWriter();
  ~XlsxFileWriter();
  XlsxFileWriter(const XlsxFileWriter&) = delete;
  XlsxFileWriter& operator=(const XlsxFileWriter&) = delete;

  void open(const std::string& path, const std::string& sheet_name,
            const std::string& watermark = {});
  void open(const std::string& path, const std::string& sheet_name, const WriteOptions& options);
  void header(const std::vector<std::string>& cells);  // at most once, before any row
  void row(const std::vector<std::string>& cells);
  void close();  // writes the watermark row, column widths and the file

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Mapping a sheet's header to an importer's fields. Header cells match a column's key, zh, en or
// any alias after trimming (ASCII and full-width spaces), collapsing runs of spaces, treating
// '_' as a space, dropping '*' required-markers ("*姓名", "姓名*") and ignoring ASCII case.
struct Column {
  std::string key;                   // canonical field name, e.g. "asset_tag"
  std::string zh;                    // header in the template, e.g. "资产编号"
  std::string en;                    // e.g. "Asset tag"
  std::vector<std::string> aliases;  // e.g. Snipe-IT's "Asset Tag", old template names
  bool required = false;
};

struct Mapping {
  std::vector<int> index_of_key;  // per column, in `columns` order: header index or -1 if absent
  std::vector<std::string> unknown_headers;    // non-empty header cells matching no column
  std::vector<std::string> missing_required;   // keys of required columns not found
  std::vector<std::string> duplicate_headers;  // a second header cell for an already-mapped key
};

Mapping map_columns(const std::vector<std::string>& header, const std::vector<Column>& columns);

// The cell of `row` at `index` (from Mapping::index_of_key); "" for -1 or a short row.
std::string_view cell_at(const std::vector<std::string>& row, int index);

// Template for download: the zh-CN headers only (readers also accept en, keys and aliases).
Sheet template_sheet(const std::string& name, const std::vector<Column>& columns);

}  // namespace custos::tabular
