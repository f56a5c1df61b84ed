// Demo data (issue #6 item 7): a hospital-and-property service organisation with departments,
// staff, customers and service requests that read like real ones — Chinese names, valid-format
// ID-card numbers and mobiles, addresses, request texts — for the console and for benchmarks
// (`custos demo --scale 1000000` gives 1,000,000 requests and 200,000 customers).
//
//  * The structure (departments, posts, staff with roles) is created once; a later run finds it
//    and only adds records, so a database can be scaled up in steps.
//  * Records are written in bulk inside transactions of a few thousand rows, through the same
//    storage forms as the registry (personal fields sealed with the field cipher, blind
//    indexes, search tokens, SLA due times from the configured targets), without one audit
//    record per row: the run is one audit record "demo.load".
//  * Staff share one generated password, printed once by the command; it need not be changed
//    (demo databases only). Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <string>

#include "modules/registry/registry.h"
#include "platform/clock.h"
#include "platform/storage/db.h"
#include "platform/workflow/engine.h"

namespace custos::demo {

struct Options {
  int64_t requests = 2000;
  int64_t customers = -1;  // -1: requests / 5
  int64_t assets = -1;     // -1: requests / 10
  uint64_t seed = 20261201;
};

struct Result {
  bool structure_created = false;
  std::string password;  // staff password; empty when the structure existed
  int64_t departments = 0, staff = 0, customers = 0, requests = 0, feedback = 0, assets = 0;
};

Result load(db::Db& db, const Clock& clock, const registry::Registry& registry,
            const Options& options);

// The demo's approval processes for the equipment forms (IT-1, IT-2, IT-6): purchase by the
// admin/HR head then the president's office, write-off or sale by finance then the president's
// office, handover by the custodian's head then the IT department. Returns how many were made
// (none when they exist, or no system administrator exists to own them: `custos admin init`).
int add_processes(db::Db& db, workflow::Engine& engine);

}  // namespace custos::demo
