// The registry's list filters from a request's query, shared by its lists and its exports.
// Throw validation_failed naming the parameter.
#pragma once

#include "http/request.h"
#include "modules/registry/registry.h"

namespace custos::api {

registry::CustomerQuery customer_query(const http::Request& req);
registry::RequestQuery request_query(const http::Request& req);

}  // namespace custos::api
