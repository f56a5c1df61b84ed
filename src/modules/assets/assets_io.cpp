#include "modules/assets/assets_io.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "modules/assets/internal.h"
#include "platform/audit/changes.h"
#include "platform/authz/records.h"
#include "platform/errors/error.h"
#include "platform/text/time.h"

namespace custos::assets {

namespace {

using tabular::ImportReport;

enum Col {
  cTag,
  cName,
  cCategory,
  cModel,
  cModelNumber,
  cManufacturer,
  cSerial,
  cSupplier,
  cLocation,
  cPurchaseDate,
  cCost,
  cWarranty,
  cOrder,
  cDepartment,
  cCustodian,
  cRepairer,
  cStatus,
  cNotes,
  cCompany
};

const std::vector<tabular::Column>& columns() {
  static const std::vector<tabular::Column> v{
      {"asset_tag", "资产编号", "Asset tag", {"Asset Tag", "资产标签", "设备编号"}, true},
      {"name", "设备名称", "Name", {"Asset Name", "名称"}},
      {"category", "类别", "Category", {"分类"}},
      {"model", "型号", "Model", {"Model Name"}},
      {"model_number", "型号编码", "Model number", {"Model Number", "Model No."}},
      {"manufacturer", "制造商", "Manufacturer", {"品牌", "厂商"}},
      {"serial", "序列号", "Serial", {"Serial Number", "SN"}},
      {"supplier", "供应商", "Supplier", {}},
      {"location", "存放地点", "Location", {"位置"}},
      {"purchase_date", "购置日期", "Purchase date", {"Purchase Date"}},
      {"purchase_cost", "购置金额（元）", "Purchase cost", {"Purchase Cost", "金额"}},
      {"warranty_end", "保修截止", "Warranty end", {"Warranty Expires"}},
      {"order_number", "订单号", "Order number", {"Order Number"}},
      {"department_code", "部门编码", "Department code", {"Department"}},
      {"custodian", "保管人", "Custodian", {"Checked Out To", "Assigned To", "保管人工号"}},
      {"repairer_employee_no", "指定维修人工号", "Repairer employee no.", {}},
      {"status", "状态", "Status", {"Status Label"}},
      {"notes", "备注", "Notes", {}},
      {"company", "公司", "Company", {}},
  };
  return v;
}

const std::vector<tabular::ColumnNote>& notes() {
  static const std::vector<tabular::ColumnNote> v{
      {"必填，机构内唯一；已存在的编号为更新", "Required, unique; an existing tag is an update"},
      {"新建时必填", "Required for a new asset"},
      {"desktop、laptop、printer 等，或中文名（台式机、笔记本电脑、打印机…）",
       "desktop, laptop, printer… or the Chinese name"},
      {"", ""},
      {"与型号合并保存", "Kept with the model"},
      {"新建时记入配置说明", "Kept in the specs of a new asset"},
      {"", ""},
      {"", ""},
      {"", ""},
      {"YYYY-MM-DD", "YYYY-MM-DD"},
      {"元，最多两位小数", "Yuan, at most two decimals"},
      {"YYYY-MM-DD", "YYYY-MM-DD"},
      {"新建时记入备注", "Kept in the notes of a new asset"},
      {"空：导入人所在部门", "Empty: the importer's department"},
      {"工号、用户名或姓名；新建时设备即为使用中",
       "Employee no., user name or name; a new asset is then in use"},
      {"信息管理部人员的工号", "Employee no. of an IT department member"},
      {"仅新建时：待到货、在库、使用中、闲置、维修中、待处置（或英文键、Snipe-IT 状态）",
       "New assets only: ordered, in_stock, in_use, idle, in_repair, pending_disposal (or Snipe-IT "
       "labels)"},
      {"", ""},
      {"忽略（Snipe-IT 的 Company 列）", "Ignored (Snipe-IT's Company)"},
  };
  return v;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A category by key, Chinese name or a usual English name; nullopt when none fits.
std::optional<std::string> category_of(const std::string& v) {
  const std::string l = lower(v);
  for (const auto& c : categories())
    if (l == c) return c;
  static const std::vector<std::pair<std::string, std::string>> names{
      {"台式机", "desktop"},
      {"台式电脑", "desktop"},
      {"办公电脑", "desktop"},
      {"desktops", "desktop"},
      {"pc", "desktop"},
      {"笔记本", "laptop"},
      {"笔记本电脑", "laptop"},
      {"laptops", "laptop"},
      {"notebook", "laptop"},
      {"打印机", "printer"},
      {"printers", "printer"},
      {"网络设备", "network"},
      {"交换机", "network"},
      {"路由器", "network"},
      {"networking", "network"},
      {"switch", "network"},
      {"router", "network"},
      {"服务器", "server"},
      {"servers", "server"},
      {"存储", "storage"},
      {"存储设备", "storage"},
      {"存储介质", "storage_medium"},
      {"移动硬盘", "storage_medium"},
      {"u盘", "storage_medium"},
      {"外设", "peripheral"},
      {"显示器", "peripheral"},
      {"monitor", "peripheral"},
      {"monitors", "peripheral"},
      {"移动设备", "mobile"},
      {"手机", "mobile"},
      {"平板", "mobile"},
      {"tablet", "mobile"},
      {"phone", "mobile"},
      {"mobile phones", "mobile"},
      {"其他", "other"}};
  for (const auto& [n, c] : names)
    if (l == n) return c;
  return std::nullopt;
}

std::optional<std::string> status_of(const std::string& v) {
  const std::string l = lower(v);
  static const std::vector<std::pair<std::string, std::string>> names{
      {"ordered", "ordered"},
      {"待到货", "ordered"},
      {"pending", "ordered"},
      {"in_stock", "in_stock"},
      {"在库", "in_stock"},
      {"ready to deploy", "in_stock"},
      {"in_use", "in_use"},
      {"使用中", "in_use"},
      {"deployed", "in_use"},
      {"idle", "idle"},
      {"闲置", "idle"},
      {"archived", "idle"},
      {"in_repair", "in_repair"},
      {"维修中", "in_repair"},
      {"out for repair", "in_repair"},
      {"broken", "in_repair"},
      {"out for diagnostics", "in_repair"},
      {"pending_disposal", "pending_disposal"},
      {"待处置", "pending_disposal"}};
  for (const auto& [n, s] : names)
    if (l == n) return s;
  return std::nullopt;
}

// 2024/3/5, 2024-3-5, 2024.03.05 → 2024-03-05; other text is left for the date check.
std::string date_of(const std::string& v) {
  int y = 0, m = 0, d = 0;
  char a = 0, b = 0;
  if (std::sscanf(v.c_str(), "%4d%c%2d%c%2d", &y, &a, &m, &b, &d) == 5 && a == b &&
      (a == '/' || a == '-' || a == '.')) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    return buf;
  }
  return v;
}

// "¥4,999.00", "4999 元", "CNY 4999.5" → fen; nullopt when it is no amount.
std::optional<int64_t> cents_of(const std::string& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    if (std::isdigit(c) || c == '.')
      s += static_cast<char>(c);
    else if (c == ',' || c == ' ')
      continue;
    else if (!s.empty() && c != 0xE5)
      return std::nullopt;  // text after the number, but 元
  }
  if (s.empty()) return std::nullopt;
  const auto dot = s.find('.');
  const std::string whole = s.substr(0, dot);
  const std::string frac = dot == std::string::npos ? "" : s.substr(dot + 1);
  if (whole.empty() || whole.size() > 11 || frac.size() > 2 || frac.find('.') != std::string::npos)
    return std::nullopt;
  return std::stoll(whole) * 100 + (frac.empty() ? 0 : std::stoll((frac + "0").substr(0, 2)));
}

// body.serial → serial, as the file names it.
std::string column_of(const std::string& field) {
  std::string f = field.rfind("body.", 0) == 0 ? field.substr(5) : field;
  if (f == "department_id") return "department_code";
  if (f == "custodian_id") return "custodian";
  if (f == "repairer_id") return "repairer_employee_no";
  return f;
}

std::optional<int64_t> user_by(db::Tx& tx, int64_t org, const std::string& v) {
  for (const char* col : {"employee_no", "username"})
    if (auto r = tx.one(std::string("SELECT id FROM users WHERE org_id = ? AND status = 'active' "
                                    "AND admin_role IS NULL AND ") +
                            col + " = ?",
                        {org, v}))
      return db::as_int(r->at(0));
  auto rows = tx.query(
                    "SELECT id FROM users WHERE org_id = ? AND status = 'active' AND "
                    "admin_role IS NULL AND name = ? LIMIT 2",
                    {org, v})
                  .rows;
  if (rows.size() == 1) return db::as_int(rows[0][0]);
  return std::nullopt;
}

struct Rollback {};

}  // namespace

AssetsIo::AssetsIo(db::Db& db, const Clock& clock) : db_(db), clock_(clock) {}

std::string AssetsIo::template_file(tabular::Format format) {
  return tabular::template_file("设备档案", "设备档案导入模板", columns(), notes(), format);
}

tabular::ImportReport AssetsIo::import(const authz::Principal& p, const audit::Actor& a,
                                       std::string_view file_bytes, bool dry_run) {
  if (!authz::may(p, perm::write)) throw Error(ErrorCode::forbidden);
  const tabular::Sheet sheet = tabular::read_import_file(file_bytes, kMaxAssetImportRows);
  ImportReport report;
  report.register_name = "assets";
  report.dry_run = dry_run;
  tabular::ImportSheet in = tabular::parse_import(columns(), sheet, report, kMaxAssetImportRows);
  if (!in.header_ok) return report;
  const int64_t now = clock_.now_ms();
  auto run = [&](db::Tx& tx, bool write) {
    std::set<std::string> seen;
    for (auto& line : in.lines) {
      const auto& v = line.cells;
      const auto has = [&](Col c) { return in.present[c] && !v[c].empty(); };
      const size_t row = line.row;
      if (line.bad) continue;
      auto fail = [&](const std::string& col, ErrorCode code, const std::string& msg) {
        report.add_error(row, col, code, msg);
        line.bad = true;
      };
      if (v[cTag].empty()) {
        fail("asset_tag", ErrorCode::validation_failed, "required");
        continue;
      }
      if (!seen.insert(v[cTag]).second) {
        fail("asset_tag", ErrorCode::conflict, "the tag appears twice in the file");
        continue;
      }
      std::optional<Asset> before;
      if (auto r = tx.one("SELECT id FROM assets WHERE org_id = ? AND asset_tag = ?",
                          {p.org_id, v[cTag]})) {
        try {
          before = detail::writable_asset(tx, p, db::as_int(r->at(0)));
        } catch (const Error& e) {
          fail("asset_tag", e.code(), "an asset of another department has this tag");
          continue;
        }
      }
      AssetInput x;
      x.asset_tag = v[cTag];
      if (has(cName)) x.name = v[cName];
      if (has(cCategory)) {
        auto c = category_of(v[cCategory]);
        if (!c)
          report.warnings.push_back(
              {row, "category", "",
               "unknown category, filed as other: " + v[cCategory].substr(0, 40)});
        x.category = c.value_or("other");
      }
      if (in.present[cModel] || in.present[cModelNumber]) {
        std::string m = v[cModel];
        if (!v[cModelNumber].empty()) m += (m.empty() ? "" : " ") + v[cModelNumber];
        x.model = m;
      }
      if (in.present[cSerial]) x.serial = v[cSerial];
      if (in.present[cSupplier]) x.supplier = v[cSupplier];
      if (in.present[cLocation]) x.location = v[cLocation];
      if (in.present[cPurchaseDate])
        x.purchase_date =
            has(cPurchaseDate) ? std::optional(date_of(v[cPurchaseDate])) : std::nullopt;
      if (in.present[cWarranty])
        x.warranty_end = has(cWarranty) ? std::optional(date_of(v[cWarranty])) : std::nullopt;
      if (in.present[cCost]) {
        if (!has(cCost)) {
          x.cost_cents = std::optional<int64_t>();
        } else if (auto c = cents_of(v[cCost])) {
          x.cost_cents = c;
        } else {
          fail("purchase_cost", ErrorCode::validation_failed,
               "an amount in yuan with at most two decimals");
          continue;
        }
      }
      if (in.present[cNotes]) x.notes = v[cNotes];
      // Snipe-IT's order number is kept with the notes, the same way on every import.
      if (has(cOrder))
        x.notes = x.notes.value_or("") + (x.notes && !x.notes->empty() ? "\n" : "") + "订单号：" +
                  v[cOrder];
      if (!before) {
        if (!x.name) {
          fail("name", ErrorCode::validation_failed, "required for a new asset");
          continue;
        }
        if (!x.category) x.category = "other";
        std::string specs = has(cManufacturer) ? "制造商：" + v[cManufacturer] : "";
        x.specs = specs;
      }
      try {
        detail::check_asset_fields(x);
      } catch (const Error& e) {
        fail(column_of(e.field()), e.code(), e.detail());
        continue;
      }
      // References.
      std::optional<int64_t> dept = before ? before->department_id : p.department_id;
      if (has(cDepartment)) {
        auto r = tx.one("SELECT id FROM departments WHERE org_id = ? AND code = ?",
                        {p.org_id, v[cDepartment]});
        if (!r) {
          fail("department_code", ErrorCode::validation_failed, "no such department");
          continue;
        }
        dept = db::as_int(r->at(0));
      }
      std::optional<int64_t> custodian = before ? before->custodian_id : std::nullopt;
      if (has(cCustodian)) {
        custodian = user_by(tx, p.org_id, v[cCustodian]);
        if (!custodian) {
          fail("custodian", ErrorCode::validation_failed,
               "no active colleague with this employee number, user name or (unique) name");
          continue;
        }
      }
      std::optional<int64_t> repairer = before ? before->repairer_id : std::nullopt;
      if (has(cRepairer)) {
        auto r = tx.one(
            "SELECT id, COALESCE(d.path, '') FROM users u LEFT JOIN departments d ON "
            "d.id = u.department_id WHERE u.org_id = ? AND u.employee_no = ? AND "
            "u.status = 'active'",
            {p.org_id, v[cRepairer]});
        if (!r || !detail::in_it_department(tx, p.org_id, db::as_text(r->at(1)))) {
          fail("repairer_employee_no", ErrorCode::validation_failed,
               "the employee number of a member of the IT department (信息管理部)");
          continue;
        }
        repairer = db::as_int(r->at(0));
      }
      if (dept != (before ? before->department_id : std::optional<int64_t>{}) || !before) {
        try {
          authz::check_department(tx, p, perm::write, dept, "department_code");
        } catch (const Error& e) {
          fail("department_code", e.code(), "not a department you may file assets in");
          continue;
        }
      }
      std::string status = before ? before->status : (custodian ? "in_use" : "in_stock");
      if (has(cStatus)) {
        auto s = status_of(v[cStatus]);
        if (!s) {
          fail("status", ErrorCode::validation_failed,
               "ordered, in_stock, in_use, idle, in_repair or pending_disposal");
          continue;
        }
        if (before && *s != before->status)
          report.warnings.push_back(
              {row, "status", "",
               "the state changes through lifecycle actions; left as " + before->status});
        if (!before) status = *s;
      }
      if (!before && status == "in_use" && !custodian) {
        fail("custodian", ErrorCode::validation_failed, "an asset in use needs its custodian");
        continue;
      }
      if (!before && status != "in_use" && status != "in_repair" && custodian) custodian.reset();
      // Outcome.
      tabular::ImportOutcome o{row, v[cTag], before ? "unchanged" : "created", {}};
      const auto s = [](const std::optional<std::string>& a) { return a.value_or(""); };
      if (before) {
        auto diff = [&](const char* key, bool changed) {
          if (changed) o.fields.emplace_back(key);
        };
        diff("name", x.name && *x.name != before->name);
        diff("category", x.category && *x.category != before->category);
        diff("model", x.model && *x.model != before->model);
        diff("serial", x.serial && *x.serial != before->serial);
        diff("supplier", x.supplier && *x.supplier != before->supplier);
        diff("location", x.location && *x.location != before->location);
        diff("notes", x.notes && *x.notes != before->notes);
        diff("purchase_date", x.purchase_date && *x.purchase_date != before->purchase_date);
        diff("warranty_end", x.warranty_end && *x.warranty_end != before->warranty_end);
        diff("purchase_cost", x.cost_cents && *x.cost_cents != before->cost_cents);
        diff("department_code", dept != before->department_id);
        diff("custodian", custodian != before->custodian_id);
        diff("repairer_employee_no", repairer != before->repairer_id);
        if (!o.fields.empty()) o.action = "updated";
      }
      if (write && o.action == "created") {
        auto r = tx.one(
            "INSERT INTO assets (org_id, asset_tag, category, name, model, serial, specs, "
            "supplier, location, notes, status, purchase_date, warranty_end, cost_cents, "
            "department_id, custodian_id, repairer_id, created_at, updated_at) VALUES (?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            {p.org_id, *x.asset_tag, *x.category, *x.name, s(x.model), s(x.serial), s(x.specs),
             s(x.supplier), s(x.location), s(x.notes), status,
             detail::opt(x.purchase_date.value_or(std::nullopt)),
             detail::opt(x.warranty_end.value_or(std::nullopt)),
             detail::opt(x.cost_cents.value_or(std::nullopt)), detail::opt(dept),
             detail::opt(custodian), detail::opt(repairer), now, now});
        const int64_t id = db::as_int(r->at(0));
        detail::add_event(tx, p, id, now, "created", "", status,
                          x.cost_cents.value_or(std::nullopt), "import");
        audit::Changes ch;
        ch.set("asset_tag", *x.asset_tag);
        ch.set("status", status);
        audit::record(tx, a,
                      {.action = "assets.asset.create",
                       .object_type = "asset",
                       .object_id = std::to_string(id),
                       .changes = ch.str(),
                       .reason = "import"},
                      now);
      } else if (write && o.action == "updated") {
        Asset after = *before;
        if (x.name) after.name = *x.name;
        if (x.category) after.category = *x.category;
        if (x.model) after.model = *x.model;
        if (x.serial) after.serial = *x.serial;
        if (x.supplier) after.supplier = *x.supplier;
        if (x.location) after.location = *x.location;
        if (x.notes) after.notes = *x.notes;
        if (x.purchase_date) after.purchase_date = *x.purchase_date;
        if (x.warranty_end) after.warranty_end = *x.warranty_end;
        if (x.cost_cents) after.cost_cents = *x.cost_cents;
        tx.exec(
            "UPDATE assets SET name = ?, category = ?, model = ?, serial = ?, supplier = ?, "
            "location = ?, notes = ?, purchase_date = ?, warranty_end = ?, cost_cents = ?, "
            "department_id = ?, custodian_id = ?, repairer_id = ?, version = version + 1, "
            "updated_at = ? WHERE org_id = ? AND id = ?",
            {after.name, after.category, after.model, after.serial, after.supplier, after.location,
             after.notes, detail::opt(after.purchase_date), detail::opt(after.warranty_end),
             detail::opt(after.cost_cents), detail::opt(dept), detail::opt(custodian),
             detail::opt(repairer), now, p.org_id, before->id});
        detail::add_event(tx, p, before->id, now, "edited", "", "", std::nullopt, "import");
        audit::Changes ch;
        for (const auto& f : o.fields) ch.set(f.c_str(), true);
        audit::record(tx, a,
                      {.action = "assets.asset.update",
                       .object_type = "asset",
                       .object_id = std::to_string(before->id),
                       .changes = ch.str(),
                       .reason = "import"},
                      now);
      }
      report.count(std::move(o));
    }
    if (write && !report.ok()) throw Rollback{};
    if (write)
      audit::record(tx, a,
                    {.action = "assets.import",
                     .object_type = "assets",
                     .changes = "{\"created\":" + std::to_string(report.created) +
                                ",\"updated\":" + std::to_string(report.updated) + "}"},
                    now);
  };
  if (dry_run) {
    db_.read([&](db::Tx& tx) { run(tx, false); });
    return report;
  }
  try {
    db_.write([&](db::Tx& tx) { run(tx, true); });
  } catch (const Rollback&) {
    report.discard_outcomes();
  }
  return report;
}

std::vector<std::string> AssetsIo::export_header() {
  std::vector<std::string> h;
  for (const auto& c : columns())
    if (c.key != "model_number" && c.key != "manufacturer" && c.key != "order_number" &&
        c.key != "company")
      h.push_back(c.zh);
  for (const char* extra : {"系统编号", "保管人姓名", "部门名称", "更新时间"})
    h.emplace_back(extra);
  return h;
}

std::size_t AssetsIo::export_rows(Assets& assets, const authz::Principal& p, Query q,
                                  const std::function<void(const std::vector<std::string>&)>& row) {
  q.limit = 500;
  q.after_id.reset();
  std::size_t n = 0;
  const auto money = [](const std::optional<int64_t>& c) {
    return c ? yuan_text(*c) : std::string();
  };
  for (;;) {
    const List page = assets.list(p, q);
    for (const auto& x : page.items) {
      const auto codes = db_.read([&](db::Tx& tx) {
        auto d = x.department_id
                     ? tx.one("SELECT code FROM departments WHERE id = ?", {*x.department_id})
                     : std::nullopt;
        auto c = x.custodian_id ? tx.one(
                                      "SELECT COALESCE(employee_no, username) FROM users "
                                      "WHERE id = ?",
                                      {*x.custodian_id})
                                : std::nullopt;
        auto r = x.repairer_id ? tx.one("SELECT COALESCE(employee_no, '') FROM users WHERE id = ?",
                                        {*x.repairer_id})
                               : std::nullopt;
        return std::array<std::string, 3>{d ? db::as_text(d->at(0)) : "",
                                          c ? db::as_text(c->at(0)) : "",
                                          r ? db::as_text(r->at(0)) : ""};
      });
      row({x.asset_tag, x.name, x.category, x.model, x.serial, x.supplier, x.location,
           x.purchase_date.value_or(""), money(x.cost_cents), x.warranty_end.value_or(""), codes[0],
           codes[1], codes[2], x.status, x.notes, std::to_string(x.id), x.custodian_name,
           x.department_name, text::rfc3339(x.updated_at)});
      ++n;
    }
    if (!page.next_cursor) break;
    q.after_id = std::stoll(*page.next_cursor);
  }
  return n;
}

}  // namespace custos::assets
