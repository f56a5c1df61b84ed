// The assets module's approvals, carried by the workflow engine (issue #7):
//  * assets.procurement (采购申请, IT-1): a department asks to buy equipment; routed as the
//    definition says (the admin/HR specialist, then company approval). Final approval registers
//    the assets as ordered and gives the IT department's head a purchase task; receiving the
//    last of them (action receive) closes it.
//  * assets.disposal (报废/出售申请, IT-6): an asset pending disposal is scrapped or sold only
//    through this form (the finance approval flow); the final approval records it, with the
//    price of a sale. The actions scrap and sell answer approval_required.
//  * assets.handover (设备交接, IT-2): the custodian hands an asset to a colleague or back to
//    stock; approval moves it. A departure or transfer cannot complete while the person still
//    holds equipment (the offboarding check asset_handover lists the asset tags).
#pragma once

#include "modules/org/offboarding.h"
#include "platform/clock.h"
#include "platform/workflow/engine.h"
#include "platform/workflow/todo.h"

namespace custos::assets {

inline constexpr const char* kProcurementForm = "assets.procurement";
inline constexpr const char* kDisposalForm = "assets.disposal";
inline constexpr const char* kHandoverForm = "assets.handover";

void register_forms(workflow::Engine& engine, const workflow::Todo& todo);
void register_offboarding_check(org::Offboarding& offboarding, const workflow::Todo& todo);

}  // namespace custos::assets
