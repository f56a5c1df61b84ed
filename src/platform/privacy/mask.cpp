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

std::string mask_mobile(std::string_view mobile) {
  // 13812345678 → 138****5678; shorter numbers keep what they can.
  return mask_middle(mobile, 3, 4);
}

std::string mask_id_card(std::string_view id) {
  return mask_middle(id, 6, 4);
}

std::string mask_name(std::string_view name) {
  auto p = points(name);
  if (p.empty()) return {};
  std::string out(p[0]);
  out.append(p.size() > 1 ? p.size() - 1 : 1, '*');
  return out;
}

std::string mask_email(std::string_view email) {
  auto at = email.find('@');
  if (at == std::string_view::npos || at == 0) return mask_middle(email, 1, 0);
  return std::string(email.substr(0, 1)) + "***" + std::string(email.substr(at));
}

}  // namespace custos::privacy
