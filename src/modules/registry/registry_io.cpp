#include "modules/registry/registry_io.h"

#include <boost/json.hpp>
#include <unordered_map>

#include "platform/authz/classification.h"
#include "platform/errors/error.h"
#include "platform/text/time.h"

namespace custos::registry {
namespace json = boost::json;
using tabular::ImportLine;
using tabular::ImportOutcome;
using tabular::ImportReport;
using tabular::ImportSheet;

std::string_view register_name(Register r) {
  return r == Register::customers ? "customers" : "service_requests";
}

namespace {

// ---- columns ---------------------------------------------------------------------------------

enum CustomerCol {
  cExternalKey,
  cKind,
  cName,
  cMobile,
  cIdCard,
  cAddress,
  cEmail,
  cTags,
  cDepartment,
  cOwner,
  cClassification,
  cSource,
  kCustomerImportColumns  // the columns below are the export's, ignored on import
};

const std::vector<tabular::Column>& customer_columns() {
  static const std::vector<tabular::Column> cols = {
      {"external_key", "外部编号", "External key", {"客户编号", "Customer key"}, true},
      {"kind", "类型", "Kind", {"客户类型"}, false},
      {"name", "名称", "Name", {"姓名", "客户名称", "单位名称"}, true},
      {"mobile", "手机号", "Mobile", {"手机", "手机号码", "联系电话"}, false},
      {"id_card", "身份证号", "ID-card number", {"身份证号码", "证件号码"}, false},
      {"address", "地址", "Address", {"联系地址", "住址"}, false},
      {"email", "邮箱", "E-mail", {"电子邮箱"}, false},
      {"tags", "标签", "Tags", {}, false},
      {"department_code", "所属部门编码", "Department code", {"部门编码"}, false},
      {"owner_employee_no", "负责人工号", "Owner employee no.", {}, false},
      {"classification", "密级", "Classification", {"分级"}, false},
      {"source", "来源", "Source", {"信息来源"}, false},
      // export only
      {"id", "系统编号", "System id", {}, false},
      {"status", "状态", "Status", {}, false},
      {"stale", "待复核", "Review due", {}, false},
      {"created_at", "创建时间", "Created at", {}, false},
      {"updated_at", "更新时间", "Updated at", {}, false},
  };
  return cols;
}

const std::vector<tabular::ColumnNote>& customer_notes() {
  static const std::vector<tabular::ColumnNote> notes = {
      {"唯一标识（如原系统的客户编号），重复导入时按外部编号更新；至多 64 个字符",
       "the key (e.g. the old system's customer number): a re-import updates by it; at most 64"},
      {"个人或单位（或 individual、organization）；留空为个人；已有客户的类型不能修改",
       "个人 or 单位 (or individual, organization); empty: individual; cannot change"},
      {"姓名或单位名称，至多 100 个字符", "a person's or organisation's name, at most 100"},
      {"手机或电话号码（可带 +86、空格或 -）；加密保存", "a telephone number; stored encrypted"},
      {"身份证号码；加密保存", "an ID-card number; stored encrypted"},
      {"至多 200 个字符；加密保存", "at most 200 characters; stored encrypted"},
      {"电子邮箱地址；加密保存", "an e-mail address; stored encrypted"},
      {"以逗号、顿号或分号分隔，至多 20 个", "separated by commas, 、 or semicolons; at most 20"},
      {"已有部门的编码；留空：新客户归导入人的部门，已有客户不变",
       "code of an existing department; empty: the importer's for a new customer, else unchanged"},
      {"已有用户的工号；留空：新客户归导入人，已有客户不变",
       "employee no. of an existing user; empty: the importer for a new one, else unchanged"},
      {"级别数字、代码或名称（如 敏感）；留空为默认（敏感）；修改需要分级权限",
       "level number, code or name (e.g. 敏感); empty: the default; changing needs permission"},
      {"信息来源，至多 100 个字符", "where the data came from, at most 100 characters"},
  };
  return notes;
}

enum RequestCol {
  rExternalKey,
  rTitle,
  rType,
  rPriority,
  rChannel,
  rDescription,
  rCustomer,
  rDepartment,
  rClassification,
  kRequestImportColumns
};

const std::vector<tabular::Column>& request_columns() {
  static const std::vector<tabular::Column> cols = {
      {"external_key", "外部编号", "External key", {"原单号"}, true},
      {"title", "标题", "Title", {"主题"}, true},
      {"type", "类型", "Type", {"请求类型", "服务类型"}, false},
      {"priority", "优先级", "Priority", {"紧急程度"}, false},
      {"channel", "渠道", "Channel", {"来源渠道", "受理渠道"}, false},
      {"description", "描述", "Description", {"内容", "问题描述"}, false},
      {"customer_external_key", "客户外部编号", "Customer external key", {"客户编号"}, false},
      {"department_code", "受理部门编码", "Department code", {"部门编码"}, false},
      {"classification", "密级", "Classification", {"分级"}, false},
      // export only
      {"number", "单号", "Number", {}, false},
      {"status", "状态", "Status", {}, false},
      {"customer", "客户", "Customer", {}, false},
      {"assignee", "处理人", "Assignee", {}, false},
      {"created_at", "创建时间", "Created at", {}, false},
      {"response_due_at", "响应时限", "Response due", {}, false},
      {"resolve_due_at", "解决时限", "Resolve due", {}, false},
      {"breached", "是否超时", "Breached", {}, false},
      {"resolved_at", "解决时间", "Resolved at", {}, false},
      {"closed_at", "关闭时间", "Closed at", {}, false},
      {"id", "系统编号", "System id", {}, false},
  };
  return cols;
}

const std::vector<tabular::ColumnNote>& request_notes() {
  static const std::vector<tabular::ColumnNote> notes = {
      {"唯一标识（如原系统的单号），重复导入时按外部编号更新；至多 64 个字符",
       "the key (e.g. the old system's number): a re-import updates by it; at most 64"},
      {"至多 200 个字符", "at most 200 characters"},
      {"请求类型的代码或名称（如 报修）；新请求必填；已有请求不能修改",
       "a request type's code or name (e.g. 报修); required for a new request; cannot change"},
      {"代码或名称（如 紧急、普通）；留空为普通", "code or name (e.g. 紧急); empty: normal"},
      {"电话、现场、网站、微信、邮件（或 phone、walk_in、web、wechat、email）；留空为电话",
       "电话, 现场, 网站, 微信, 邮件 (or phone, walk_in, web, wechat, email); empty: phone"},
      {"至多 4000 个字符", "at most 4000 characters"},
      {"已有客户的外部编号；留空为无客户；已有请求不能修改",
       "external key of an existing customer; empty: none; cannot change"},
      {"已有部门的编码；留空为导入人的部门；已有请求不能修改（请用分派）",
       "code of an existing department; empty: the importer's; cannot change (assign instead)"},
      {"级别数字、代码或名称；留空为类型的默认级别；修改需要分级权限",
       "level number, code or name; empty: the type's default; changing needs permission"},
  };
  return notes;
}

const std::vector<tabular::Column>& columns_of(Register reg) {
  return reg == Register::customers ? customer_columns() : request_columns();
}

std::size_t import_width(Register reg) {
  return reg == Register::customers ? std::size_t{kCustomerImportColumns}
                                    : std::size_t{kRequestImportColumns};
}

// ---- references by code ----------------------------------------------------------------------

struct Names {
  std::unordered_map<std::string, int64_t> department_by_code, user_by_employee_no;
  std::unordered_map<int64_t, std::string> department_code, employee_no;
  std::vector<authz::Level> levels;
  std::unordered_map<std::string, std::string> type_code, priority_code;  // code or name -> code
  std::unordered_map<std::string, std::string> type_name, priority_name;  // code -> name
};

Names load_names(db::Tx& tx, int64_t org) {
  Names n;
  for (const auto& r : tx.query("SELECT id, code FROM departments WHERE org_id = ?", {org}).rows) {
    n.department_by_code.emplace(db::as_text(r[1]), db::as_int(r[0]));
    n.department_code.emplace(db::as_int(r[0]), db::as_text(r[1]));
  }
  for (const auto& r : tx.query("SELECT id, employee_no FROM users WHERE org_id = ? AND "
                                "employee_no IS NOT NULL",
                                {org})
                           .rows) {
    n.user_by_employee_no.emplace(db::as_text(r[1]), db::as_int(r[0]));
    n.employee_no.emplace(db::as_int(r[0]), db::as_text(r[1]));
  }
  n.levels = authz::load_levels(tx, org);
  auto names = [&](const char* table, auto& to_code, auto& to_name) {
    std::unordered_map<std::string, int> seen;
    const auto rows =
        tx.query(std::string("SELECT code, name FROM ") + table + " WHERE org_id = ?", {org}).rows;
    for (const auto& r : rows) ++seen[db::as_text(r[1])];
    for (const auto& r : rows) {
      const std::string code = db::as_text(r[0]), name = db::as_text(r[1]);
      to_code[code] = code;
      to_name[code] = name;
      if (seen[name] == 1) to_code.emplace(name, code);  // a shared name names nothing
    }
  };
  names("request_types", n.type_code, n.type_name);
  names("request_priorities", n.priority_code, n.priority_name);
  return n;
}

std::optional<int> level_named(const Names& n, const std::string& v) {
  for (const auto& l : n.levels)
    if (v == std::to_string(l.level) || v == l.code || v == l.name_zh || v == l.name_en)
      return l.level;
  return std::nullopt;
}

const std::string& level_name(const Names& n, int level) {
  return authz::level_of(n.levels, level).name_zh;
}

struct Channel {
  const char* code;
  const char* zh;
};
constexpr Channel kChannels[] = {
    {"phone", "电话"}, {"walk_in", "现场"}, {"web", "网站"}, {"wechat", "微信"}, {"email", "邮件"}};

std::optional<std::string> channel_code(const std::string& v) {
  for (const auto& c : kChannels)
    if (v == c.code || v == c.zh) return std::string(c.code);
  return std::nullopt;
}

std::string channel_label(const std::string& code) {
  for (const auto& c : kChannels)
    if (code == c.code) return c.zh;
  return code;
}

std::string status_label(const std::string& s) {
  static const std::unordered_map<std::string, std::string> labels = {{"new", "新建"},
                                                                      {"assigned", "已分派"},
                                                                      {"in_progress", "处理中"},
                                                                      {"resolved", "已解决"},
                                                                      {"closed", "已关闭"},
                                                                      {"active", "有效"},
                                                                      {"anonymised", "已匿名化"},
                                                                      {"deleted", "已删除"}};
  auto it = labels.find(s);
  return it == labels.end() ? s : it->second;
}

std::vector<std::string> split_tags(const std::string& v) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    std::string t = tabular::trim_cell(cur);
    if (!t.empty()) out.push_back(std::move(t));
    cur.clear();
  };
  for (std::size_t i = 0; i < v.size();) {
    static const std::string_view seps[] = {",", ";", "|", "，", "、", "；"};
    bool sep = false;
    for (auto s : seps)
      if (std::string_view(v).substr(i, s.size()) == s) {
        flush();
        i += s.size();
        sep = true;
        break;
      }
    if (!sep) cur += v[i++];
  }
  flush();
  return out;
}

std::string join_tags(const std::vector<std::string>& tags) {
  std::string out;
  for (const auto& t : tags) out += (out.empty() ? "" : "、") + t;
  return out;
}

std::string time_cell(std::optional<int64_t> ms) {
  return ms ? text::rfc3339(*ms) : std::string();
}

// ---- one run ---------------------------------------------------------------------------------

// A service's error names an API field; the report names the file's column.
struct FieldMap {
  const char* api;
  const char* column;
};

std::string column_of(const std::string& field, std::initializer_list<FieldMap> renames) {
  std::string_view f = field;
  if (f == "path.id") return "external_key";
  if (!f.starts_with("body.")) return {};
  f.remove_prefix(5);
  for (const auto& r : renames)
    if (f == r.api) return r.column;
  return std::string(f);
}

std::string message_of(const Error& e) {
  if (e.code() == ErrorCode::not_found) return "belongs to a record you may not change";
  if (!e.detail().empty()) return e.detail();
  return std::string(error_info(e.code()).title_en);
}

// Fails one row: a cell it cannot use.
[[noreturn]] void bad_cell(const char* column, std::string message) {
  throw Error(ErrorCode::validation_failed, std::string("body.") + column, std::move(message));
}

// Duplicate keys in the file: an error on every row that repeats one.
void check_duplicate_keys(ImportSheet& in, ImportReport& report) {
  std::unordered_map<std::string, std::size_t> first;
  for (auto& line : in.lines) {
    const std::string& key = line.cells[0];
    if (key.empty()) continue;
    auto [it, fresh] = first.emplace(key, line.row);
    if (fresh) continue;
    report.add_error(line.row, "external_key", ErrorCode::validation_failed,
                     "appears again (first on row " + std::to_string(it->second) + ")");
    line.bad = true;
  }
}

struct Rollback {
  ImportReport report;
};

using RowFn = std::function<ImportOutcome(db::Tx&, const ImportLine&, Apply)>;

// Runs every good line through `row` (Apply::check for a dry run) and, for a real run, writes
// them in one transaction, or nothing when any line fails.
ImportReport run_lines(db::Db& db, const ImportSheet& in, ImportReport report, bool dry_run,
                       const std::function<std::string(const std::string&)>& column,
                       const std::function<void(db::Tx&)>& prepare, const RowFn& row,
                       const std::function<void(db::Tx&, const ImportReport&)>& summary) {
  auto pass = [&](db::Tx& tx, Apply mode) {
    prepare(tx);
    ImportReport r = report;
    for (const auto& line : in.lines) {
      if (line.bad) continue;
      try {
        r.count(row(tx, line, mode));
      } catch (const Error& e) {
        // Another department's record: refused, as the API would (its 404 hides the record,
        // but the key is taken either way).
        const ErrorCode code = e.code() == ErrorCode::not_found ? ErrorCode::forbidden : e.code();
        r.add_error(line.row, column(e.field()), code, message_of(e));
      }
    }
    return r;
  };
  if (dry_run) return db.read([&](db::Tx& tx) { return pass(tx, Apply::check); });
  try {
    ImportReport r = db.write([&](db::Tx& tx) {
      ImportReport r = pass(tx, Apply::write_changes);
      if (!r.ok()) throw Rollback{std::move(r)};
      if (r.created + r.updated > 0) summary(tx, r);
      return r;
    });
    r.dry_run = false;
    return r;
  } catch (Rollback& rb) {
    rb.report.dry_run = false;
    rb.report.discard_outcomes();
    return std::move(rb.report);
  }
}

void record_summary(db::Tx& tx, const audit::Actor& a, const ImportReport& r, int64_t now) {
  json::object o{{"register", r.register_name},
                 {"rows", static_cast<int64_t>(r.rows)},
                 {"created", static_cast<int64_t>(r.created)},
                 {"updated", static_cast<int64_t>(r.updated)},
                 {"unchanged", static_cast<int64_t>(r.unchanged)}};
  audit::record(tx, a,
                {.action = "registry.import",
                 .object_type = r.register_name == "customers" ? "customer" : "service_request",
                 .object_id = "",
                 .changes = json::serialize(o)},
                now);
}

// An optional text cell of a present column: empty clears.
std::optional<std::optional<std::string>> optional_cell(const ImportSheet& in,
                                                        const ImportLine& line, int col) {
  if (!in.present[col]) return std::nullopt;
  const std::string& v = line.cells[col];
  return v.empty() ? std::optional<std::string>() : std::optional<std::string>(v);
}

std::optional<int64_t> existing(db::Tx& tx, const char* table, int64_t org,
                                const std::string& key) {
  auto r = tx.one(std::string("SELECT id FROM ") + table + " WHERE org_id = ? AND external_key = ?",
                  {org, key});
  return r ? std::optional<int64_t>(db::as_int(r->at(0))) : std::nullopt;
}

ImportOutcome outcome(const ImportLine& line, std::optional<int64_t> id,
                      const std::vector<std::string>& changed,
                      const std::function<std::string(const std::string&)>& column) {
  ImportOutcome o{line.row, line.cells[0], id ? "updated" : "created", {}};
  if (!id) return o;
  for (const auto& f : changed)
    if (auto c = column("body." + f); !c.empty()) o.fields.push_back(c);
  if (changed.empty()) o.action = "unchanged";
  return o;
}

}  // namespace

// ---- RegistryIo ------------------------------------------------------------------------------

RegistryIo::RegistryIo(db::Db& db, const Clock& clock, Registry& registry)
    : db_(db), clock_(clock), registry_(registry) {}

std::string RegistryIo::template_name(Register reg) {
  return reg == Register::customers ? "客户导入模板" : "服务请求导入模板";
}

std::string RegistryIo::template_file(Register reg, tabular::Format format) {
  const auto& all = columns_of(reg);
  const std::vector<tabular::Column> cols(all.begin(), all.begin() + import_width(reg));
  return tabular::template_file(
      reg == Register::customers ? "客户" : "服务请求", template_name(reg), cols,
      reg == Register::customers ? customer_notes() : request_notes(), format);
}

std::vector<std::string> RegistryIo::export_header(Register reg) {
  std::vector<std::string> out;
  for (const auto& c : columns_of(reg)) out.push_back(c.zh);
  return out;
}

ImportReport RegistryIo::import(const authz::Principal& p, const audit::Actor& a, Register reg,
                                std::string_view file_bytes, bool dry_run) {
  if (!authz::may(p, reg == Register::customers ? perm::customers_write : perm::requests_write))
    throw Error(ErrorCode::forbidden);
  const tabular::Sheet sheet = tabular::read_import_file(file_bytes, kMaxImportRows);
  ImportReport report;
  report.register_name = register_name(reg);
  report.dry_run = dry_run;
  ImportSheet in = tabular::parse_import(columns_of(reg), sheet, report, kMaxImportRows);
  if (!in.header_ok) return report;
  check_duplicate_keys(in, report);
  return reg == Register::customers ? import_customers(p, a, in, std::move(report), dry_run)
                                    : import_requests(p, a, in, std::move(report), dry_run);
}

ImportReport RegistryIo::import_customers(const authz::Principal& p, const audit::Actor& a,
                                          ImportSheet& in, ImportReport report, bool dry_run) {
  const auto column = [](const std::string& field) {
    return column_of(field, {{"department_id", "department_code"},
                             {"owner_user_id", "owner_employee_no"},
                             {"custom", ""}});
  };
  const int64_t now = clock_.now_ms();
  Names names;
  const RowFn row = [&](db::Tx& tx, const ImportLine& line, Apply mode) {
    const auto& v = line.cells;
    CustomerInput ci;
    ci.external_key = v[cExternalKey];
    const auto id = existing(tx, "customers", p.org_id, v[cExternalKey]);
    if (in.present[cKind] && !v[cKind].empty()) {
      if (v[cKind] == "个人" || v[cKind] == "individual")
        ci.kind = "individual";
      else if (v[cKind] == "单位" || v[cKind] == "organization")
        ci.kind = "organization";
      else
        bad_cell("kind", "个人 or 单位 (individual or organization)");
    }
    if (in.present[cName]) ci.name = v[cName];
    ci.mobile = optional_cell(in, line, cMobile);
    ci.id_card = optional_cell(in, line, cIdCard);
    ci.address = optional_cell(in, line, cAddress);
    ci.email = optional_cell(in, line, cEmail);
    if (in.present[cTags]) ci.tags = split_tags(v[cTags]);
    if (in.present[cSource]) ci.source = v[cSource];
    if (in.present[cDepartment] && !v[cDepartment].empty()) {
      auto it = names.department_by_code.find(v[cDepartment]);
      if (it == names.department_by_code.end()) bad_cell("department_id", "no such department");
      ci.department_id = std::optional<int64_t>(it->second);
    }
    if (in.present[cOwner] && !v[cOwner].empty()) {
      auto it = names.user_by_employee_no.find(v[cOwner]);
      if (it == names.user_by_employee_no.end()) bad_cell("owner_user_id", "no such user");
      ci.owner_user_id = std::optional<int64_t>(it->second);
    }
    if (in.present[cClassification] && !v[cClassification].empty()) {
      auto level = level_named(names, v[cClassification]);
      if (!level) bad_cell("classification", "a classification level, code or name");
      ci.classification = *level;
    }
    if (!id) {
      registry_.insert_customer(tx, p, a, ci, now, mode);
      return outcome(line, id, {}, column);
    }
    ci.external_key.reset();
    return outcome(line, id, registry_.change_customer(tx, p, a, *id, std::nullopt, ci, now, mode),
                   column);
  };
  return run_lines(
      db_, in, std::move(report), dry_run, column,
      [&](db::Tx& tx) { names = load_names(tx, p.org_id); }, row,
      [&](db::Tx& tx, const ImportReport& r) { record_summary(tx, a, r, now); });
}

ImportReport RegistryIo::import_requests(const authz::Principal& p, const audit::Actor& a,
                                         ImportSheet& in, ImportReport report, bool dry_run) {
  const auto column = [](const std::string& field) {
    return column_of(
        field, {{"department_id", "department_code"}, {"customer_id", "customer_external_key"}});
  };
  const int64_t now = clock_.now_ms();
  Names names;
  const RowFn row = [&](db::Tx& tx, const ImportLine& line, Apply mode) {
    const auto& v = line.cells;
    RequestInput ri;
    ri.external_key = v[rExternalKey];
    const auto id = existing(tx, "service_requests", p.org_id, v[rExternalKey]);
    if (in.present[rTitle]) ri.title = v[rTitle];
    if (in.present[rDescription]) ri.description = v[rDescription];
    auto coded = [&](int col, const char* field, const auto& map, std::optional<std::string>& out,
                     const char* what) {
      if (!in.present[col] || v[col].empty()) return;
      auto it = map.find(v[col]);
      if (it == map.end()) bad_cell(field, std::string("no such ") + what);
      out = it->second;
    };
    coded(rType, "type", names.type_code, ri.type, "request type");
    coded(rPriority, "priority", names.priority_code, ri.priority, "priority");
    if (in.present[rChannel] && !v[rChannel].empty()) {
      ri.channel = channel_code(v[rChannel]);
      if (!ri.channel) bad_cell("channel", "电话, 现场, 网站, 微信 or 邮件");
    }
    if (in.present[rCustomer]) {
      if (v[rCustomer].empty()) {
        ri.customer_id = std::optional<int64_t>();
      } else {
        auto c = existing(tx, "customers", p.org_id, v[rCustomer]);
        if (!c) bad_cell("customer_id", "no such customer");
        ri.customer_id = c;
      }
    }
    if (in.present[rDepartment] && !v[rDepartment].empty()) {
      auto it = names.department_by_code.find(v[rDepartment]);
      if (it == names.department_by_code.end()) bad_cell("department_id", "no such department");
      ri.department_id = std::optional<int64_t>(it->second);
    }
    if (in.present[rClassification] && !v[rClassification].empty()) {
      auto level = level_named(names, v[rClassification]);
      if (!level) bad_cell("classification", "a classification level, code or name");
      ri.classification = *level;
    }
    if (!id) {
      registry_.insert_request(tx, p, a, ri, now, mode);
      return outcome(line, id, {}, column);
    }
    ri.external_key.reset();
    return outcome(line, id, registry_.change_request(tx, p, a, *id, std::nullopt, ri, now, mode),
                   column);
  };
  return run_lines(
      db_, in, std::move(report), dry_run, column,
      [&](db::Tx& tx) { names = load_names(tx, p.org_id); }, row,
      [&](db::Tx& tx, const ImportReport& r) { record_summary(tx, a, r, now); });
}

// ---- export ----------------------------------------------------------------------------------

namespace {
constexpr int kExportPage = 1000;
}

std::size_t RegistryIo::export_customers(
    const authz::Principal& p, const audit::Actor& a, CustomerQuery q,
    const std::function<void(const std::vector<std::string>&)>& row) {
  const Names names = db_.read([&](db::Tx& tx) { return load_names(tx, p.org_id); });
  q.limit = kExportPage;
  q.after_id.reset();
  q.count_total = false;
  q.record_reads = false;  // the export is one audit record of its own
  std::size_t n = 0;
  auto code = [](const auto& map, const std::optional<int64_t>& id) {
    if (!id) return std::string();
    auto it = map.find(*id);
    return it == map.end() ? std::string() : it->second;
  };
  for (;;) {
    const auto page = registry_.list_customers(p, a, q);
    for (const auto& c : page.items) {
      const auto& m = c.personal;
      row({c.external_key.value_or(""), c.kind == "organization" ? "单位" : "个人", c.name,
           m.mobile.value_or(""), m.id_card.value_or(""), m.address.value_or(""),
           m.email.value_or(""), join_tags(c.tags), code(names.department_code, c.department_id),
           code(names.employee_no, c.owner_user_id), level_name(names, c.classification), c.source,
           std::to_string(c.id), status_label(c.status), c.stale ? "是" : "否",
           text::rfc3339(c.created_at), text::rfc3339(c.updated_at)});
      ++n;
    }
    if (!page.next_cursor) return n;
    q.after_id = std::stoll(*page.next_cursor);
  }
}

std::size_t RegistryIo::export_requests(
    const authz::Principal& p, RequestQuery q,
    const std::function<void(const std::vector<std::string>&)>& row) {
  const Names names = db_.read([&](db::Tx& tx) { return load_names(tx, p.org_id); });
  q.limit = kExportPage;
  q.cursor.clear();
  q.count_total = false;
  std::size_t n = 0;
  auto named = [](const auto& map, const std::string& code) {
    auto it = map.find(code);
    return it == map.end() ? code : it->second;
  };
  for (;;) {
    const auto page = registry_.list_requests(p, q);
    for (const auto& s : page.items) {
      std::string dept;
      if (s.department_id)
        if (auto it = names.department_code.find(*s.department_id);
            it != names.department_code.end())
          dept = it->second;
      row({s.external_key.value_or(""),
           s.title,
           s.type_name,
           named(names.priority_name, s.priority),
           channel_label(s.channel),
           s.description,
           s.customer_external_key.value_or(""),
           dept,
           level_name(names, s.classification),
           s.number,
           status_label(s.status),
           s.customer_name,
           s.assignee_name,
           text::rfc3339(s.created_at),
           time_cell(s.response_due_at),
           time_cell(s.resolve_due_at),
           s.response_breached || s.resolve_breached ? "是" : "否",
           time_cell(s.resolved_at),
           time_cell(s.closed_at),
           std::to_string(s.id)});
      ++n;
    }
    if (!page.next_cursor) return n;
    q.cursor = *page.next_cursor;
  }
}

}  // namespace custos::registry
