// The equipment archive in and out of spreadsheets (issue #7 item 9), on top of
// platform/tabular/import.h like the other registers.
//
//  * Keyed by the asset tag: a new tag is created (status in_stock, or in_use when a custodian
//    is named, or the Status column's state), an existing one is updated in the fields that
//    differ (its state is the lifecycle's: a different Status is a warning, not a change).
//  * Snipe-IT's asset export imports as it is: Asset Tag, Name, Category, Model, Model Number,
//    Manufacturer, Serial, Supplier, Location, Purchase Date, Purchase Cost, Order Number,
//    Company, Checked Out To, Status, Notes. Categories and states are matched by key, Chinese
//    name or Snipe-IT's usual names; an unknown category becomes "other" with a warning.
//  * References: department by code, custodian (Checked Out To / 保管人) by employee number,
//    user name or a unique name, designated repairer by employee number (a member of IT).
//  * A dry run only reads; a real run writes every row in one transaction or nothing, with an
//    audit record per created or updated asset and one for the run.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "modules/assets/assets.h"
#include "platform/tabular/import.h"

namespace custos::assets {

inline constexpr std::size_t kMaxAssetImportRows = 50000;

class AssetsIo {
 public:
  AssetsIo(db::Db& db, const Clock& clock);

  tabular::ImportReport import(const authz::Principal& p, const audit::Actor& a,
                               std::string_view file_bytes, bool dry_run);
  static std::string template_file(tabular::Format format);

  static std::vector<std::string> export_header();
  // The rows the list's filter selects (its limit and cursor ignored), in id order.
  std::size_t export_rows(Assets& assets, const authz::Principal& p, Query q,
                          const std::function<void(const std::vector<std::string>&)>& row);

 private:
  db::Db& db_;
  const Clock& clock_;
};

}  // namespace custos::assets
