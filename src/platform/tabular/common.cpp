// TabularError, format detection, read_any, the watermark row and the UTF-8 / width / number
// helpers that the CSV and XLSX code share.
#include <algorithm>
#include <cstring>

#include "platform/tabular/internal.h"
#include "platform/tabular/tabular.h"

namespace custos::tabular {

TabularError::TabularError(ErrorKind kind, const std::string& message, std::size_t row,
                           std::size_t column)
    : std::runtime_error(message), kind_(kind), row_(row), column_(column) {}

Format detect(std::string_view bytes) {
  if (bytes.starts_with(std::string_view("PK\x03\x04", 4)) ||
      bytes.starts_with(std::string_view("PK\x05\x06", 4))) {
    return Format::xlsx;
  }
  return Format::csv;
}

Sheet read_any(std::string_view bytes, const ReadLimits& limits) {
  // OLE2 compound file: a legacy .xls, or an .xlsx saved with a password to open (Excel wraps
  // encrypted workbooks in OLE2).
  if (bytes.starts_with(std::string_view("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8))) {
    detail::fail(ErrorKind::unsupported,
                 "legacy .xls or password-protected workbook; remove the password and save as "
                 ".xlsx or CSV UTF-8");
  }
  return detect(bytes) == Format::xlsx ? read_xlsx(bytes, limits) : read_csv(bytes, limits);
}

std::vector<std::string> watermark_row(std::string_view watermark) {
  std::string cell(kWatermarkPrefix);
  cell += watermark;
  return {std::move(cell)};
}

bool is_watermark_row(const std::vector<std::string>& row) {
  if (row.empty() || !row[0].starts_with(kWatermarkPrefix)) return false;
  return std::all_of(row.begin() + 1, row.end(), [](const std::string& c) { return c.empty(); });
}

}  // namespace custos::tabular

namespace custos::tabular::detail {

void fail(ErrorKind kind, const std::string& message, std::size_t row, std::size_t column) {
  std::string full;
  if (row != 0 && column != 0) {
    full = "row " + std::to_string(row) + ", column " + std::to_string(column) + " (" +
           column_letters(column - 1) + "): ";
  } else if (row != 0) {
    full = "row " + std::to_string(row) + ": ";
  } else if (column != 0) {
    full = "column " + std::to_string(column) + " (" + column_letters(column - 1) + "): ";
  }
  full += message;
  throw TabularError(kind, full, row, column);
}

std::size_t utf8_sequence(std::string_view s, std::size_t i, std::uint32_t* cp) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  std::size_t n;
  std::uint32_t v;
  std::uint32_t min;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, v = c & 0x1F, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, v = c & 0x0F, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() - i < n) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (byte(i + k) & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return n;
}

bool valid_utf8(std::string_view s) {
  std::uint32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence(s, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void append_utf8(std::string& out, std::uint32_t cp) {
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

std::string sanitize_utf8(std::string_view s) {
  if (valid_utf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  std::uint32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence(s, i, &cp);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string excerpt(std::string_view s, std::size_t max_bytes) {
  std::string out;
  std::uint32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = utf8_sequence(s, i, &cp);
    const bool bad = n == 0;
    if (bad) n = 1;
    if (out.size() + n > max_bytes) return out + "…";
    if (bad || cp < 0x20 || cp == 0x7F) {
      out += '?';
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string column_letters(std::size_t column) {
  std::string out;
  std::size_t n = column + 1;
  while (n > 0) {
    out.insert(out.begin(), static_cast<char>('A' + (n - 1) % 26));
    n = (n - 1) / 26;
  }
  return out;
}

namespace {

bool east_asian_wide(std::uint32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
         (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
         (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
         (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
         (cp >= 0x20000 && cp <= 0x3FFFD);
}

}  // namespace

std::size_t display_width(std::string_view s) {
  std::size_t widest = 0;
  std::size_t width = 0;
  std::uint32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = utf8_sequence(s, i, &cp);
    if (n == 0) n = 1, cp = '?';
    i += n;
    if (cp == '\n') {
      widest = std::max(widest, width);
      width = 0;
    } else if (cp >= 0x20) {
      width += east_asian_wide(cp) ? 2 : 1;
    }
  }
  return std::max(widest, width);
}

bool needs_formula_guard(std::string_view s) {
  if (s.empty()) return false;
  switch (s[0]) {
    case '=':
    case '+':
    case '@':
    case '\t':
    case '\r':
      return true;
    case '-': {
      // A plain negative number (-12 or -12.50) cannot run anything; keep it a number.
      std::size_t i = 1;
      std::size_t digits = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
      if (digits == 0) return true;
      if (i < s.size() && s[i] == '.') {
        ++i;
        std::size_t fraction = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++fraction;
        if (fraction == 0) return true;
      }
      return i != s.size();
    }
    default:
      return false;
  }
}

bool is_plain_number(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  const std::size_t int_start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  const std::size_t int_digits = i - int_start;
  if (int_digits == 0 || int_digits > 11) return false;
  if (int_digits > 1 && s[int_start] == '0') return false;  // "007" is a code, not a number
  std::size_t significant = (s[int_start] == '0') ? 0 : int_digits;
  if (i < s.size()) {
    if (s[i] != '.') return false;
    ++i;
    const std::size_t frac_start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    const std::size_t frac_digits = i - frac_start;
    if (i != s.size() || frac_digits == 0 || s[i - 1] == '0') return false;  // "1." or "1.50"
    if (significant == 0) {
      // 0.000123: leading zeros are not significant, and Excel shows 0.0000123 as 1.23E-05.
      std::size_t zeros = 0;
      while (frac_start + zeros < i && s[frac_start + zeros] == '0') ++zeros;
      if (zeros > 3) return false;
      significant = frac_digits - zeros;
    } else {
      significant += frac_digits;
    }
  }
  if (significant > 15) return false;
  if (s[0] == '-' && significant == 0) return false;  // "-0", "-0.0"
  return true;
}

Sheet finish_sheet(std::string name, std::vector<std::vector<std::string>> rows,
                   const ReadLimits& limits) {
  const auto empty_row = [](const std::vector<std::string>& row) {
    return std::all_of(row.begin(), row.end(), [](const std::string& c) { return c.empty(); });
  };
  while (rows.size() > 1 && empty_row(rows.back())) rows.pop_back();
  Sheet sheet;
  sheet.name = std::move(name);
  if (rows.empty()) return sheet;
  sheet.header = std::move(rows[0]);
  const std::size_t width = sheet.header.size();
  std::size_t cells = width;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    cells += std::max(width, rows[i].size());
    if (cells > limits.max_cells) {
      fail(ErrorKind::too_large,
           "more than " + std::to_string(limits.max_cells) + " cells (rows × columns)", i + 1);
    }
  }
  sheet.rows.reserve(rows.size() - 1);
  for (std::size_t i = 1; i < rows.size(); ++i) {
    if (rows[i].size() < width) rows[i].resize(width);
    sheet.rows.push_back(std::move(rows[i]));
  }
  return sheet;
}

}  // namespace custos::tabular::detail
