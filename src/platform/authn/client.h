// Where a request comes from, as the services see it: recorded in the login log and in every
// audit record the request causes.
#pragma once

#include <string>

namespace custos::authn {

struct Client {
  std::string ip;
  std::string user_agent;
  std::string request_id;
};

}  // namespace custos::authn
