#include "platform/tabular/import.h"

#include <algorithm>

#include "platform/text/utf8.h"

namespace custos::tabular {

void ImportReport::add_error(std::size_t row, std::string column, ErrorCode code,
                             std::string message) {
  errors.push_back(
      {row, std::move(column), std::string(error_info(code).code), std::move(message)});
}

void ImportReport::count(ImportOutcome o) {
  if (o.action == "created") ++created;
  if (o.action == "updated") ++updated;
  if (o.action == "unchanged") ++unchanged;
  outcomes.push_back(std::move(o));
}

void ImportReport::discard_outcomes() {
  created = updated = unchanged = 0;
  outcomes.clear();
}

std::string trim_cell(std::string_view s) {
  auto space_at_start = [](std::string_view v) -> std::size_t {
    if (v.empty()) return 0;
    const char c = v.front();
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return 1;
    if (v.starts_with("\xC2\xA0")) return 2;
    if (v.starts_with("\xE3\x80\x80")) return 3;
    return 0;
  };
  auto space_at_end = [](std::string_view v) -> std::size_t {
    if (v.empty()) return 0;
    const char c = v.back();
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return 1;
    if (v.ends_with("\xC2\xA0")) return 2;
    if (v.ends_with("\xE3\x80\x80")) return 3;
    return 0;
  };
  while (std::size_t n = space_at_start(s)) s.remove_prefix(n);
  while (std::size_t n = space_at_end(s)) s.remove_suffix(n);
  return std::string(s);
}

std::optional<std::string> text_problem(const std::string& v, std::size_t max_chars,
                                        bool required) {
  if (required && v.empty()) return "required";
  if (text::utf8_length(v) > max_chars)
    return "at most " + std::to_string(max_chars) + " characters";
  return std::nullopt;
}

namespace {

bool has_control(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7F) return true;
  return false;
}

Error too_many_rows(std::size_t max_rows) {
  return Error(ErrorCode::payload_too_large, "body",
               "at most " + std::to_string(max_rows) + " data rows per file");
}

}  // namespace

Sheet read_import_file(std::string_view bytes, std::size_t max_rows) {
  ReadLimits limits;
  limits.max_rows = max_rows + 1;  // room for an export's watermark row
  try {
    return read_any(bytes, limits);
  } catch (const TabularError& e) {
    const std::string what = e.what();
    switch (e.kind()) {
      case ErrorKind::malformed:
        throw Error(ErrorCode::validation_failed, "body", what);
      case ErrorKind::too_large:
        if (what.find("data rows") != std::string::npos) throw too_many_rows(max_rows);
        throw Error(ErrorCode::payload_too_large, "body", what);
      case ErrorKind::unsupported:
        throw Error(ErrorCode::unsupported_media_type, "body", what);
    }
    throw;
  }
}

ImportSheet parse_import(const std::vector<Column>& cols, const Sheet& sheet, ImportReport& report,
                         std::size_t max_rows) {
  ImportSheet out;
  const Mapping m = map_columns(sheet.header, cols);
  for (const auto& h : m.unknown_headers)
    report.warnings.push_back({1, h, "", "unknown column, ignored"});
  for (const auto& h : m.duplicate_headers) {
    report.add_error(1, h, ErrorCode::validation_failed,
                     "a second column for the same field; keep one");
    out.header_ok = false;
  }
  for (const auto& key : m.missing_required) {
    const auto it =
        std::find_if(cols.begin(), cols.end(), [&](const Column& c) { return c.key == key; });
    report.add_error(1, key, ErrorCode::validation_failed,
                     "required column is missing (" + it->zh + " / " + it->en + ")");
    out.header_ok = false;
  }
  out.present.resize(cols.size());
  for (std::size_t i = 0; i < cols.size(); ++i) out.present[i] = m.index_of_key[i] >= 0;

  for (std::size_t i = 0; i < sheet.rows.size(); ++i) {
    const auto& row = sheet.rows[i];
    if (is_watermark_row(row)) continue;
    ImportLine line;
    line.row = i + 2;
    bool blank = true;
    for (std::size_t c = 0; c < cols.size(); ++c) {
      line.cells.push_back(trim_cell(cell_at(row, m.index_of_key[c])));
      if (!line.cells.back().empty()) blank = false;
    }
    if (blank) continue;  // an empty line in the middle of the sheet, or only unknown columns
    out.lines.push_back(std::move(line));
  }
  report.rows = out.lines.size();
  if (report.rows > max_rows) throw too_many_rows(max_rows);
  // Cells no rule can accept, whatever the column.
  for (auto& line : out.lines)
    for (std::size_t c = 0; c < cols.size(); ++c) {
      const std::string& v = line.cells[c];
      line.unreadable.push_back(!text::valid_utf8(v) || has_control(v));
      if (!line.unreadable.back()) continue;
      report.add_error(
          line.row, cols[c].key, ErrorCode::validation_failed,
          text::valid_utf8(v) ? "control characters are not allowed" : "not valid UTF-8");
      line.bad = true;
    }
  return out;
}

std::vector<Sheet> template_sheets(const std::string& sheet_name, const std::vector<Column>& cols,
                                   const std::vector<ColumnNote>& notes) {
  std::vector<Sheet> out;
  out.push_back(template_sheet(sheet_name, cols));
  Sheet help;
  help.name = "说明";
  help.header = {"key", "中文", "English", "required", "notes"};
  for (std::size_t i = 0; i < cols.size(); ++i)
    help.rows.push_back({cols[i].key, cols[i].zh, cols[i].en,
                         cols[i].required ? "必填 / required" : "选填 / optional",
                         i < notes.size() ? std::string(notes[i].zh) + "\n" + notes[i].en : ""});
  out.push_back(std::move(help));
  return out;
}

std::string template_file(const std::string& sheet_name, const std::string& title,
                          const std::vector<Column>& cols, const std::vector<ColumnNote>& notes,
                          Format format) {
  auto sheets = template_sheets(sheet_name, cols, notes);
  WriteOptions o;
  o.title = title;
  o.detect_numbers = false;
  if (format == Format::csv) return write_csv(sheets.front(), o);
  return write_xlsx(sheets, o);
}

}  // namespace custos::tabular
