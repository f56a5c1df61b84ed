// What every register's importer shares (departments, users, customers, service requests…):
// reading the uploaded file within limits, mapping its header to the register's columns,
// trimming cells, the report of errors, warnings and outcomes by spreadsheet row, and the
// download template with its 说明 sheet.
//
// Rules common to all importers:
//  * Format by content (read_any): CSV in UTF-8 (BOM or not) or GB18030, or XLSX. The watermark
//    row of our own exports and fully blank rows are skipped. More data rows than the register
//    allows throws Error(payload_too_large) naming the limit; a file that cannot be read throws
//    Error(validation_failed | payload_too_large | unsupported_media_type, "body").
//  * Headers match a column's key, zh-CN or English name (map_columns). Unknown headers are
//    warnings; a missing required column or a column given twice is an error on row 1, and then
//    no row is examined.
//  * Cells are trimmed of surrounding spaces (ASCII, no-break and full-width); cells with control
//    characters or bad UTF-8 are errors whatever the column.
//  * A real run with any error writes nothing, and its report then lists no outcomes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/errors/error.h"
#include "platform/tabular/tabular.h"

namespace custos::tabular {

// One finding. row: spreadsheet row (1 = header), 0 when about the whole file. column: the
// column key ("code", "employee_no"…) or, for an unknown or repeated header, the header text as
// found; empty when about the whole row. code: an ErrorCode name (validation_failed, forbidden,
// conflict); empty for warnings. message: English, never quoting more than a short excerpt.
struct ImportIssue {
  std::size_t row = 0;
  std::string column;
  std::string code;
  std::string message;
};

// What happened (or, in a dry run, would happen) to one data row without errors.
struct ImportOutcome {
  std::size_t row = 0;
  std::string key;                  // the row's key: a code, an employee number, an external key
  std::string action;               // "created", "updated", "unchanged"
  std::vector<std::string> fields;  // updated: the column keys whose value changes
};

struct ImportReport {
  bool dry_run = true;
  std::string register_name;  // "departments", "customers"…
  std::size_t rows = 0;       // data rows examined (watermark and blank rows not counted)
  std::size_t created = 0, updated = 0, unchanged = 0;
  std::vector<ImportIssue> errors, warnings;
  // The rows without errors. Counts and outcomes say what a dry run would do; after a real run
  // with errors they are zero and empty, since nothing was written.
  std::vector<ImportOutcome> outcomes;

  bool ok() const { return errors.empty(); }
  void add_error(std::size_t row, std::string column, ErrorCode code, std::string message);
  void count(ImportOutcome o);  // adds the outcome and counts its action
  void discard_outcomes();      // a real run that wrote nothing
};

// One data row of the file, its cells in the register's column order.
struct ImportLine {
  std::size_t row = 0;             // spreadsheet row
  std::vector<std::string> cells;  // trimmed; "" when the column is absent
  std::vector<bool> unreadable;    // per cell: bad UTF-8 or control characters (reported)
  bool bad = false;                // some cell of it has an error
};

struct ImportSheet {
  std::vector<bool> present;  // per column: the file has it
  std::vector<ImportLine> lines;
  bool header_ok = true;
};

// The uploaded file as a sheet; max_rows data rows at most (an export's watermark row allowed).
Sheet read_import_file(std::string_view bytes, std::size_t max_rows);

// The header mapped (warnings and row-1 errors into the report), the data rows trimmed, blank
// and watermark rows dropped, unreadable cells reported. report.rows is set.
ImportSheet parse_import(const std::vector<Column>& columns, const Sheet& sheet,
                         ImportReport& report, std::size_t max_rows);

// Surrounding ASCII white space, no-break spaces (U+00A0) and ideographic spaces (U+3000) go:
// spreadsheets are full of them and nobody means them.
std::string trim_cell(std::string_view s);

// "required" / "at most N characters", as the services say it; nullopt when fine.
std::optional<std::string> text_problem(const std::string& v, std::size_t max_chars, bool required);

// The download template: a sheet with the zh-CN header row and, for XLSX, a second sheet "说明"
// describing every column (key, 中文, English, required, notes). notes[i] belongs to
// columns[i].
struct ColumnNote {
  const char* zh;
  const char* en;
};
std::vector<Sheet> template_sheets(const std::string& sheet_name,
                                   const std::vector<Column>& columns,
                                   const std::vector<ColumnNote>& notes);
std::string template_file(const std::string& sheet_name, const std::string& title,
                          const std::vector<Column>& columns, const std::vector<ColumnNote>& notes,
                          Format format);

}  // namespace custos::tabular
