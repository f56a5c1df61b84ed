// XLSX reader: minizip over the bytes in memory (our own ioapi callbacks), every part inflated
// in 64 KiB chunks straight into expat, with the limits checked as the bytes arrive. Reads the
// package and workbook relationships to find the first visible worksheet, its shared strings,
// and then the sheet's cells.
#include <minizip/unzip.h>

#include <charconv>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <new>

#include "platform/tabular/internal.h"
#include "platform/tabular/tabular.h"
#include "platform/xml/sax.h"

namespace custos::tabular {
namespace {

using detail::fail;

// ---------------------------------------------------------------------------------------------
// Zip archive in memory.

struct MemoryStream {
  const char* data;
  ZPOS64_T size;
  ZPOS64_T pos;
};

voidpf ZCALLBACK mem_open(voidpf opaque, const void* /*filename*/, int mode) {
  if ((mode & ZLIB_FILEFUNC_MODE_WRITE) != 0) return nullptr;
  auto* s = static_cast<MemoryStream*>(opaque);
  s->pos = 0;
  return s;
}

uLong ZCALLBACK mem_read(voidpf /*opaque*/, voidpf stream, void* buf, uLong size) {
  auto* s = static_cast<MemoryStream*>(stream);
  const ZPOS64_T left = s->size - s->pos;
  const uLong n = size < left ? size : static_cast<uLong>(left);
  std::memcpy(buf, s->data + s->pos, n);
  s->pos += n;
  return n;
}

uLong ZCALLBACK mem_write(voidpf, voidpf, const void*, uLong) {
  return 0;
}

ZPOS64_T ZCALLBACK mem_tell(voidpf /*opaque*/, voidpf stream) {
  return static_cast<MemoryStream*>(stream)->pos;
}

long ZCALLBACK mem_seek(voidpf /*opaque*/, voidpf stream, ZPOS64_T offset, int origin) {
  auto* s = static_cast<MemoryStream*>(stream);
  ZPOS64_T base;
  switch (origin) {
    case ZLIB_FILEFUNC_SEEK_SET:
      base = 0;
      break;
    case ZLIB_FILEFUNC_SEEK_CUR:
      base = s->pos;
      break;
    case ZLIB_FILEFUNC_SEEK_END:
      base = s->size;
      break;
    default:
      return -1;
  }
  if (offset > s->size - base) return -1;
  s->pos = base + offset;
  return 0;
}

int ZCALLBACK mem_close(voidpf, voidpf) {
  return 0;
}
int ZCALLBACK mem_error(voidpf, voidpf) {
  return 0;
}

class ZipArchive {
 public:
  ZipArchive(std::string_view bytes, const ReadLimits& limits)
      : stream_{bytes.data(), bytes.size(), 0}, remaining_(limits.max_uncompressed_bytes) {
    zlib_filefunc64_def io{};
    io.zopen64_file = mem_open;
    io.zread_file = mem_read;
    io.zwrite_file = mem_write;
    io.ztell64_file = mem_tell;
    io.zseek64_file = mem_seek;
    io.zclose_file = mem_close;
    io.zerror_file = mem_error;
    io.opaque = &stream_;
    zip_ = unzOpen2_64("memory", &io);
    if (zip_ == nullptr) fail(ErrorKind::malformed, "not an XLSX file (not a zip archive)");
    unz_global_info64 info{};
    if (unzGetGlobalInfo64(zip_, &info) != UNZ_OK) {
      unzClose(zip_);
      fail(ErrorKind::malformed, "damaged zip archive");
    }
    if (info.number_entry > limits.max_zip_entries) {
      unzClose(zip_);
      fail(ErrorKind::too_large,
           "zip archive has more than " + std::to_string(limits.max_zip_entries) + " entries");
    }
  }
  ~ZipArchive() { unzClose(zip_); }
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  bool has(const std::string& name) { return unzLocateFile(zip_, name.c_str(), 2) == UNZ_OK; }

  // Inflates `name` in chunks into `consume`. The declared size is checked against what is
  // left of the budget before inflating, the actual size while inflating.
  void read(const std::string& name, const std::function<void(const char*, std::size_t)>& consume,
            const std::function<void()>& done) {
    if (unzLocateFile(zip_, name.c_str(), 2) != UNZ_OK) {
      fail(ErrorKind::malformed, "XLSX part " + detail::excerpt(name) + " is missing");
    }
    unz_file_info64 info{};
    if (unzGetCurrentFileInfo64(zip_, &info, nullptr, 0, nullptr, 0, nullptr, 0) != UNZ_OK) {
      fail(ErrorKind::malformed, "damaged zip entry " + detail::excerpt(name));
    }
    if ((info.flag & 1) != 0) {
      fail(ErrorKind::unsupported, "encrypted zip entries are not supported");
    }
    if (info.compression_method != 0 && info.compression_method != Z_DEFLATED) {
      fail(ErrorKind::unsupported, "zip compression method " +
                                       std::to_string(info.compression_method) +
                                       " is not supported");
    }
    if (info.uncompressed_size > remaining_) too_large();
    if (unzOpenCurrentFile(zip_) != UNZ_OK) {
      fail(ErrorKind::malformed, "damaged zip entry " + detail::excerpt(name));
    }
    struct Closer {
      unzFile zip;
      bool open = true;
      ~Closer() {
        if (open) unzCloseCurrentFile(zip);
      }
    } closer{zip_};
    std::string buffer(64 * 1024, '\0');
    ZPOS64_T total = 0;
    for (;;) {
      const int n = unzReadCurrentFile(zip_, buffer.data(), static_cast<unsigned>(buffer.size()));
      if (n < 0) fail(ErrorKind::malformed, "damaged zip entry " + detail::excerpt(name));
      if (n == 0) break;
      total += static_cast<ZPOS64_T>(n);
      if (total > remaining_) too_large();
      if (total > info.uncompressed_size) {
        fail(ErrorKind::malformed,
             "zip entry " + detail::excerpt(name) + " is longer than declared");
      }
      consume(buffer.data(), static_cast<std::size_t>(n));
    }
    closer.open = false;
    if (unzCloseCurrentFile(zip_) != UNZ_OK) {
      fail(ErrorKind::malformed, "zip entry " + detail::excerpt(name) + " fails its CRC check");
    }
    remaining_ -= total;
    done();
  }

 private:
  [[noreturn]] void too_large() {
    fail(ErrorKind::too_large, "XLSX content inflates to more than the allowed size");
  }

  MemoryStream stream_;
  std::uint64_t remaining_;
  unzFile zip_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// Expat with the hardening every part gets: no DOCTYPE at all, bounded depth, namespaces
// resolved so that only local names matter.

using xml::attribute;

class XmlPart : public xml::Handler {
 public:
  // Parses one zip entry through this handler.
  void parse(ZipArchive& zip, const std::string& part, const ReadLimits& limits) {
    part_ = part;
    xml::Parser parser(*this, {.max_depth = limits.max_xml_depth, .namespaces = true});
    auto feed = [&](const char* data, std::size_t n, bool final) {
      try {
        parser.feed(data, n, final);
      } catch (const xml::Failure& f) {
        fail(f.kind == xml::Failure::Kind::too_deep ? ErrorKind::too_large : ErrorKind::malformed,
             detail::excerpt(part_) + ": " + f.what());
      }
    };
    zip.read(
        part, [&](const char* data, std::size_t n) { feed(data, n, false); },
        [&] { feed("", 0, true); });
  }

 protected:
  const std::string& part() const { return part_; }

 private:
  std::string part_;
};

// ---------------------------------------------------------------------------------------------
// Package parts.

struct Relationship {
  std::string type;
  std::string target;  // resolved to a path inside the zip
};

std::string directory_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

// A relationship target relative to `base_dir` (or absolute from the package root), with "."
// and ".." segments resolved.
std::string resolve(const std::string& base_dir, std::string_view target) {
  std::string joined =
      target.starts_with('/') ? std::string(target.substr(1)) : base_dir + std::string(target);
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= joined.size()) {
    std::size_t slash = joined.find('/', start);
    if (slash == std::string::npos) slash = joined.size();
    std::string segment = joined.substr(start, slash - start);
    if (segment == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!segment.empty() && segment != ".") {
      parts.push_back(std::move(segment));
    }
    start = slash + 1;
  }
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

class RelsPart : public XmlPart {
 public:
  explicit RelsPart(std::string base_dir) : base_dir_(std::move(base_dir)) {}
  std::map<std::string, Relationship> by_id;

  void start(std::string_view name, const char** attrs) override {
    if (name != "Relationship") return;
    const char* id = attribute(attrs, "Id");
    const char* type = attribute(attrs, "Type");
    const char* target = attribute(attrs, "Target");
    const char* mode = attribute(attrs, "TargetMode");
    if (id == nullptr || type == nullptr || target == nullptr) return;
    if (mode != nullptr && std::string_view(mode) == "External") return;
    by_id.emplace(id, Relationship{type, resolve(base_dir_, target)});
  }
  void end(std::string_view) override {}

  const Relationship* first_of_type(std::string_view suffix) const {
    for (const auto& [id, rel] : by_id) {
      if (std::string_view(rel.type).ends_with(suffix)) return &rel;
    }
    return nullptr;
  }

 private:
  std::string base_dir_;
};

class WorkbookPart : public XmlPart {
 public:
  struct SheetRef {
    std::string name;
    std::string rel_id;
    bool hidden;
  };
  std::vector<SheetRef> sheets;

  void start(std::string_view name, const char** attrs) override {
    if (name != "sheet") return;
    const char* sheet_name = attribute(attrs, "name");
    const char* rel_id = attribute(attrs, "id");  // r:id
    const char* state = attribute(attrs, "state");
    if (rel_id == nullptr) return;
    sheets.push_back({sheet_name != nullptr ? sheet_name : "", rel_id,
                      state != nullptr && std::string_view(state) != "visible"});
  }
  void end(std::string_view) override {}
};

// OOXML escapes characters XML cannot carry as _xHHHH_ (and a literal "_x" as _x005F_x).
// Decodes s[from..] in place; the result is never longer.
void decode_escapes(std::string& s, std::size_t from) {
  std::size_t at = s.find("_x", from);
  if (at == std::string::npos) return;
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  std::size_t read = from;
  while (at != std::string::npos) {
    std::uint32_t cp = 0;
    bool ok = at + 7 <= s.size() && s[at + 6] == '_';
    for (std::size_t k = 2; ok && k < 6; ++k) {
      const int h = hex(s[at + k]);
      ok = h >= 0;
      cp = cp * 16 + static_cast<std::uint32_t>(h < 0 ? 0 : h);
    }
    if (ok && (cp < 0xD800 || cp > 0xDFFF)) {
      out.append(s, read, at - read);
      detail::append_utf8(out, cp);
      read = at + 7;
      at = s.find("_x", read);
    } else {
      at = s.find("_x", at + 2);
    }
  }
  out.append(s, read, std::string::npos);
  s.replace(from, std::string::npos, out);
}

class SharedStringsPart : public XmlPart {
 public:
  std::size_t size() const { return ends_.size(); }
  std::string_view at(std::size_t i) const {
    const std::size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(blob_).substr(begin, ends_[i] - begin);
  }

  void start(std::string_view name, const char**) override {
    if (name == "si") {
      in_si_ = true;
      start_ = blob_.size();
    } else if (name == "rPh") {
      ++phonetic_;
    } else if (name == "t" && in_si_ && phonetic_ == 0) {
      in_t_ = true;
    }
  }
  void end(std::string_view name) override {
    if (name == "si") {
      in_si_ = false;
      decode_escapes(blob_, start_);
      if (blob_.size() > 0xFFFFFFFFu) {
        fail(ErrorKind::too_large, "shared strings are larger than 4 GiB");
      }
      ends_.push_back(static_cast<std::uint32_t>(blob_.size()));
    } else if (name == "rPh") {
      --phonetic_;
    } else if (name == "t") {
      in_t_ = false;
    }
  }
  void text(std::string_view s) override {
    if (in_t_) blob_.append(s);
  }

 private:
  // All strings back to back, to keep millions of short strings cheap.
  std::string blob_;
  std::vector<std::uint32_t> ends_;
  std::size_t start_ = 0;
  int phonetic_ = 0;
  bool in_si_ = false;
  bool in_t_ = false;
};

// Numbers as text: integers as written, fractions and exponent forms with at most 15
// significant digits, the precision Excel shows.
std::string number_text(std::string_view raw) {
  std::size_t i = raw.starts_with('-') ? 1 : 0;
  std::size_t digits = 0;
  std::size_t significant = 0;
  std::size_t trailing_zeros = 0;
  bool seen_nonzero = false;
  bool seen_point = false;
  bool plain = i < raw.size();
  for (; i < raw.size() && plain; ++i) {
    const char c = raw[i];
    if (c == '.' && !seen_point) {
      seen_point = true;
    } else if (c >= '0' && c <= '9') {
      ++digits;
      if (c != '0') seen_nonzero = true;
      if (seen_nonzero) ++significant;
      trailing_zeros = (c == '0') ? trailing_zeros + 1 : 0;
    } else {
      plain = false;
    }
  }
  // Integers are exact as written; only fractions carry binary noise like 0.30000000000000004.
  if (plain && digits > 0 && (!seen_point || significant - trailing_zeros <= 15)) {
    return std::string(raw);
  }
  double v;
  const auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (ec != std::errc() || end != raw.data() + raw.size()) return std::string(raw);
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 15);
  return std::string(buf, r.ptr);
}

class WorksheetPart : public XmlPart {
 public:
  WorksheetPart(const SharedStringsPart* strings, const ReadLimits& limits)
      : strings_(strings), limits_(limits) {}

  std::vector<std::vector<std::string>> rows;

  void start(std::string_view name, const char** attrs) override {
    if (name == "sheetData") {
      in_data_ = true;
    } else if (!in_data_) {
      return;
    } else if (name == "row") {
      const char* r = attribute(attrs, "r");
      row_ = r != nullptr ? parse_row_number(r) : row_ + 1;
      col_ = -1;
    } else if (name == "c") {
      const char* r = attribute(attrs, "r");
      col_ = r != nullptr ? parse_column(r) : col_ + 1;
      const char* t = attribute(attrs, "t");
      type_ = t != nullptr ? t : "n";
      value_.clear();
      in_cell_ = true;
    } else if (!in_cell_) {
      return;
    } else if (name == "v") {
      in_v_ = true;
    } else if (name == "is") {
      in_inline_ = true;
    } else if (name == "rPh") {
      ++phonetic_;
    } else if (name == "t" && in_inline_ && phonetic_ == 0) {
      in_t_ = true;
    }
  }

  void end(std::string_view name) override {
    if (name == "sheetData") {
      in_data_ = false;
    } else if (!in_cell_) {
      return;
    } else if (name == "c") {
      in_cell_ = false;
      finish_cell();
    } else if (name == "v") {
      in_v_ = false;
    } else if (name == "is") {
      in_inline_ = false;
    } else if (name == "rPh") {
      --phonetic_;
    } else if (name == "t") {
      in_t_ = false;
    }
  }

  void text(std::string_view s) override {
    if (!in_v_ && !in_t_) return;
    // Raw text may carry _xHHHH_ escapes that shrink when decoded; bound the raw size loosely
    // here and the decoded size exactly in finish_cell().
    if (value_.size() + s.size() > 2 * limits_.max_cell_bytes + 64) cell_too_large();
    value_.append(s);
  }

 private:
  std::size_t parse_row_number(std::string_view r) {
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(r.data(), r.data() + r.size(), n);
    if (ec != std::errc() || end != r.data() + r.size() || n == 0 || n > 1048576) {
      fail(ErrorKind::malformed, "bad row number " + detail::excerpt(r));
    }
    return n - 1;
  }

  long parse_column(std::string_view ref) {
    long col = 0;
    std::size_t i = 0;
    while (i < ref.size() && i < 4 && ref[i] >= 'A' && ref[i] <= 'Z') {
      col = col * 26 + (ref[i] - 'A' + 1);
      ++i;
    }
    bool digits = i < ref.size();
    for (std::size_t k = i; k < ref.size(); ++k) digits = digits && ref[k] >= '0' && ref[k] <= '9';
    if (i == 0 || col > 16384 || !digits) {
      fail(ErrorKind::malformed, "bad cell reference " + detail::excerpt(ref), row_ + 1);
    }
    return col - 1;
  }

  [[noreturn]] void cell_too_large() {
    fail(ErrorKind::too_large,
         "cell is longer than " + std::to_string(limits_.max_cell_bytes) + " bytes", row_ + 1,
         static_cast<std::size_t>(col_) + 1);
  }

  void finish_cell() {
    std::string value;
    if (type_ == "s") {
      std::size_t index = 0;
      const auto [end, ec] = std::from_chars(value_.data(), value_.data() + value_.size(), index);
      if (value_.empty() || ec != std::errc() || end != value_.data() + value_.size() ||
          strings_ == nullptr || index >= strings_->size()) {
        fail(ErrorKind::malformed, "shared string index out of range", row_ + 1,
             static_cast<std::size_t>(col_) + 1);
      }
      value = strings_->at(index);
    } else if (type_ == "inlineStr" || type_ == "str") {
      decode_escapes(value_, 0);
      value = std::move(value_);
    } else if (type_ == "b") {
      value = value_ == "1" ? "TRUE" : value_ == "0" ? "FALSE" : value_;
    } else if (type_ == "n") {
      if (!value_.empty()) value = number_text(value_);
    } else {
      value = std::move(value_);  // "e" (#N/A…), "d" (ISO 8601 date)
    }
    value_.clear();
    if (value.empty()) return;
    if (value.size() > limits_.max_cell_bytes) cell_too_large();
    place(std::move(value));
  }

  void place(std::string value) {
    const auto col = static_cast<std::size_t>(col_);
    if (col >= limits_.max_columns) {
      fail(ErrorKind::too_large, "more than " + std::to_string(limits_.max_columns) + " columns",
           row_ + 1, col + 1);
    }
    if (row_ > limits_.max_rows) {
      fail(ErrorKind::too_large, "more than " + std::to_string(limits_.max_rows) + " data rows",
           row_ + 1);
    }
    if (rows.size() <= row_) rows.resize(row_ + 1);
    auto& row = rows[row_];
    if (row.size() <= col) {
      cells_ += col + 1 - row.size();
      if (cells_ > limits_.max_cells) {
        fail(ErrorKind::too_large, "more than " + std::to_string(limits_.max_cells) + " cells",
             row_ + 1);
      }
      row.resize(col + 1);
    }
    row[col] = std::move(value);
  }

  const SharedStringsPart* strings_;
  const ReadLimits& limits_;
  std::size_t row_ = static_cast<std::size_t>(-1);  // 0-based; the first <row> without r is 0
  long col_ = -1;
  std::size_t cells_ = 0;
  std::string type_;
  std::string value_;
  int phonetic_ = 0;
  bool in_data_ = false;
  bool in_cell_ = false;
  bool in_v_ = false;
  bool in_inline_ = false;
  bool in_t_ = false;
};

std::string rels_path_for(const std::string& part) {
  const std::string dir = directory_of(part);
  return dir + "_rels/" + part.substr(dir.size()) + ".rels";
}

}  // namespace

Sheet read_xlsx(std::string_view bytes, const ReadLimits& limits) {
  ZipArchive zip(bytes, limits);

  std::string workbook_path = "xl/workbook.xml";
  if (zip.has("_rels/.rels")) {
    RelsPart package_rels("");
    package_rels.parse(zip, "_rels/.rels", limits);
    if (const auto* rel = package_rels.first_of_type("/officeDocument"))
      workbook_path = rel->target;
  }
  if (!zip.has(workbook_path)) {
    if (zip.has("xl/workbook.bin")) {
      fail(ErrorKind::unsupported, "binary workbooks (.xlsb) are not supported; save as .xlsx");
    }
    if (zip.has("content.xml") && zip.has("mimetype")) {
      fail(ErrorKind::unsupported,
           "OpenDocument spreadsheets (.ods) are not supported; save as .xlsx");
    }
    fail(ErrorKind::malformed, "not an XLSX workbook (no workbook part)");
  }

  WorkbookPart workbook;
  workbook.parse(zip, workbook_path, limits);
  RelsPart workbook_rels(directory_of(workbook_path));
  const std::string rels_path = rels_path_for(workbook_path);
  if (zip.has(rels_path)) workbook_rels.parse(zip, rels_path, limits);

  const WorkbookPart::SheetRef* chosen = nullptr;
  const Relationship* chosen_rel = nullptr;
  for (int pass = 0; pass < 2 && chosen == nullptr; ++pass) {
    for (const auto& sheet : workbook.sheets) {
      if (pass == 0 && sheet.hidden) continue;  // second pass: all sheets are hidden
      const auto it = workbook_rels.by_id.find(sheet.rel_id);
      if (it == workbook_rels.by_id.end() ||
          !std::string_view(it->second.type).ends_with("/worksheet")) {
        continue;
      }
      chosen = &sheet;
      chosen_rel = &it->second;
      break;
    }
  }
  if (chosen == nullptr) fail(ErrorKind::malformed, "the workbook has no worksheet");

  SharedStringsPart strings;
  bool have_strings = false;
  std::string strings_path;
  if (const auto* rel = workbook_rels.first_of_type("/sharedStrings")) {
    strings_path = rel->target;
  } else if (zip.has(directory_of(workbook_path) + "sharedStrings.xml")) {
    strings_path = directory_of(workbook_path) + "sharedStrings.xml";
  }
  if (!strings_path.empty() && zip.has(strings_path)) {
    strings.parse(zip, strings_path, limits);
    have_strings = true;
  }

  WorksheetPart sheet(have_strings ? &strings : nullptr, limits);
  sheet.parse(zip, chosen_rel->target, limits);
  return detail::finish_sheet(chosen->name, std::move(sheet.rows), limits);
}

}  // namespace custos::tabular
