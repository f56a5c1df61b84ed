// CSV: the RFC 4180 reader (UTF-8 or GB18030 input, limits enforced while parsing), the writer
// (UTF-8 with BOM, CRLF, formula-injection guard) and the streaming writer.
#include <iconv.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "platform/tabular/internal.h"
#include "platform/tabular/tabular.h"

namespace custos::tabular {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// What Excel on Chinese Windows saves as "CSV" is GB18030 (code page 936, of which GB18030 is a
// superset), so anything that is not UTF-8 is taken to be that.
std::string gb18030_to_utf8(std::string_view in) {
  iconv_t cd = iconv_open("UTF-8", "GB18030");
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    detail::fail(ErrorKind::unsupported, "text is not UTF-8 and GB18030 decoding is unavailable");
  }
  std::string out(in.size() + in.size() / 2 + 16, '\0');
  char* src = const_cast<char*>(in.data());
  std::size_t src_left = in.size();
  std::size_t written = 0;
  while (src_left > 0) {
    char* dst = out.data() + written;
    std::size_t dst_left = out.size() - written;
    const std::size_t r = iconv(cd, &src, &src_left, &dst, &dst_left);
    written = out.size() - dst_left;
    if (r != static_cast<std::size_t>(-1)) break;
    if (errno == E2BIG) {
      out.resize(out.size() * 2);
      continue;
    }
    const std::size_t offset = in.size() - src_left;
    iconv_close(cd);
    detail::fail(ErrorKind::malformed, "text is neither UTF-8 nor GB18030 (bad byte at offset " +
                                           std::to_string(offset) + ")");
  }
  iconv_close(cd);
  out.resize(written);
  return out;
}

class CsvParser {
 public:
  CsvParser(std::string_view text, const ReadLimits& limits) : text_(text), limits_(limits) {}

  std::vector<std::vector<std::string>> parse() {
    const std::size_t n = text_.size();
    while (i_ < n) {
      for (;;) {
        read_field();
        if (i_ < n && text_[i_] == ',') {
          ++i_;
          continue;
        }
        break;
      }
      if (i_ < n && text_[i_] == '\r') ++i_;
      if (i_ < n && text_[i_] == '\n') ++i_;
      end_record();
    }
    return std::move(rows_);
  }

 private:
  void read_field() {
    const std::size_t n = text_.size();
    field_.clear();
    if (i_ < n && text_[i_] == '"') {
      const std::size_t opened_at = record_;
      ++i_;
      for (;;) {
        const std::size_t q = text_.find('"', i_);
        if (q == std::string_view::npos) {
          detail::fail(ErrorKind::malformed, "quoted field is never closed", opened_at, col_ + 1);
        }
        append(text_.substr(i_, q - i_));
        if (q + 1 < n && text_[q + 1] == '"') {
          append("\"");
          i_ = q + 2;
        } else {
          i_ = q + 1;
          break;
        }
      }
    }
    // Unquoted text, or (leniently, as Excel does) text after a closing quote.
    std::size_t end = text_.find_first_of(",\r\n", i_);
    if (end == std::string_view::npos) end = n;
    append(text_.substr(i_, end - i_));
    i_ = end;
    add_field();
  }

  void append(std::string_view chunk) {
    if (field_.size() + chunk.size() > limits_.max_cell_bytes) {
      detail::fail(ErrorKind::too_large,
                   "cell is longer than " + std::to_string(limits_.max_cell_bytes) + " bytes",
                   record_, col_ + 1);
    }
    field_.append(chunk);
  }

  void add_field() {
    ++col_;
    if (col_ > limits_.max_columns) {
      if (field_.empty()) return;  // empty cells past the limit are harmless
      detail::fail(ErrorKind::too_large,
                   "more than " + std::to_string(limits_.max_columns) + " columns", record_, col_);
    }
    if (!field_.empty()) row_empty_ = false;
    row_.push_back(std::move(field_));
    field_ = std::string();
  }

  void end_record() {
    if (rows_.empty()) {
      rows_.push_back(std::move(row_));
    } else if (row_empty_) {
      ++pending_empty_;  // kept only if a non-empty row follows
    } else {
      const std::size_t data_rows = rows_.size() - 1 + pending_empty_ + 1;
      if (data_rows > limits_.max_rows) {
        detail::fail(ErrorKind::too_large,
                     "more than " + std::to_string(limits_.max_rows) + " data rows", record_);
      }
      cells_ += row_.size();
      if (cells_ > limits_.max_cells) {
        detail::fail(ErrorKind::too_large,
                     "more than " + std::to_string(limits_.max_cells) + " cells", record_);
      }
      for (; pending_empty_ > 0; --pending_empty_) rows_.emplace_back();
      rows_.push_back(std::move(row_));
    }
    row_ = {};
    row_empty_ = true;
    col_ = 0;
    ++record_;
  }

  std::string_view text_;
  const ReadLimits& limits_;
  std::size_t i_ = 0;
  std::size_t record_ = 1;  // 1-based, as the row number Excel shows
  std::size_t col_ = 0;     // fields seen in this record
  std::size_t pending_empty_ = 0;
  std::size_t cells_ = 0;
  bool row_empty_ = true;
  std::string field_;
  std::vector<std::string> row_;
  std::vector<std::vector<std::string>> rows_;
};

void append_line(std::string& out, const std::vector<std::string>& cells) {
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) out += ',';
    const std::string& cell = cells[i];
    const bool guard = detail::needs_formula_guard(cell);
    if (cell.find_first_of(",\"\r\n") == std::string::npos) {
      if (guard) out += '\'';
      out += cell;
      continue;
    }
    out += '"';
    if (guard) out += '\'';
    for (char c : cell) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
  out += "\r\n";
}

}  // namespace

Sheet read_csv(std::string_view bytes, const ReadLimits& limits) {
  if (bytes.starts_with("\xFF\xFE") || bytes.starts_with("\xFE\xFF")) {
    detail::fail(ErrorKind::unsupported,
                 "UTF-16 text (Excel \"Unicode Text\") is not supported; save as CSV UTF-8");
  }
  if (std::memchr(bytes.data(), '\0', bytes.size()) != nullptr) {
    detail::fail(ErrorKind::malformed, "binary data (NUL byte) is not CSV text");
  }
  if (bytes.starts_with(kBom)) bytes.remove_prefix(kBom.size());
  std::string decoded;
  std::string_view text = bytes;
  if (!detail::valid_utf8(text)) {
    decoded = gb18030_to_utf8(text);
    text = decoded;
    if (text.starts_with(kBom)) text.remove_prefix(kBom.size());  // GB18030's own BOM
  }
  return detail::finish_sheet({}, CsvParser(text, limits).parse(), limits);
}

std::string write_csv(const Sheet& sheet, const WriteOptions& options) {
  std::string out(kBom);
  if (sheet.header.empty() && sheet.rows.empty() && options.watermark.empty()) return out;
  append_line(out, sheet.header);
  for (const auto& row : sheet.rows) append_line(out, row);
  if (!options.watermark.empty()) append_line(out, watermark_row(options.watermark));
  return out;
}

CsvStreamWriter::CsvStreamWriter(std::function<void(std::string_view)> sink)
    : sink_(std::move(sink)) {}

void CsvStreamWriter::header(const std::vector<std::string>& cells) {
  if (started_) throw std::logic_error("CsvStreamWriter::header() after the first line");
  line(cells);
}

void CsvStreamWriter::row(const std::vector<std::string>& cells) {
  line(cells);
  ++rows_;
}

void CsvStreamWriter::watermark(std::string_view watermark) {
  line(watermark_row(watermark));
}

void CsvStreamWriter::line(const std::vector<std::string>& cells) {
  buffer_.clear();
  if (!started_) {
    buffer_ = kBom;
    started_ = true;
  }
  append_line(buffer_, cells);
  sink_(buffer_);
}

}  // namespace custos::tabular
