// Downloads of registers (CSV and XLSX), shared by every area: rows go to a private temporary
// file as they are produced (constant memory, however many), the file carries the watermark
// (who exported, when, which filter: SI-3 leak prevention), and the response streams it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"

namespace custos::api {

inline constexpr const char* kCsvType = "text/csv; charset=utf-8";
inline constexpr const char* kXlsxType =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

// `Content-Disposition: attachment` with an ASCII fallback and the UTF-8 name (RFC 6266/5987).
std::string attachment(std::string_view ascii_name, std::string_view utf8_name);

class Export {
 public:
  // format: "csv" | "xlsx" (anything else: validation_failed on query.format).
  Export(const std::string& format, const std::string& sheet_name, const std::string& watermark,
         const std::vector<std::string>& header);
  ~Export();
  Export(const Export&) = delete;
  Export& operator=(const Export&) = delete;

  void row(const std::vector<std::string>& cells);
  size_t rows() const { return rows_; }
  // The download: `name` without extension (ASCII fallback `ascii_name`).
  http::Response finish(const std::string& ascii_name, const std::string& name);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  size_t rows_ = 0;
};

}  // namespace custos::api
