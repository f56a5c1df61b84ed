#include "http/static_files.h"

#include <array>
#include <fstream>
#include <sstream>

namespace custos::http {
namespace fs = std::filesystem;

std::string_view content_type_for(std::string_view ext) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 18> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".ttf", "font/ttf"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
      {".wasm", "application/wasm"},
  }};
  for (const auto& [e, t] : kTypes)
    if (e == ext) return t;
  return "application/octet-stream";
}

namespace {

// FNV-1a 64: a content fingerprint for ETags, not a security measure.
std::string fingerprint(const std::string& data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

bool accepts(std::string_view accept_encoding, std::string_view coding) {
  size_t pos = 0;
  while ((pos = accept_encoding.find(coding, pos)) != std::string_view::npos) {
    bool start_ok = pos == 0 || accept_encoding[pos - 1] == ' ' || accept_encoding[pos - 1] == ',';
    size_t end = pos + coding.size();
    bool end_ok = end == accept_encoding.size() || accept_encoding[end] == ',' ||
                  accept_encoding[end] == ';' || accept_encoding[end] == ' ';
    if (start_ok && end_ok) {
      // "br;q=0" refuses the coding.
      std::string_view rest = accept_encoding.substr(end);
      if (rest.rfind(";q=0", 0) == 0 && (rest.size() == 4 || rest[4] != '.')) return false;
      if (rest.rfind(";q=0.0", 0) == 0 && rest.find_first_not_of("0", 6) != 6) return false;
      return true;
    }
    pos = end;
  }
  return false;
}

// If-None-Match: "*" or a list of entity tags compared weakly (RFC 9110 §13.1.2).
bool if_none_match_hits(std::string_view header, std::string_view etag) {
  if (header.empty()) return false;
  size_t i = 0;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ',' || header[i] == '\t')) ++i;
    if (i >= header.size()) break;
    if (header[i] == '*') return true;
    if (header.substr(i, 2) == "W/") i += 2;
    if (i >= header.size() || header[i] != '"') return false;
    size_t end = header.find('"', i + 1);
    if (end == std::string_view::npos) return false;
    if (header.substr(i, end - i + 1) == etag) return true;
    i = end + 1;
  }
  return false;
}

}  // namespace

StaticFiles::StaticFiles(fs::path root) : root_(std::move(root)) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(root_, ec);
  if (!ec) root_ = canonical;
}

std::optional<StaticFiles::File> StaticFiles::load(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  File f;
  f.content = std::move(ss).str();
  f.etag = fingerprint(f.content);
  std::error_code ec;
  f.mtime = fs::last_write_time(p, ec);
  f.size = f.content.size();
  return f;
}

std::shared_ptr<const StaticFiles::File> StaticFiles::cached(const fs::path& p) {
  std::error_code ec;
  auto status = fs::status(p, ec);
  if (ec || !fs::is_regular_file(status)) return nullptr;
  auto mtime = fs::last_write_time(p, ec);
  auto size = fs::file_size(p, ec);
  std::lock_guard lock(mu_);
  auto it = cache_.find(p.native());
  if (it != cache_.end() && it->second->mtime == mtime && it->second->size == size)
    return it->second;
  auto loaded = load(p);
  if (!loaded) return nullptr;
  auto file = std::make_shared<const File>(std::move(*loaded));
  cache_[p.native()] = file;
  return file;
}

std::optional<Response> StaticFiles::serve(const Request& req) {
  if (req.method != Method::get && req.method != Method::head) return std::nullopt;
  if (req.path == "/api" || req.path.rfind("/api/", 0) == 0) return std::nullopt;
  if (!fs::exists(root_ / "index.html")) return std::nullopt;

  Response notfound = Response::problem(ErrorCode::route_not_found, req);
  std::string decoded = percent_decode(req.path, false);
  if (decoded.find('\0') != std::string::npos || decoded.find('\\') != std::string::npos)
    return notfound;
  fs::path rel;
  for (const auto& part : fs::path(decoded).relative_path()) {
    if (part == "..") return notfound;
    if (part == "." || part.empty()) continue;
    rel /= part;
  }
  fs::path target = root_ / rel;
  std::error_code ec;
  if (rel.empty() || fs::is_directory(target, ec)) target /= "index.html";

  bool fallback = false;
  std::shared_ptr<const File> file = cached(target);
  if (!file) {
    // Single-page app: a path that is not a file is a console route. A missing asset (a name
    // with an extension) stays a 404 so a broken build shows up as such.
    if (rel.has_extension()) return notfound;
    target = root_ / "index.html";
    file = cached(target);
    fallback = true;
    if (!file) return notfound;
  }

  Response r;
  r.content_type = std::string(content_type_for(target.extension().native()));
  r.headers.set("Vary", "Accept-Encoding");
  const bool immutable = !fallback && rel.begin() != rel.end() && *rel.begin() == "assets";
  r.headers.set("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
  if (target.extension() == ".html")
    r.headers.set("Content-Security-Policy",
                  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                  "frame-ancestors 'none'");

  // Pick the representation first: each has its own strong ETag (RFC 9110 §8.8.3).
  std::shared_ptr<const File> chosen = file;
  std::string_view ae = req.headers.get("Accept-Encoding");
  for (const auto& [coding, suffix] : {std::pair{"br", ".br"}, std::pair{"gzip", ".gz"}}) {
    if (!accepts(ae, coding)) continue;
    fs::path sibling = target;
    sibling += suffix;
    if (auto z = cached(sibling)) {
      r.headers.set("Content-Encoding", coding);
      chosen = z;
      break;
    }
  }
  r.headers.set("ETag", chosen->etag);
  if (if_none_match_hits(req.headers.get("If-None-Match"), chosen->etag)) {
    r.status = 304;
    return r;
  }
  r.body = chosen->content;
  return r;
}

}  // namespace custos::http
