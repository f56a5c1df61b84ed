// Bulk import of the organisation's registers from CSV or XLSX (issue #3 item 1): departments
// keyed by their code and users keyed by their employee number (工号). A file is checked in full
// before anything is written and the report names every bad cell by spreadsheet row (the header
// is row 1) and column key, so an office can fix the sheet and upload it again.
//
// Rules, in the order they apply:
//  * Format by content (tabular::read_any): CSV in UTF-8 (BOM or not) or GB18030, or XLSX. The
//    watermark row of our own exports and fully blank rows are skipped. At most kMaxImportRows
//    data rows: more throws Error(payload_too_large) naming the limit; a file that cannot be
//    read throws Error(validation_failed | payload_too_large | unsupported_media_type, "body").
//  * Headers match a column's key, zh-CN or English name (tabular::map_columns). Unknown headers
//    are warnings; a missing required column or a column given twice is an error on row 1, and
//    then no row is examined.
//  * Cells are trimmed of surrounding spaces (ASCII, no-break and full-width). Control
//    characters are refused. Each cell is checked with the rules of OrgService and its messages.
//  * References resolve by code / employee number against the database and the file itself, in
//    any order (a child department may come before its parent, a manager after the report).
//  * Idempotent: an existing code / employee number is an update of the fields that differ;
//    a row that changes nothing is "unchanged" and is neither written nor audited. A column
//    that is absent from the file leaves that field alone; an empty optional cell clears it.
//    Identity fields cannot change through an import: a department's kind, a user's username.
//  * Authorization per row with authz::may, as OrgService decides it: departments:write on the
//    department and on its target parent; users:write on the user and on the target department.
//    A reference the caller may not read is "no such department".
//  * A real run writes every row in one transaction, or nothing when any row has an error. Each
//    created or updated object gets its own audit record (org.department.create/update,
//    org.user.create/update) and the run one summary record "org.import". A dry run only reads.
//  * Created users get a one-time random initial password and must change it at first login. It
//    appears once, in the report of the real run, and nowhere else (not in logs or audit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/authn/auth_service.h"
#include "platform/authz/authz.h"
#include "platform/clock.h"
#include "platform/privacy/mask.h"
#include "platform/storage/db.h"
#include "platform/tabular/tabular.h"

namespace custos::org {

enum class Register { departments, users };
std::string_view register_name(Register r);  // "departments", "users"

inline constexpr std::size_t kMaxImportRows = 10000;

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
  std::string key;                  // the department code or employee number
  std::string action;               // "created", "updated", "unchanged"
  std::vector<std::string> fields;  // updated: the column keys whose value changes
};

struct CreatedUser {
  std::string employee_no, username, initial_password;
};

struct ImportReport {
  bool dry_run = true;
  Register reg = Register::departments;
  std::size_t rows = 0;  // data rows examined (watermark and blank rows not counted)
  std::size_t created = 0, updated = 0, unchanged = 0;
  std::vector<ImportIssue> errors, warnings;
  // The rows without errors. Counts and outcomes say what a dry run would do; after a real run
  // with errors they are zero and empty, since nothing was written.
  std::vector<ImportOutcome> outcomes;
  std::vector<CreatedUser> created_users;  // real runs of the users register only
  bool ok() const { return errors.empty(); }
};

class OrgImporter {
 public:
  OrgImporter(db::Db& db, const Clock& clock, authn::AuthService& auth,
              const privacy::Masker& masker);

  // Throws Error(forbidden) when the caller holds the register's write permission at no scope,
  // and the file-level errors described above. Row-level problems are in the report.
  ImportReport run(const authz::Principal& p, const authn::Client& c, Register reg,
                   std::string_view file_bytes, bool dry_run);

  // The columns of a register, in template order.
  static const std::vector<tabular::Column>& columns(Register reg);
  // The download template: a sheet with the zh-CN header row and, for XLSX, a second sheet
  // "说明" describing every column (key, 中文, English, required, notes).
  static std::vector<tabular::Sheet> template_sheets(Register reg);
  static std::string template_file(Register reg, tabular::Format format);
  // "部门导入模板.xlsx" and an ASCII fallback "departments-import-template.xlsx".
  static std::string template_filename(Register reg, tabular::Format format, bool ascii);

 private:
  ImportReport run_departments(const authz::Principal& p, const authn::Client& c,
                               const tabular::Sheet& sheet, bool dry_run);
  ImportReport run_users(const authz::Principal& p, const authn::Client& c,
                         const tabular::Sheet& sheet, bool dry_run);

  db::Db& db_;
  const Clock& clock_;
  authn::AuthService& auth_;
  const privacy::Masker& masker_;
};

}  // namespace custos::org
