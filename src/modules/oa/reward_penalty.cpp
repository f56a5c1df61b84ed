#include "modules/oa/reward_penalty.h"

namespace custos::oa {

void register_forms(workflow::Engine& engine) {
  using workflow::FieldType;
  workflow::FormType f;
  f.key = kPenaltyWaiver;
  f.name_zh = "罚款减免申请";
  f.name_en = "Penalty waiver or reduction";
  f.summary = "罚款减免：{penalty_no}（{amount} 元）";
  f.fields = {
      {.name = "penalty_no",
       .type = FieldType::text,
       .label_zh = "处罚单号",
       .label_en = "Penalty number",
       .required = true,
       .max_length = 64},
      {.name = "issuing_department_id",
       .type = FieldType::department,
       .label_zh = "处罚下发部门",
       .label_en = "Issuing department",
       .required = true},
      {.name = "person_id",
       .type = FieldType::user,
       .label_zh = "被处罚人",
       .label_en = "Person penalised",
       .required = true},
      {.name = "amount",
       .type = FieldType::decimal,
       .label_zh = "罚款金额（元）",
       .label_en = "Amount (CNY)",
       .required = true,
       .min = 0,
       .max = 1'000'000},
      {.name = "request",
       .type = FieldType::choice,
       .label_zh = "申请",
       .label_en = "Request",
       .required = true,
       .choices = {"waive", "reduce"}},
      {.name = "reason",
       .type = FieldType::text,
       .label_zh = "理由",
       .label_en = "Reason",
       .required = true,
       .max_length = 2000},
  };
  engine.register_form_type(std::move(f));
}

}  // namespace custos::oa
