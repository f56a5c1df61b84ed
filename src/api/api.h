// The public API: every route of the product is registered here, by area. main() composes the
// dependencies and calls register_routes once.
#pragma once

#include <map>
#include <string>

#include "http/metrics.h"
#include "http/router.h"
#include "modules/assets/assets.h"
#include "modules/assets/inventory.h"
#include "modules/assets/network.h"
#include "modules/assets/violations.h"
#include "modules/org/offboarding.h"
#include "modules/org/org_service.h"
#include "modules/registry/registry.h"
#include "platform/authn/auth_service.h"
#include "platform/authz/classification.h"
#include "platform/authz/grants.h"
#include "platform/config/config.h"
#include "platform/notify/notifier.h"
#include "platform/storage/db.h"
#include "platform/workflow/engine.h"
#include "platform/workflow/todo.h"

namespace custos::api {

struct Deps {
  db::Db& db;
  const Config& config;
  http::Metrics& metrics;
  authn::AuthService& auth;
  org::OrgService& org;
  org::Offboarding& offboarding;
  authz::ClassificationService& classifications;
  authz::GrantService& grants;
  workflow::Engine& workflow;
  workflow::Todo& todo;
  const notify::Notifier& notifier;
  registry::Registry& registry;
  assets::Assets& assets;
  assets::Network& network;
  assets::Violations& violations;
  assets::Inventory& inventory;
  // Named JSON Schemas for the OpenAPI document's components (name -> schema JSON text).
  std::map<std::string, std::string> schemas;
};

void register_routes(http::Router& router, Deps& deps);

// Areas.
void register_system_routes(http::Router& router, Deps& deps);
void register_diagnostics_routes(http::Router& router, Deps& deps);
void register_openapi_route(http::Router& router, Deps& deps);
void register_auth_routes(http::Router& router, Deps& deps);
void register_org_routes(http::Router& router, Deps& deps);
void register_import_routes(http::Router& router, Deps& deps);
void register_offboarding_routes(http::Router& router, Deps& deps);
void register_audit_routes(http::Router& router, Deps& deps);
void register_access_routes(http::Router& router, Deps& deps);
void register_workflow_routes(http::Router& router, Deps& deps);
void register_todo_routes(http::Router& router, Deps& deps);
void register_registry_routes(http::Router& router, Deps& deps);
void register_registry_io_routes(http::Router& router, Deps& deps);
void register_assets_routes(http::Router& router, Deps& deps);
void register_inventory_routes(http::Router& router, Deps& deps);
void register_network_routes(http::Router& router, Deps& deps);

// The OpenAPI 3.1 document for every route in the router.
std::string build_openapi(const http::Router& router,
                          const std::map<std::string, std::string>& schemas);

}  // namespace custos::api
