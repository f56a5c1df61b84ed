// Password policy (MLPS 身份鉴别; ASVS 2.1): length, character classes, a common-password list,
// not the user's own name or number. Configurable through [security] keys.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace custos::authn {

struct PasswordPolicy {
  int min_length = 12;
  int max_length = 128;
  int min_classes = 3;    // of: lower, upper, digit, other
  int rotation_days = 0;  // 0: no forced rotation
};

// nullopt when acceptable; otherwise the reason, as a stable snake_case word used in the
// error's detail: too_short, too_long, too_few_classes, common, contains_identity.
std::optional<std::string> check_password(const PasswordPolicy& policy, std::string_view password,
                                          std::string_view username, std::string_view name,
                                          std::string_view employee_no);

bool is_common_password(std::string_view password);

}  // namespace custos::authn
