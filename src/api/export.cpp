#include "api/export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "platform/errors/error.h"
#include "platform/tabular/tabular.h"

namespace custos::api {

std::string attachment(std::string_view ascii_name, std::string_view utf8_name) {
  // RFC 5987 value-chars: ALPHA / DIGIT / "!#$&+-.^_`|~"; everything else percent-encoded.
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  for (unsigned char ch : utf8_name) {
    if (std::isalnum(ch) ||
        std::string_view("!#$&+-.^_`|~").find(static_cast<char>(ch)) != std::string_view::npos) {
      encoded += static_cast<char>(ch);
    } else {
      encoded += '%';
      encoded += kHex[ch >> 4];
      encoded += kHex[ch & 15];
    }
  }
  std::string ascii;
  for (char ch : ascii_name) ascii += (ch == '"' || ch == '\\' || ch < 0x20) ? '_' : ch;
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

namespace {

// A new file readable by this process only, in the temporary directory.
std::string private_temp_file(std::FILE** out) {
  std::string path = (std::filesystem::temp_directory_path() / "custos-export-XXXXXX").string();
  const int fd = ::mkstemp(path.data());
  if (fd < 0) throw std::runtime_error("export: cannot create a temporary file");
  ::fchmod(fd, 0600);
  *out = ::fdopen(fd, "wb");
  if (!*out) {
    ::close(fd);
    ::unlink(path.c_str());
    throw std::runtime_error("export: cannot open a temporary file");
  }
  return path;
}

}  // namespace

struct Export::Impl {
  bool csv = true;
  std::string path;
  std::FILE* file = nullptr;
  std::unique_ptr<tabular::CsvStreamWriter> csv_writer;
  tabular::XlsxFileWriter xlsx;
  std::string watermark;
  bool finished = false;

  ~Impl() {
    if (file) std::fclose(file);
    if (!finished && !path.empty()) ::unlink(path.c_str());
  }
};

Export::Export(const std::string& format, const std::string& sheet_name,
               const std::string& watermark, const std::vector<std::string>& header)
    : impl_(std::make_unique<Impl>()) {
  if (format != "csv" && format != "xlsx")
    throw Error(ErrorCode::validation_failed, "query.format", "csv or xlsx");
  impl_->csv = format == "csv";
  impl_->watermark = watermark;
  if (impl_->csv) {
    impl_->path = private_temp_file(&impl_->file);
    std::FILE* f = impl_->file;
    impl_->csv_writer = std::make_unique<tabular::CsvStreamWriter>([f](std::string_view bytes) {
      if (std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size())
        throw std::runtime_error("export: cannot write the temporary file");
    });
    impl_->csv_writer->header(header);
  } else {
    // XlsxFileWriter builds beside the path and renames into place; reserve the name first.
    impl_->path = private_temp_file(&impl_->file);
    std::fclose(impl_->file);
    impl_->file = nullptr;
    impl_->xlsx.open(impl_->path, sheet_name, watermark);
    impl_->xlsx.header(header);
  }
}

Export::~Export() = default;

void Export::row(const std::vector<std::string>& cells) {
  if (impl_->csv)
    impl_->csv_writer->row(cells);
  else
    impl_->xlsx.row(cells);
  ++rows_;
}

http::Response Export::finish(const std::string& ascii_name, const std::string& name) {
  http::Response res;
  if (impl_->csv) {
    impl_->csv_writer->watermark(impl_->watermark);
    if (std::fflush(impl_->file) != 0 || std::fclose(impl_->file) != 0) {
      impl_->file = nullptr;
      throw std::runtime_error("export: cannot write the temporary file");
    }
    impl_->file = nullptr;
    res.content_type = kCsvType;
  } else {
    impl_->xlsx.close();
    res.content_type = kXlsxType;
  }
  const char* ext = impl_->csv ? ".csv" : ".xlsx";
  std::error_code ec;
  const auto size = std::filesystem::file_size(impl_->path, ec);
  if (ec) throw std::runtime_error("export: the temporary file vanished");
  res.send_file(impl_->path, size);
  impl_->finished = true;  // the server removes it once it has opened it
  res.headers.set("Content-Disposition", attachment(ascii_name + ext, name + ext));
  return res;
}

}  // namespace custos::api
