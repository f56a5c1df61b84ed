// Masking of personal data for display, export and logs (PIPL; compliance checklist item 31):
// by default mobile 138****5678, ID-card number first 6 and last 4, name 张*, e-mail a***@x.com,
// address first 6 characters. The rules are configuration (`[privacy]`), so an organisation
// whose assessor asks for "ID card first 1 and last 2" sets it once; every module masks through
// one Masker built from that configuration. The API shows the clear value only to callers
// allowed to unmask.
#pragma once

#include <string>
#include <string_view>

namespace custos::privacy {

// How many characters (code points) stay visible at each end.
struct Keep {
  int start = 0;
  int end = 0;
};

struct MaskRules {
  Keep mobile{3, 4};
  Keep id_card{6, 4};
  Keep name{1, 0};
  Keep email{1, 0};  // of the part before '@'; the domain stays visible
  Keep address{6, 0};
};

// The kinds of personal field every module masks.
enum class Field { mobile, id_card, name, email, address };

class Masker {
 public:
  Masker() = default;
  explicit Masker(MaskRules rules) : rules_(rules) {}

  std::string mask(Field field, std::string_view value) const;
  std::string mobile(std::string_view v) const { return mask(Field::mobile, v); }
  std::string id_card(std::string_view v) const { return mask(Field::id_card, v); }
  std::string name(std::string_view v) const { return mask(Field::name, v); }
  std::string email(std::string_view v) const { return mask(Field::email, v); }
  std::string address(std::string_view v) const { return mask(Field::address, v); }

  const MaskRules& rules() const { return rules_; }

 private:
  MaskRules rules_;
};

// The default rules, for code that has no configuration at hand (tools, tests).
std::string mask_mobile(std::string_view mobile);
std::string mask_id_card(std::string_view id);
std::string mask_name(std::string_view name);
std::string mask_email(std::string_view email);
// Keeps the first `keep_start` and last `keep_end` characters (code points), '*' between. A
// value too short to show both ends shows only its first character when it has at least two,
// and nothing when it has one.
std::string mask_middle(std::string_view s, size_t keep_start, size_t keep_end);

}  // namespace custos::privacy
