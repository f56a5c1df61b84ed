// Masking of personal data for display, export and logs (PIPL; compliance checklist item 31):
// mobile 138****5678, ID-card number first 6 and last 4, name 张*, e-mail a***@x.com. Every
// module uses these; the API shows the clear value only to callers allowed to unmask.
#pragma once

#include <string>
#include <string_view>

namespace custos::privacy {

std::string mask_mobile(std::string_view mobile);
std::string mask_id_card(std::string_view id);
std::string mask_name(std::string_view name);
std::string mask_email(std::string_view email);
// Keeps the first `keep_start` and last `keep_end` characters (code points), '*' between.
std::string mask_middle(std::string_view s, size_t keep_start, size_t keep_end);

}  // namespace custos::privacy
