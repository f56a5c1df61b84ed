// The reward/penalty platform (奖惩平台, OA-3), as far as approvals go: a penalty waiver or
// reduction (罚款减免/减轻) is a form the approval engine routes — by the definitions the
// administrators store, typically to the head of the department that issued the penalty and that
// head's superior, each required to hold a post with approval authority, so it can never reach
// anyone without it.
#pragma once

#include "platform/workflow/engine.h"

namespace custos::oa {

inline constexpr const char* kPenaltyWaiver = "oa.penalty_waiver";

void register_forms(workflow::Engine& engine);

}  // namespace custos::oa
