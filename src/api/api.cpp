#include "api/api.h"

namespace custos::api {

void register_routes(http::Router& router, Deps& deps) {
  register_system_routes(router, deps);
  register_auth_routes(router, deps);
  register_org_routes(router, deps);
  register_import_routes(router, deps);
  register_offboarding_routes(router, deps);
  register_audit_routes(router, deps);
  register_access_routes(router, deps);
  register_workflow_routes(router, deps);
  register_todo_routes(router, deps);
  register_registry_routes(router, deps);
  register_registry_io_routes(router, deps);
  register_assets_routes(router, deps);
  register_inventory_routes(router, deps);
  register_network_routes(router, deps);
  if (deps.config.diagnostics.enabled) register_diagnostics_routes(router, deps);
  // Last: the document describes every route registered before it, itself included.
  register_openapi_route(router, deps);
}

}  // namespace custos::api
