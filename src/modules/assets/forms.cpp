#include "modules/assets/forms.h"

#include <boost/json.hpp>

#include <cmath>

#include "modules/assets/internal.h"
#include "platform/audit/changes.h"
#include "platform/errors/error.h"

namespace custos::assets {

namespace {

using workflow::FieldType;

audit::Actor actor_of(const workflow::Ended& e) {
  return {e.org_id, e.actor_id, std::nullopt, "", "workflow." + std::to_string(e.instance_id)};
}

// The approver acts on the asset: the history names them.
authz::Principal acting(const workflow::Ended& e) {
  authz::Principal p;
  p.org_id = e.org_id;
  p.user_id = e.actor_id.value_or(0);
  return p;
}

std::vector<db::Value> subject_row(db::Tx& tx, int64_t org, std::optional<int64_t> id) {
  if (!id) throw Error(ErrorCode::validation_failed, "body.subject_id", "the asset");
  auto r = tx.one(
      "SELECT status, custodian_id, asset_tag, department_id FROM assets WHERE org_id "
      "= ? AND id = ?",
      {org, *id});
  if (!r) throw Error(ErrorCode::not_found, "body.subject_id");
  return *r;
}

void no_other_running(db::Tx& tx, int64_t org, const char* form, int64_t asset) {
  if (tx.one("SELECT 1 FROM workflow_instances WHERE org_id = ? AND form_type = ? AND "
             "subject_id = ? AND status IN ('running', 'returned')",
             {org, std::string(form), asset}))
    throw Error(ErrorCode::conflict, "body.subject_id", "a form about this asset is under way");
}

int64_t cents(const std::string& form, const char* field) {
  auto v = workflow::form_number(form, field);
  return v ? static_cast<int64_t>(std::llround(*v * 100)) : 0;
}

void procurement_approved(db::Tx& tx, const workflow::Todo& todo, const workflow::Ended& e,
                          int64_t now) {
  const auto& f = e.form_json;
  const int64_t n = static_cast<int64_t>(workflow::form_number(f, "quantity").value_or(0));
  const std::string item = workflow::form_text(f, "item");
  const std::string dept = workflow::form_text(f, "department_id");
  const authz::Principal p = acting(e);
  boost::json::array ids;
  for (int64_t i = 1; i <= n; ++i) {
    char base[48];
    std::snprintf(base, sizeof base, "CG%06lld-%03lld", static_cast<long long>(e.instance_id),
                  static_cast<long long>(i));
    // A tag someone registered by hand first is not taken over: the next free suffix is.
    std::string tag = base;
    for (int k = 2;
         tx.one("SELECT 1 FROM assets WHERE org_id = ? AND asset_tag = ?", {e.org_id, tag}); ++k)
      tag = std::string(base) + "-" + std::to_string(k);
    auto r = tx.one(
        "INSERT INTO assets (org_id, asset_tag, category, name, model, supplier, notes, status, "
        "cost_cents, department_id, procurement_id, created_at, updated_at) VALUES (?, ?, ?, ?, "
        "?, ?, ?, 'ordered', ?, ?, ?, ?, ?) RETURNING id",
        {e.org_id, tag, workflow::form_text(f, "category"), item, workflow::form_text(f, "model"),
         workflow::form_text(f, "supplier"), "采购申请 #" + std::to_string(e.instance_id),
         cents(f, "unit_price"), dept.empty() ? db::null() : db::Value(std::stoll(dept)),
         e.instance_id, now, now});
    const int64_t id = db::as_int(r->at(0));
    detail::add_event(tx, p, id, now, "created", "", "ordered", cents(f, "unit_price"),
                      "采购申请 #" + std::to_string(e.instance_id));
    ids.emplace_back(std::to_string(id));
  }
  // The purchase task: the IT department's head receives the equipment.
  const int64_t buyer = detail::it_head(tx, e.org_id).value_or(e.initiator_id);
  todo.assign(tx, e.org_id, buyer, "assets.purchase",
              "采购并验收：" + item + " × " + std::to_string(n),
              "Buy and receive: " + item + " x " + std::to_string(n), "procurement",
              std::to_string(e.instance_id), std::nullopt, now);
  audit::record(tx, actor_of(e),
                {.action = "assets.procurement.approve",
                 .object_type = "workflow_instance",
                 .object_id = std::to_string(e.instance_id),
                 .changes = boost::json::serialize(boost::json::object{{"assets", ids}})},
                now);
}

void disposal_approved(db::Tx& tx, const workflow::Ended& e, int64_t now) {
  const auto row = subject_row(tx, e.org_id, e.subject_id);
  if (db::as_text(row[0]) != "pending_disposal")
    throw Error(ErrorCode::transition_not_allowed, "", "the asset is no longer pending disposal");
  const std::string method = workflow::form_text(e.form_json, "method");
  const std::string to = method == "sell" ? "sold" : "scrapped";
  const std::optional<int64_t> price =
      method == "sell" ? std::optional(cents(e.form_json, "price")) : std::nullopt;
  tx.exec(
      "UPDATE assets SET status = ?, custodian_id = NULL, updated_at = ?, version = version + "
      "1 WHERE org_id = ? AND id = ?",
      {to, now, e.org_id, *e.subject_id});
  detail::add_event(tx, acting(e), *e.subject_id, now, "state", "pending_disposal", to, price,
                    method + ": 处置审批 #" + std::to_string(e.instance_id) + "：" +
                        workflow::form_text(e.form_json, "reason"));
  audit::Changes ch;
  ch.add("status", std::string("pending_disposal"), to);
  ch.set("approval", e.instance_id);
  if (price) ch.set("price_cents", *price);
  audit::record(tx, actor_of(e),
                {.action = "assets.asset." + method,
                 .object_type = "asset",
                 .object_id = std::to_string(*e.subject_id),
                 .changes = ch.str(),
                 .reason = "workflow instance " + std::to_string(e.instance_id)},
                now);
}

void handover_approved(db::Tx& tx, const workflow::Todo& todo, const workflow::Ended& e,
                       int64_t now) {
  const auto row = subject_row(tx, e.org_id, e.subject_id);
  const auto from = db::as_opt_int(row[1]);
  const std::string to_text = workflow::form_text(e.form_json, "to_user_id");
  const authz::Principal p = acting(e);
  audit::Changes ch;
  if (to_text.empty()) {
    if (db::as_text(row[0]) != "in_use" && db::as_text(row[0]) != "idle")
      throw Error(ErrorCode::transition_not_allowed, "", "the asset is not in use");
    tx.exec(
        "UPDATE assets SET status = 'in_stock', custodian_id = NULL, updated_at = ?, version "
        "= version + 1 WHERE org_id = ? AND id = ?",
        {now, e.org_id, *e.subject_id});
    detail::add_event(tx, p, *e.subject_id, now, "state", db::as_text(row[0]), "in_stock",
                      std::nullopt, "handover: 交接审批 #" + std::to_string(e.instance_id));
    ch.add("status", db::as_text(row[0]), std::string("in_stock"));
  } else {
    const int64_t to = std::stoll(to_text);
    const auto dept = detail::check_user(tx, e.org_id, to, "body.form.to_user_id");
    tx.exec(
        "UPDATE assets SET status = 'in_use', custodian_id = ?, department_id = COALESCE(?, "
        "department_id), updated_at = ?, version = version + 1 WHERE org_id = ? AND id = ?",
        {to, detail::opt(dept), now, e.org_id, *e.subject_id});
    ch.set("custodian_id", to);
  }
  detail::add_event(tx, p, *e.subject_id, now, "custodian", from ? std::to_string(*from) : "",
                    to_text, std::nullopt, "交接审批 #" + std::to_string(e.instance_id));
  todo.close(tx, e.org_id, "asset", std::to_string(*e.subject_id), "assets.handover", now);
  ch.set("approval", e.instance_id);
  audit::record(tx, actor_of(e),
                {.action = "assets.asset.handover",
                 .object_type = "asset",
                 .object_id = std::to_string(*e.subject_id),
                 .changes = ch.str(),
                 .reason = "workflow instance " + std::to_string(e.instance_id)},
                now);
}

}  // namespace

void register_forms(workflow::Engine& engine, const workflow::Todo& todo) {
  {
    workflow::FormType f;
    f.key = kProcurementForm;
    f.name_zh = "设备采购申请";
    f.name_en = "Equipment purchase request";
    f.summary = "采购：{item} × {quantity}";
    f.fields = {
        {.name = "department_id",
         .type = FieldType::department,
         .label_zh = "申请部门",
         .label_en = "Requesting department",
         .required = true},
        {.name = "category",
         .type = FieldType::choice,
         .label_zh = "类别",
         .label_en = "Category",
         .required = true,
         .choices = categories()},
        {.name = "item",
         .type = FieldType::text,
         .label_zh = "设备名称",
         .label_en = "Item",
         .required = true,
         .max_length = 100},
        {.name = "model",
         .type = FieldType::text,
         .label_zh = "型号",
         .label_en = "Model",
         .max_length = 100},
        {.name = "quantity",
         .type = FieldType::integer,
         .label_zh = "数量",
         .label_en = "Quantity",
         .required = true,
         .min = 1,
         .max = 500},
        {.name = "unit_price",
         .type = FieldType::decimal,
         .label_zh = "单价（元）",
         .label_en = "Unit price (CNY)",
         .required = true,
         .min = 0,
         .max = 10'000'000},
        {.name = "supplier",
         .type = FieldType::text,
         .label_zh = "供应商",
         .label_en = "Supplier",
         .max_length = 100},
        {.name = "reason",
         .type = FieldType::text,
         .label_zh = "采购理由",
         .label_en = "Reason",
         .required = true,
         .max_length = 2000},
    };
    f.on_end = [&todo](db::Tx& tx, const workflow::Ended& e, int64_t now) {
      if (e.outcome == "approved") procurement_approved(tx, todo, e, now);
    };
    engine.register_form_type(std::move(f));
  }
  {
    workflow::FormType f;
    f.key = kDisposalForm;
    f.name_zh = "设备报废/出售申请";
    f.name_en = "Equipment write-off or sale";
    f.summary = "处置设备（{method}）：{reason}";
    f.subject_type = "asset";
    f.fields = {
        {.name = "method",
         .type = FieldType::choice,
         .label_zh = "处置方式",
         .label_en = "Method",
         .required = true,
         .choices = {"scrap", "sell"}},
        {.name = "price",
         .type = FieldType::decimal,
         .label_zh = "出售价格（元）",
         .label_en = "Sale price (CNY)",
         .min = 0,
         .max = 10'000'000},
        {.name = "reason",
         .type = FieldType::text,
         .label_zh = "理由",
         .label_en = "Reason",
         .required = true,
         .max_length = 2000},
    };
    f.on_start = [](db::Tx& tx, const authz::Principal& p, std::optional<int64_t> subject,
                    const std::string& form) -> std::optional<int64_t> {
      if (!subject) throw Error(ErrorCode::validation_failed, "body.subject_id", "the asset");
      const Asset a = detail::writable_asset(tx, p, *subject);
      if (a.status != "pending_disposal")
        throw Error(ErrorCode::transition_not_allowed, "body.subject_id",
                    "only an asset pending disposal (action dispose) is written off or sold");
      if (workflow::form_text(form, "method") == "sell" && !workflow::form_number(form, "price"))
        throw Error(ErrorCode::validation_failed, "body.form.price", "the price of the sale");
      no_other_running(tx, p.org_id, kDisposalForm, *subject);
      return a.custodian_id;
    };
    f.on_end = [](db::Tx& tx, const workflow::Ended& e, int64_t now) {
      if (e.outcome == "approved") disposal_approved(tx, e, now);
    };
    engine.register_form_type(std::move(f));
  }
  {
    workflow::FormType f;
    f.key = kHandoverForm;
    f.name_zh = "设备交接";
    f.name_en = "Equipment handover";
    f.summary = "设备交接：{reason}";
    f.subject_type = "asset";
    f.fields = {
        {.name = "to_user_id",
         .type = FieldType::user,
         .label_zh = "接收人（空：交回仓库）",
         .label_en = "Receiving colleague (empty: back to stock)"},
        {.name = "reason",
         .type = FieldType::text,
         .label_zh = "交接原因",
         .label_en = "Reason",
         .required = true,
         .max_length = 2000},
    };
    f.on_start = [](db::Tx& tx, const authz::Principal& p, std::optional<int64_t> subject,
                    const std::string&) -> std::optional<int64_t> {
      if (!subject) throw Error(ErrorCode::validation_failed, "body.subject_id", "the asset");
      // The custodian hands over what they hold; so may whoever keeps the archive. Anyone else
      // is told the asset does not exist.
      auto r = tx.one("SELECT custodian_id FROM assets WHERE org_id = ? AND id = ?",
                      {p.org_id, *subject});
      const auto custodian = r ? db::as_opt_int(r->at(0)) : std::nullopt;
      if (!r || custodian != p.user_id) detail::writable_asset(tx, p, *subject);
      if (!custodian)
        throw Error(ErrorCode::transition_not_allowed, "body.subject_id",
                    "the asset has no custodian to hand it over");
      no_other_running(tx, p.org_id, kHandoverForm, *subject);
      return custodian;
    };
    f.on_end = [&todo](db::Tx& tx, const workflow::Ended& e, int64_t now) {
      if (e.outcome == "approved") handover_approved(tx, todo, e, now);
    };
    engine.register_form_type(std::move(f));
  }
}

void register_offboarding_check(org::Offboarding& offboarding, const workflow::Todo& todo) {
  offboarding.register_check(
      "asset_handover", "设备交接（IT-2）", "Equipment handover (IT-2)",
      [](db::Tx& tx, int64_t org, int64_t user) {
        std::vector<std::string> tags;
        for (const auto& r : tx.query("SELECT asset_tag FROM assets WHERE org_id = ? AND "
                                      "custodian_id = ? AND status NOT IN ('scrapped', 'sold') "
                                      "ORDER BY asset_tag LIMIT 50",
                                      {org, user})
                                 .rows)
          tags.push_back(db::as_text(r[0]));
        return tags;
      },
      // A handover task for every asset the person holds, in their own to-do list: each is
      // closed when its handover form is approved.
      [&todo](db::Tx& tx, int64_t org, int64_t user, int64_t, int64_t now) {
        for (const auto& r : tx.query("SELECT id, asset_tag, name FROM assets WHERE org_id = ? AND "
                                      "custodian_id = ? AND status NOT IN ('scrapped', 'sold')",
                                      {org, user})
                                 .rows)
          todo.assign(tx, org, user, "assets.handover",
                      "办理设备交接：" + db::as_text(r[1]) + " " + db::as_text(r[2]),
                      "Hand over the equipment " + db::as_text(r[1]), "asset",
                      std::to_string(db::as_int(r[0])), std::nullopt, now);
      });
}

}  // namespace custos::assets
