#include "modules/org/org_rules.h"

namespace custos::org {

const std::regex& code_re() {
  static const std::regex re("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  return re;
}

const std::regex& username_re() {
  static const std::regex re("[a-z0-9][a-z0-9._-]{2,63}");
  return re;
}

const std::regex& email_re() {
  static const std::regex re("[^@\\s]{1,64}@[^@\\s]{1,255}\\.[^@\\s]{1,63}");
  return re;
}

const std::regex& permission_re() {
  static const std::regex re("([a-z*][a-z0-9_*-]*):([a-z*][a-z0-9_*-]*):([a-z*][a-z0-9_*-]*)");
  return re;
}

std::optional<std::string> parse_kind(const std::string& s) {
  struct Kind {
    const char* key;
    const char* zh;
  };
  static constexpr Kind kKinds[] = {{"normal", "普通"},
                                    {"it", "信息管理部"},
                                    {"president_office", "总裁办"},
                                    {"finance", "财务"},
                                    {"admin_hr", "行政人事"}};
  std::string lower = s;
  for (char& ch : lower)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  for (const Kind& k : kKinds)
    if (lower == k.key || s == k.zh) return std::string(k.key);
  return std::nullopt;
}

}  // namespace custos::org
