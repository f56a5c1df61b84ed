#include "platform/authn/password_policy.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "platform/text/utf8.h"

namespace custos::authn {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The most used passwords of public breach corpora, and the defaults of Chinese enterprise
// systems; compared case-insensitively after stripping trailing digits and punctuation, so
// "Password123!" counts as "password".
constexpr std::array<std::string_view, 64> kCommon = {
    "password",      "passw0rd", "p@ssw0rd",   "p@ssword",  "123456",    "12345678",  "123456789",
    "1234567890",    "qwerty",   "qwertyuiop", "abc123",    "111111",    "000000",    "admin",
    "administrator", "root",     "toor",       "letmein",   "welcome",   "iloveyou",  "monkey",
    "dragon",        "master",   "sunshine",   "princess",  "football",  "baseball",  "superman",
    "trustno1",      "changeme", "default",    "guest",     "test",      "qazwsx",    "1qaz2wsx",
    "1q2w3e4r",      "zaq12wsx", "asdfgh",     "asdfghjkl", "zxcvbnm",   "woaini",    "woaini1314",
    "5201314",       "aini1314", "a123456",    "aa123456",  "abcd1234",  "admin@123", "admin123",
    "root123",       "system",   "manager",    "oracle",    "sa",        "huawei",    "hospital",
    "yiyuan",        "wuye",     "custos",     "secret",    "password1", "qwe123",    "q1w2e3r4",
    "computer"};

std::string core(std::string_view password) {
  std::string s = lower(password);
  while (!s.empty() && (std::isdigit(static_cast<unsigned char>(s.back())) ||
                        std::ispunct(static_cast<unsigned char>(s.back()))))
    s.pop_back();
  return s;
}

}  // namespace

// One character over and over ("aaaaaaaaaaaa", "安安安安安安"), compared by code point.
bool all_same(std::string_view s) {
  if (s.empty()) return false;
  size_t first = 1;
  while (first < s.size() && (static_cast<unsigned char>(s[first]) & 0xC0) == 0x80) ++first;
  const std::string_view unit = s.substr(0, first);
  if (s.size() % unit.size()) return false;
  for (size_t i = 0; i < s.size(); i += unit.size())
    if (s.substr(i, unit.size()) != unit) return false;
  return true;
}

// A run along the keyboard or the alphabet, forwards or backwards: "123456789012", "qwertyui".
bool keyboard_run(std::string_view s) {
  if (s.size() < 4) return false;
  static const std::array<std::string, 4> kRows = {
      "0123456789012345678901234567890123456789",
      "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
      "qwertyuiopasdfghjklzxcvbnmqwertyuiopasdfghjklzxcvbnm",
      "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p"};
  const std::string reversed(s.rbegin(), s.rend());
  for (const auto& row : kRows)
    if (row.find(s) != std::string::npos || row.find(reversed) != std::string::npos) return true;
  return false;
}

bool is_common_password(std::string_view password) {
  const std::string full = lower(password);
  const std::string c = core(password);
  for (std::string_view w : kCommon)
    if (full == w || c == w) return true;
  // Repeats and runs, with or without trailing digits and punctuation as decoration.
  for (const std::string& s : {full, c})
    if (all_same(s) || keyboard_run(s)) return true;
  return false;
}

std::optional<std::string> check_password(const PasswordPolicy& policy, std::string_view password,
                                          std::string_view username, std::string_view name,
                                          std::string_view employee_no) {
  const auto length = static_cast<int>(text::utf8_length(password));
  if (length < policy.min_length) return "too_short";
  if (length > policy.max_length) return "too_long";
  int lower_c = 0, upper_c = 0, digit_c = 0, other_c = 0;
  for (unsigned char c : password) {
    if (std::islower(c))
      lower_c = 1;
    else if (std::isupper(c))
      upper_c = 1;
    else if (std::isdigit(c))
      digit_c = 1;
    else
      other_c = 1;
  }
  if (lower_c + upper_c + digit_c + other_c < policy.min_classes) return "too_few_classes";
  if (is_common_password(password)) return "common";
  const std::string p = lower(password);
  for (std::string_view id : {username, name, employee_no}) {
    if (id.size() >= 3 && p.find(lower(id)) != std::string::npos) return "contains_identity";
  }
  return std::nullopt;
}

}  // namespace custos::authn
