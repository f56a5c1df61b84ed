// Bulk import of the organisation's registers from CSV or XLSX (issue #3 item 1): departments
// keyed by their code and users keyed by their employee number (工号). A file is checked in full
// before anything is written and the report names every bad cell by spreadsheet row (the header
// is row 1) and column key, so an office can fix the sheet and upload it again.
//
// Rules, in the order they apply:
//  * Reading, header mapping and trimming as every importer does (platform/tabular/import.h),
//    at most kMaxImportRows data rows. Each cell is checked with the rules of OrgService and its
//    messages.
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
#include "platform/tabular/import.h"

namespace custos::org {

enum class Register { departments, users };
std::string_view register_name(Register r);  // "departments", "users"

inline constexpr std::size_t kMaxImportRows = 10000;

using tabular::ImportIssue;
using tabular::ImportOutcome;

struct CreatedUser {
  std::string employee_no, username, initial_password;
};

struct ImportReport : tabular::ImportReport {
  Register reg = Register::departments;
  std::vector<CreatedUser> created_users;  // real runs of the users register only
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
