#include "platform/search/tokens.h"

#include <set>

namespace custos::search {
namespace {

// Decodes one UTF-8 code point at s[i]; advances i. Invalid bytes give U+FFFD.
char32_t next_point(std::string_view s, size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc >> 6) != 2) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  i += n;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_cjk(char32_t c) {
  return (c >= 0x2E80 && c <= 0x2FDF) || (c >= 0x3040 && c <= 0x30FF) ||
         (c >= 0x3100 && c <= 0x31FF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FA1F);
}

// Full-width Latin letters and digits (Ａ１) read as their ASCII forms.
char32_t fold(char32_t c) {
  if (c >= 0xFF10 && c <= 0xFF19) return c - 0xFF10 + '0';
  if (c >= 0xFF21 && c <= 0xFF3A) return c - 0xFF21 + 'a';
  if (c >= 0xFF41 && c <= 0xFF5A) return c - 0xFF41 + 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 'a';
  return c;
}

bool is_word(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         (c >= 0xC0 && c < 0x2E80 && c != 0xD7 && c != 0xF7 && !(c >= 0x2000 && c <= 0x2BFF));
}

// Calls on(word) for every word and on_cjk(run) for every CJK run, in order.
template <class Word, class Run>
void scan(std::string_view text, Word&& on_word, Run&& on_cjk) {
  std::string word;
  std::vector<std::string> run;
  auto flush = [&] {
    if (!word.empty()) on_word(word);
    word.clear();
    if (!run.empty()) on_cjk(run);
    run.clear();
  };
  for (size_t i = 0; i < text.size();) {
    const char32_t c = fold(next_point(text, i));
    if (is_cjk(c)) {
      if (!word.empty()) {
        on_word(word);
        word.clear();
      }
      std::string ch;
      append_utf8(ch, c);
      run.push_back(std::move(ch));
    } else if (is_word(c)) {
      if (!run.empty()) {
        on_cjk(run);
        run.clear();
      }
      append_utf8(word, c);
    } else {
      flush();
    }
  }
  flush();
}

}  // namespace

std::vector<std::string> index_tokens(std::string_view text, size_t max) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](std::string t) {
    if (out.size() < max && t.size() <= 64 && seen.insert(t).second) out.push_back(std::move(t));
  };
  scan(
      text, [&](const std::string& w) { add(w); },
      [&](const std::vector<std::string>& run) {
        for (size_t i = 0; i < run.size(); ++i) {
          add(run[i]);
          if (i + 1 < run.size()) add(run[i] + run[i + 1]);
        }
      });
  return out;
}

std::vector<std::string> query_tokens(std::string_view query, size_t max) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](std::string t) {
    if (out.size() < max && t.size() <= 64 && seen.insert(t).second) out.push_back(std::move(t));
  };
  scan(
      query, [&](const std::string& w) { add(w); },
      [&](const std::vector<std::string>& run) {
        if (run.size() == 1) return add(run[0]);
        for (size_t i = 0; i + 1 < run.size(); ++i) add(run[i] + run[i + 1]);
      });
  return out;
}

std::string joined(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& t : tokens) {
    if (!out.empty()) out += ' ';
    out += t;
  }
  return out;
}

std::string fts5_match(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& t : tokens) {
    if (!out.empty()) out += " AND ";
    out += '"';
    out += t;  // tokens hold letters and digits only: nothing to escape
    out += '"';
  }
  return out;
}

std::string pg_array(const std::vector<std::string>& tokens) {
  std::string out = "{";
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i) out += ',';
    out += '"';
    out += tokens[i];
    out += '"';
  }
  return out + "}";
}

}  // namespace custos::search
