#include "modules/assets/labels.h"

#include <qrencode.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <memory>

namespace custos::assets {

namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t') out += c;
    }
  }
  return out;
}

// At most n characters (UTF-8), with an ellipsis when cut.
std::string clip(const std::string& s, size_t n) {
  size_t chars = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && ++chars > n) break;
  }
  return i < s.size() ? s.substr(0, i) + "…" : s;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

// One label's content at (x, y) mm, w × h mm.
std::string label_body(const Asset& a, const std::string& base, const std::string& org, double x,
                       double y, double w, double h) {
  const std::string url = base + "/assets/" + std::to_string(a.id);
  const auto m = qr_modules(url);
  std::string out = "<g>";
  out += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" +
         num(h) + "\" rx=\"1.5\" fill=\"#fff\" stroke=\"#999\" stroke-width=\"0.2\"/>";
  const double pad = 2, side = h - 2 * pad;
  if (!m.empty()) {
    // A quiet zone of two modules around the code.
    const double cell = side / static_cast<double>(m.size() + 4);
    std::string path;
    for (size_t r = 0; r < m.size(); ++r)
      for (size_t c = 0; c < m[r].size(); ++c)
        if (m[r][c])
          path += "M" + num(x + pad + cell * static_cast<double>(c + 2)) + " " +
                  num(y + pad + cell * static_cast<double>(r + 2)) + "h" + num(cell) + "v" +
                  num(cell) + "h-" + num(cell) + "z";
    out += "<path fill=\"#000\" d=\"" + path + "\"/>";
  }
  const double tx = x + pad + side + 2;
  auto text = [&](double dy, double size, const std::string& s, const char* weight) {
    out += "<text x=\"" + num(tx) + "\" y=\"" + num(y + dy) + "\" font-size=\"" + num(size) +
           "\" font-weight=\"" + weight + "\">" + escape(s) + "</text>";
  };
  text(h * 0.22, 2.6, clip(org, 14) + " · 固定资产", "normal");
  text(h * 0.47, 4.2, clip(a.asset_tag, 18), "bold");
  text(h * 0.68, 2.8, clip(a.name, 14), "normal");
  text(h * 0.86, 2.4, clip(a.department_name.empty() ? a.model : a.department_name, 16), "normal");
  return out + "</g>";
}

std::string svg(double w, double h, const std::string& body) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
         "width=\"" +
         num(w) + "mm\" height=\"" + num(h) + "mm\" viewBox=\"0 0 " + num(w) + " " + num(h) +
         "\" font-family=\"'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', "
         "sans-serif\">" +
         body + "</svg>\n";
}

}  // namespace

std::vector<std::vector<bool>> qr_modules(const std::string& text) {
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString8bit(text.c_str(), 0, QR_ECLEVEL_M), &QRcode_free);
  if (!code) return {};
  const auto n = static_cast<size_t>(code->width);
  std::vector<std::vector<bool>> out(n, std::vector<bool>(n));
  for (size_t r = 0; r < n; ++r)
    for (size_t c = 0; c < n; ++c) out[r][c] = code->data[r * n + c] & 1;
  return out;
}

std::string label_svg(const Asset& a, const std::string& base, const std::string& org_name) {
  return svg(60, 30, label_body(a, base, org_name, 0, 0, 60, 30));
}

std::string label_sheet_svg(const std::vector<Asset>& assets, const std::string& base,
                            const std::string& org_name) {
  // A4, two columns of eight, 90 × 32 mm with 10 mm side and 20.5 mm top margins.
  std::string body;
  for (size_t i = 0; i < assets.size(); ++i) {
    const double col = static_cast<double>(i % 2), row = static_cast<double>((i / 2) % 8);
    if (i > 0 && i % 16 == 0) break;  // one sheet; callers pass at most 16
    body += label_body(assets[i], base, org_name, 10 + col * 100, 20.5 + row * 32.5, 90, 32);
  }
  return svg(210, 297, body);
}

std::string console_base(const std::string& public_url, const std::string& host, bool tls) {
  auto plain = [](const std::string& s, const char* extra) {
    for (char c : s)
      if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr(extra, c)) return false;
    return !s.empty();
  };
  if ((public_url.rfind("https://", 0) == 0 || public_url.rfind("http://", 0) == 0) &&
      plain(public_url, ":/.-_[]~%"))
    return public_url.back() == '/' ? public_url.substr(0, public_url.size() - 1) : public_url;
  return std::string(tls ? "https://" : "http://") +
         (host.size() < 256 && plain(host, ".:-[]") ? host : "localhost");
}

}  // namespace custos::assets
