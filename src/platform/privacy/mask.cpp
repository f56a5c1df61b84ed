#include "platform/privacy/mask.h"

#include <vector>

namespace custos::privacy {
namespace {

// Splits UTF-8 into code points (each as its bytes); invalid bytes count as one point each.
std::vector<std::string_view> points(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (i + n > s.size()) n = 1;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string keep(std::string_view s, Keep k) {
  return mask_middle(s, static_cast<size_t>(k.start), static_cast<size_t>(k.end));
}

}  // namespace

std::string mask_middle(std::string_view s, size_t keep_start, size_t keep_end) {
  auto p = points(s);
  if (p.empty()) return {};
  if (keep_start + keep_end >= p.size()) {
    // Too short to show both ends: show at most the first point.
    std::string out(p.size() > 1 ? p[0] : std::string_view());
    out.append(p.size() > 1 ? p.size() - 1 : 1, '*');
    return out;
  }
  std::string out;
  for (size_t i = 0; i < keep_start; ++i) out += p[i];
  out.append(p.size() - keep_start - keep_end, '*');
  for (size_t i = p.size() - keep_end; i < p.size(); ++i) out += p[i];
  return out;
}

std::string Masker::mask(Field field, std::string_view value) const {
  switch (field) {
    case Field::mobile:
      // 13812345678 → 138****5678; shorter numbers keep what they can.
      return keep(value, rules_.mobile);
    case Field::id_card:
      return keep(value, rules_.id_card);
    case Field::name:
      return keep(value, rules_.name);
    case Field::address:
      return keep(value, rules_.address);
    case Field::email: {
      // The local part's length is not revealed: always three stars.
      auto at = value.find('@');
      if (at == std::string_view::npos || at == 0) return keep(value, rules_.email);
      auto local = points(value.substr(0, at));
      std::string out;
      const size_t shown = std::min(static_cast<size_t>(rules_.email.start),
                                    local.size() > 1 ? local.size() - 1 : 0);
      for (size_t i = 0; i < shown; ++i) out += local[i];
      out += "***";
      out.append(value.substr(at));
      return out;
    }
  }
  return std::string(value.size() ? "*" : "");
}

std::string mask_mobile(std::string_view mobile) {
  return Masker().mobile(mobile);
}
std::string mask_id_card(std::string_view id) {
  return Masker().id_card(id);
}
std::string mask_name(std::string_view name) {
  return Masker().name(name);
}
std::string mask_email(std::string_view email) {
  return Masker().email(email);
}

}  // namespace custos::privacy
