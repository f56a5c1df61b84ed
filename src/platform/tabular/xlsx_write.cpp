// XLSX writers on libxlsxwriter: write_xlsx (whole workbook, built in a mkstemp file under
// $TMPDIR and read back) and XlsxFileWriter (constant_memory streaming to a path). Both share the
// look: bold header with a light fill, autofilter, frozen first row, fitted column widths, and
// the watermark in the footer, the document properties and a final row.
#include <unistd.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "platform/tabular/internal.h"
#include "platform/tabular/tabular.h"

namespace custos::tabular {
namespace {

using detail::fail;

constexpr std::size_t kExcelMaxChars = 32767;
constexpr std::size_t kWidthSampleRows = 2000;  // rows looked at to fit column widths

std::string temp_dir() {
  const char* dir = std::getenv("TMPDIR");
  return (dir != nullptr && *dir != '\0') ? dir : "/tmp";
}

[[noreturn]] void library_error(lxw_error err, std::size_t row = 0, std::size_t column = 0) {
  const ErrorKind kind =
      (err == LXW_ERROR_MAX_STRING_LENGTH_EXCEEDED || err == LXW_ERROR_WORKSHEET_INDEX_OUT_OF_RANGE)
          ? ErrorKind::too_large
          : ErrorKind::malformed;
  fail(kind, std::string("XLSX writer: ") + lxw_strerror(err), row, column);
}

// OOXML reads "_xHHHH_" as an escaped character, so a literal one is written as "_x005F_xHHHH_".
std::string escape_underscore_x(std::string s) {
  std::size_t at = s.find("_x");
  while (at != std::string::npos) {
    bool looks_escaped = at + 7 <= s.size() && s[at + 6] == '_';
    for (std::size_t k = 2; looks_escaped && k < 6; ++k) {
      looks_escaped = std::isxdigit(static_cast<unsigned char>(s[at + k])) != 0;
    }
    if (looks_escaped) {
      s.insert(at + 1, "x005F_");
      at = s.find("_x", at + 13);
    } else {
      at = s.find("_x", at + 2);
    }
  }
  return s;
}

std::size_t utf16_units(std::string_view s) {
  std::size_t units = 0;
  std::uint32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = detail::utf8_sequence(s, i, &cp);
    if (n == 0) n = 1, cp = 0xFFFD;
    units += cp > 0xFFFF ? 2 : 1;
    i += n;
  }
  return units;
}

// Cuts s to at most `max_units` UTF-16 units on a code point boundary.
std::string cut_utf16(std::string_view s, std::size_t max_units) {
  std::size_t units = 0;
  std::uint32_t cp;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t n = detail::utf8_sequence(s, i, &cp);
    if (n == 0) n = 1, cp = 0xFFFD;
    const std::size_t u = cp > 0xFFFF ? 2 : 1;
    if (units + u > max_units) break;
    units += u;
    i += n;
  }
  return std::string(s.substr(0, i));
}

std::string ascii_lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// Excel's rules: 1–31 UTF-16 units, none of []:*?/\, no apostrophe at either end, not
// "History", unique ignoring case.
std::string excel_sheet_name(std::string_view wanted, std::vector<std::string>& used) {
  std::string name = detail::sanitize_utf8(wanted);
  for (char& c : name) {
    if (std::string_view("[]:*?/\\").find(c) != std::string_view::npos ||
        static_cast<unsigned char>(c) < 0x20) {
      c = '_';
    }
  }
  while (!name.empty() && name.front() == '\'') name.erase(0, 1);
  name = cut_utf16(name, 31);
  while (!name.empty() && name.back() == '\'') name.pop_back();
  if (name.empty()) name = "Sheet" + std::to_string(used.size() + 1);
  if (ascii_lower(name) == "history") name += "_";
  const auto taken = [&](const std::string& n) {
    return std::find(used.begin(), used.end(), ascii_lower(n)) != used.end();
  };
  std::string unique = name;
  for (int k = 2; taken(unique); ++k) {
    const std::string suffix = " (" + std::to_string(k) + ")";
    unique = cut_utf16(name, 31 - suffix.size()) + suffix;
  }
  used.push_back(ascii_lower(unique));
  return unique;
}

// Page footer: the watermark on the left, page numbers on the right, within Excel's 255
// characters ("&" doubled, as header/footer codes start with it).
std::string footer_text(std::string_view watermark) {
  const std::string tail = "&R&P / &N";
  std::string out = "&L";
  std::uint32_t cp;
  for (std::size_t i = 0; i < watermark.size();) {
    std::size_t n = detail::utf8_sequence(watermark, i, &cp);
    std::string piece;
    if (n == 0) {
      n = 1;
      piece = "\xEF\xBF\xBD";
    } else if (cp == '&') {
      piece = "&&";
    } else if (cp < 0x20) {
      piece = " ";
    } else {
      piece = std::string(watermark.substr(i, n));
    }
    if (out.size() + piece.size() + tail.size() > LXW_HEADER_FOOTER_MAX) break;
    out += piece;
    i += n;
  }
  return out + tail;
}

void set_properties(lxw_workbook* wb, const WriteOptions& options) {
  std::string title = detail::sanitize_utf8(options.title);
  std::string author = detail::sanitize_utf8(options.author);
  std::string comments = detail::sanitize_utf8(options.watermark);
  lxw_doc_properties props{};
  props.title = title.empty() ? nullptr : title.data();
  props.author = author.empty() ? nullptr : author.data();
  props.comments = comments.empty() ? nullptr : comments.data();
  if (const lxw_error err = workbook_set_properties(wb, &props)) library_error(err);
  if (!comments.empty()) {
    if (const lxw_error err =
            workbook_set_custom_property_string(wb, "CustosWatermark", comments.c_str())) {
      library_error(err);
    }
  }
}

struct Formats {
  lxw_format* header;
  lxw_format* watermark;
};

Formats add_formats(lxw_workbook* wb) {
  Formats f{workbook_add_format(wb), workbook_add_format(wb)};
  format_set_bold(f.header);
  format_set_pattern(f.header, LXW_PATTERN_SOLID);
  format_set_bg_color(f.header, 0xDDEBF7);  // light blue
  format_set_border(f.header, LXW_BORDER_THIN);
  format_set_border_color(f.header, 0xBFBFBF);
  format_set_italic(f.watermark);
  format_set_font_color(f.watermark, 0x808080);
  return f;
}

// One worksheet being written, row by row.
class SheetWriter {
 public:
  SheetWriter(lxw_worksheet* ws, const Formats& formats, const WriteOptions& options)
      : ws_(ws), formats_(formats), detect_numbers_(options.detect_numbers) {
    worksheet_freeze_panes(ws_, 1, 0);
    if (!options.watermark.empty()) {
      const std::string footer = footer_text(detail::sanitize_utf8(options.watermark));
      if (const lxw_error err = worksheet_set_footer(ws_, footer.c_str())) library_error(err);
    }
  }

  void header(const std::vector<std::string>& cells) {
    columns_ = std::max(columns_, cells.size());
    has_header_ = true;
    write(0, cells, formats_.header, false);
    next_row_ = 1;
  }

  void row(const std::vector<std::string>& cells) {
    if (next_row_ == 0) next_row_ = 1;  // no header: row 1 stays empty
    write(next_row_, cells, nullptr, detect_numbers_);
    ++next_row_;
  }

  void finish(const std::string& watermark) {
    const std::size_t last_data_row = next_row_ == 0 ? 0 : next_row_ - 1;
    if (has_header_ && columns_ > 0) {
      const lxw_error err = worksheet_autofilter(
          ws_, 0, 0, static_cast<lxw_row_t>(last_data_row),
          static_cast<lxw_col_t>(std::min<std::size_t>(columns_, LXW_COL_MAX) - 1));
      if (err) library_error(err);
    }
    if (!watermark.empty()) {
      if (next_row_ == 0) next_row_ = 1;
      write(next_row_, watermark_row(watermark), formats_.watermark, false, false);
      ++next_row_;
    }
    for (std::size_t c = 0; c < widths_.size(); ++c) {
      const double width = static_cast<double>(std::clamp<std::size_t>(widths_[c] + 2, 8, 60));
      worksheet_set_column(ws_, static_cast<lxw_col_t>(c), static_cast<lxw_col_t>(c), width,
                           nullptr);
    }
  }

 private:
  void write(std::size_t row, const std::vector<std::string>& cells, lxw_format* format,
             bool numbers, bool fit = true) {
    if (row >= LXW_ROW_MAX) {
      fail(ErrorKind::too_large, "more rows than Excel's 1048576", row + 1);
    }
    if (cells.size() > LXW_COL_MAX) {
      fail(ErrorKind::too_large, "more columns than Excel's 16384", row + 1);
    }
    if (row > 0) columns_ = std::max(columns_, cells.size());
    const bool sample = fit && row <= kWidthSampleRows;
    if (sample && widths_.size() < cells.size()) widths_.resize(cells.size());
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::string& cell = cells[c];
      if (cell.empty()) {
        if (format != nullptr) {  // keep the header's fill across empty header cells
          worksheet_write_blank(ws_, static_cast<lxw_row_t>(row), static_cast<lxw_col_t>(c),
                                format);
        }
        continue;
      }
      if (sample) widths_[c] = std::max(widths_[c], detail::display_width(cell));
      lxw_error err;
      if (numbers && detail::is_plain_number(cell)) {
        double v = 0;
        std::from_chars(cell.data(), cell.data() + cell.size(), v);
        err = worksheet_write_number(ws_, static_cast<lxw_row_t>(row), static_cast<lxw_col_t>(c), v,
                                     format);
      } else {
        const std::string text = escape_underscore_x(detail::sanitize_utf8(cell));
        if (utf16_units(text) > kExcelMaxChars) {
          fail(ErrorKind::too_large, "cell is longer than Excel's 32767 characters", row + 1,
               c + 1);
        }
        err = worksheet_write_string(ws_, static_cast<lxw_row_t>(row), static_cast<lxw_col_t>(c),
                                     text.c_str(), format);
      }
      if (err) library_error(err, row + 1, c + 1);
    }
  }

  lxw_worksheet* ws_;
  Formats formats_;
  bool detect_numbers_;
  std::size_t next_row_ = 0;
  std::size_t columns_ = 0;
  bool has_header_ = false;
  std::vector<std::size_t> widths_;
};

// A mkstemp file that is removed when this goes out of scope.
struct TempFile {
  std::string path;
  TempFile() {
    path = temp_dir() + "/custos-xlsx-XXXXXX";
    const int fd = mkstemp(path.data());
    if (fd < 0) throw std::runtime_error("cannot create a temporary file in " + temp_dir());
    ::close(fd);
  }
  ~TempFile() { ::unlink(path.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

}  // namespace

std::string write_xlsx(const std::vector<Sheet>& sheets, const WriteOptions& options) {
  TempFile file;
  std::string tmpdir = temp_dir();
  lxw_workbook_options wb_options{};
  wb_options.constant_memory = LXW_FALSE;
  wb_options.tmpdir = tmpdir.data();
  lxw_workbook* wb = workbook_new_opt(file.path.c_str(), &wb_options);
  if (wb == nullptr) throw std::runtime_error("libxlsxwriter cannot create a workbook");
  struct Guard {
    lxw_workbook* wb;
    ~Guard() {
      if (wb != nullptr) workbook_close(wb);  // on error: frees everything; the file is removed
    }
  } guard{wb};

  set_properties(wb, options);
  const Formats formats = add_formats(wb);
  std::vector<std::string> used_names;
  const std::vector<Sheet> placeholder{Sheet{}};
  for (const Sheet& sheet : sheets.empty() ? placeholder : sheets) {
    const std::string name = excel_sheet_name(sheet.name, used_names);
    lxw_worksheet* ws = workbook_add_worksheet(wb, name.c_str());
    if (ws == nullptr) throw std::runtime_error("libxlsxwriter cannot add a worksheet");
    SheetWriter writer(ws, formats, options);
    if (!sheet.header.empty()) writer.header(sheet.header);
    for (const auto& row : sheet.rows) writer.row(row);
    writer.finish(options.watermark);
  }
  guard.wb = nullptr;
  if (const lxw_error err = workbook_close(wb)) library_error(err);

  std::ifstream in(file.path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read back the temporary XLSX file");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct XlsxFileWriter::Impl {
  lxw_workbook* wb = nullptr;
  std::string path;       // where close() publishes the file
  std::string part_path;  // what libxlsxwriter writes: a mkstemp name beside `path`
  std::string tmpdir;
  std::string watermark;
  std::unique_ptr<SheetWriter> sheet;
  bool wrote_row = false;
  bool wrote_header = false;

  // Closes the workbook (which also releases constant_memory's temp files; lxw_workbook_free
  // would leak them) and removes the partial file.
  void discard() {
    if (wb == nullptr) return;
    sheet.reset();
    workbook_close(wb);
    wb = nullptr;
    ::unlink(part_path.c_str());
  }
};

XlsxFileWriter::XlsxFileWriter() : impl_(std::make_unique<Impl>()) {}

XlsxFileWriter::~XlsxFileWriter() {
  impl_->discard();
}

void XlsxFileWriter::open(const std::string& path, const std::string& sheet_name,
                          const std::string& watermark) {
  WriteOptions options;
  options.watermark = watermark;
  open(path, sheet_name, options);
}

void XlsxFileWriter::open(const std::string& path, const std::string& sheet_name,
                          const WriteOptions& options) {
  if (impl_->wb != nullptr) throw std::logic_error("XlsxFileWriter::open() twice");
  impl_->path = path;
  impl_->part_path = path + ".part-XXXXXX";
  const int fd = mkstemp(impl_->part_path.data());
  if (fd < 0) throw std::runtime_error("cannot create a file beside the XLSX output path");
  ::close(fd);
  impl_->tmpdir = temp_dir();
  lxw_workbook_options wb_options{};
  wb_options.constant_memory = LXW_TRUE;
  wb_options.tmpdir = impl_->tmpdir.data();
  impl_->wb = workbook_new_opt(impl_->part_path.c_str(), &wb_options);
  if (impl_->wb == nullptr) {
    ::unlink(impl_->part_path.c_str());
    throw std::runtime_error("libxlsxwriter cannot create a workbook");
  }
  try {
    set_properties(impl_->wb, options);
    const Formats formats = add_formats(impl_->wb);
    std::vector<std::string> used_names;
    const std::string name = excel_sheet_name(sheet_name, used_names);
    lxw_worksheet* ws = workbook_add_worksheet(impl_->wb, name.c_str());
    if (ws == nullptr) throw std::runtime_error("libxlsxwriter cannot add a worksheet");
    impl_->sheet = std::make_unique<SheetWriter>(ws, formats, options);
  } catch (...) {
    impl_->discard();
    throw;
  }
  impl_->watermark = options.watermark;
  impl_->wrote_row = impl_->wrote_header = false;
}

void XlsxFileWriter::header(const std::vector<std::string>& cells) {
  if (impl_->wb == nullptr) throw std::logic_error("XlsxFileWriter::header() before open()");
  if (impl_->wrote_row || impl_->wrote_header) {
    throw std::logic_error("XlsxFileWriter::header() after the first row");
  }
  impl_->sheet->header(cells);
  impl_->wrote_header = true;
}

void XlsxFileWriter::row(const std::vector<std::string>& cells) {
  if (impl_->wb == nullptr) throw std::logic_error("XlsxFileWriter::row() before open()");
  impl_->sheet->row(cells);
  impl_->wrote_row = true;
}

void XlsxFileWriter::close() {
  if (impl_->wb == nullptr) throw std::logic_error("XlsxFileWriter::close() before open()");
  try {
    impl_->sheet->finish(impl_->watermark);
  } catch (...) {
    impl_->discard();
    throw;
  }
  impl_->sheet.reset();
  lxw_workbook* wb = impl_->wb;
  impl_->wb = nullptr;
  const lxw_error err = workbook_close(wb);
  if (err != LXW_NO_ERROR || std::rename(impl_->part_path.c_str(), impl_->path.c_str()) != 0) {
    ::unlink(impl_->part_path.c_str());
    if (err != LXW_NO_ERROR) library_error(err);
    throw std::runtime_error("cannot move the finished XLSX file into place");
  }
}

}  // namespace custos::tabular
