// Helpers shared by the tabular readers and writers; not part of the public interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "platform/tabular/tabular.h"

namespace custos::tabular::detail {

// Throws TabularError; the message gets "row R, column C (L): " in front when row/column are
// given (1-based, 0 = not applicable).
[[noreturn]] void fail(ErrorKind kind, const std::string& message, std::size_t row = 0,
                       std::size_t column = 0);

// Length of the well-formed UTF-8 sequence at s[i] (1–4), or 0 when it is not one. *cp gets the
// code point.
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::uint32_t* cp);
bool valid_utf8(std::string_view s);
void append_utf8(std::string& out, std::uint32_t cp);
// Invalid sequences replaced by U+FFFD.
std::string sanitize_utf8(std::string_view s);

// At most `max_bytes` of s for an error message, cut on a code point boundary, control
// characters shown as '?', "…" appended when cut.
std::string excerpt(std::string_view s, std::size_t max_bytes = 40);

// "A", "Z", "AA"… for a 0-based column.
std::string column_letters(std::size_t column);

// Columns an Excel cell needs to show s: East Asian wide characters count 2, others 1; the
// widest line of a multi-line cell.
std::size_t display_width(std::string_view s);

// True when CSV output must prefix the cell with an apostrophe (formula injection).
bool needs_formula_guard(std::string_view s);

// True for cells written to XLSX as numbers (see WriteOptions::detect_numbers).
bool is_plain_number(std::string_view s);

// Row padding and the trailing-empty-row rule shared by both readers. `rows` holds every row
// including the header at index 0.
Sheet finish_sheet(std::string name, std::vector<std::vector<std::string>> rows,
                   const ReadLimits& limits);

}  // namespace custos::tabular::detail
