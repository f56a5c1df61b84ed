// Mapping a sheet's header cells to an importer's columns (zh-CN, English, key or alias, with
// forgiving normalisation), and the header-only template sheet offered for download.
#include <unordered_map>

#include "platform/tabular/internal.h"
#include "platform/tabular/tabular.h"

namespace custos::tabular {
namespace {

// Lower-cased ASCII, full-width forms folded to ASCII (（ → (, ＩＤ → id), any kind of space or
// '_' as one space, '*' required-markers and surrounding spaces dropped.
std::string normalise(std::string_view s) {
  std::string folded;
  folded.reserve(s.size());
  std::uint32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = detail::utf8_sequence(s, i, &cp);
    if (n == 0) n = 1, cp = 0xFFFD;
    const std::string_view original = s.substr(i, n);
    i += n;
    if (cp >= 0xFF01 && cp <= 0xFF5E) cp -= 0xFEE0;  // full-width ASCII
    if (cp == 0xFEFF || cp == 0x200B) continue;      // BOM, zero-width space
    if (cp == '_' || cp == '\t' || cp == '\r' || cp == '\n' || cp == 0xA0 || cp == 0x3000) {
      cp = ' ';
    }
    if (cp < 0x80) {
      char c = static_cast<char>(cp);
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c == ' ' && (folded.empty() || folded.back() == ' ')) continue;
      folded += c;
    } else if (cp == 0xFFFD) {
      folded.append(original);
    } else {
      detail::append_utf8(folded, cp);
    }
  }
  // Trim spaces and '*' at both ends ("*姓名", "姓名 *").
  std::size_t begin = folded.find_first_not_of(" *");
  if (begin == std::string::npos) return {};
  std::size_t end = folded.find_last_not_of(" *");
  return folded.substr(begin, end - begin + 1);
}

}  // namespace

Mapping map_columns(const std::vector<std::string>& header, const std::vector<Column>& columns) {
  std::unordered_map<std::string, std::size_t> lookup;
  const auto add = [&](std::string_view name, std::size_t column) {
    std::string n = normalise(name);
    if (!n.empty()) lookup.emplace(std::move(n), column);  // first column to claim a name wins
  };
  for (std::size_t i = 0; i < columns.size(); ++i) {
    add(columns[i].key, i);
    add(columns[i].zh, i);
    add(columns[i].en, i);
    for (const auto& alias : columns[i].aliases) add(alias, i);
  }

  Mapping m;
  m.index_of_key.assign(columns.size(), -1);
  for (std::size_t j = 0; j < header.size(); ++j) {
    const std::string n = normalise(header[j]);
    if (n.empty()) continue;  // unnamed columns are ignored, not unknown
    auto it = lookup.find(n);
    if (it == lookup.end() && header[j].find('\n') != std::string::npos) {
      // A two-line bilingual header such as "资产编号\nAsset tag": any line may match.
      std::string_view rest = header[j];
      while (it == lookup.end() && !rest.empty()) {
        const std::size_t nl = rest.find('\n');
        const std::string line = normalise(rest.substr(0, nl));
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        if (!line.empty()) it = lookup.find(line);
      }
    }
    if (it == lookup.end()) {
      m.unknown_headers.push_back(header[j]);
    } else if (m.index_of_key[it->second] == -1) {
      m.index_of_key[it->second] = static_cast<int>(j);
    } else {
      m.duplicate_headers.push_back(header[j]);
    }
  }
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].required && m.index_of_key[i] == -1) {
      m.missing_required.push_back(columns[i].key);
    }
  }
  return m;
}

std::string_view cell_at(const std::vector<std::string>& row, int index) {
  if (index < 0 || static_cast<std::size_t>(index) >= row.size()) return {};
  return row[static_cast<std::size_t>(index)];
}

Sheet template_sheet(const std::string& name, const std::vector<Column>& columns) {
  Sheet sheet;
  sheet.name = name;
  sheet.header.reserve(columns.size());
  for (const auto& c : columns) {
    sheet.header.push_back(!c.zh.empty() ? c.zh : !c.en.empty() ? c.en : c.key);
  }
  return sheet;
}

}  // namespace custos::tabular
