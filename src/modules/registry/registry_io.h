// The registry's registers in and out of spreadsheets (issue #6 item 6): customers keyed by
// their external key (外部编号) and service requests keyed by theirs.
//
// Import (on top of platform/tabular/import.h):
//  * At most kMaxImportRows data rows per file. Each row goes through the same rules as the API
//    (Registry::insert_* / change_*) and the errors name the file's columns: department_code
//    for the department, owner_employee_no for the owner, customer_external_key for the
//    customer of a request. A key that appears twice in the file is an error on both rows.
//  * Idempotent: an existing external key is an update of the fields that differ; a row that
//    changes nothing is "unchanged" and is neither written nor audited. An absent column leaves
//    its field alone; an empty cell clears an optional field, except the department and the
//    owner (empty: the importer's own on creation, unchanged on update). A personal cell equal
//    to the masked form of the stored value (an edited export) keeps the stored value.
//  * References by code: departments by code, owners by employee number, request types and
//    priorities by code or name, channels by code or Chinese label (电话, 现场, 网站, 微信,
//    邮件), classifications by level number, code or name, customers by external key.
//  * A dry run only reads. A real run writes every row in one transaction, or nothing when any
//    row has an error; each created or updated record gets its own audit record and the run one
//    summary record "registry.import".
//
// Export: the import's columns (so an exported file, edited, imports back) followed by
// read-only columns (system id, status, times) that the importer ignores without a warning.
// Personal fields and names leave masked, always; the file carries the watermark.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "modules/registry/registry.h"
#include "platform/tabular/import.h"

namespace custos::registry {

enum class Register { customers, service_requests };
std::string_view register_name(Register r);  // "customers", "service_requests"

inline constexpr std::size_t kMaxImportRows = 100000;

class RegistryIo {
 public:
  RegistryIo(db::Db& db, const Clock& clock, Registry& registry);

  // Throws Error(forbidden) without the register's write permission at any scope, and the
  // file-level errors of tabular::read_import_file / parse_import.
  tabular::ImportReport import(const authz::Principal& p, const audit::Actor& a, Register reg,
                               std::string_view file_bytes, bool dry_run);

  static std::string template_file(Register reg, tabular::Format format);
  static std::string template_name(Register reg);  // 客户导入模板 / 服务请求导入模板

  // The export's header (zh-CN) and its rows, masked, in id order, one call per row; the
  // filter is the list's (its limit and cursor are ignored). Returns the rows written.
  static std::vector<std::string> export_header(Register reg);
  std::size_t export_customers(const authz::Principal& p, const audit::Actor& a, CustomerQuery q,
                               const std::function<void(const std::vector<std::string>&)>& row);
  std::size_t export_requests(const authz::Principal& p, RequestQuery q,
                              const std::function<void(const std::vector<std::string>&)>& row);

 private:
  tabular::ImportReport import_customers(const authz::Principal& p, const audit::Actor& a,
                                         tabular::ImportSheet& sheet, tabular::ImportReport r,
                                         bool dry_run);
  tabular::ImportReport import_requests(const authz::Principal& p, const audit::Actor& a,
                                        tabular::ImportSheet& sheet, tabular::ImportReport r,
                                        bool dry_run);

  db::Db& db_;
  const Clock& clock_;
  Registry& registry_;
};

}  // namespace custos::registry
