// Printable asset labels (issue #7 item 8): SVG with a QR code (libqrencode) that opens the
// asset's page in the console, the asset tag large enough to read across a desk, its name and
// department. One label (60 × 30 mm) or an A4 sheet of labels (2 × 8 of 90 × 32 mm).
#pragma once

#include <string>
#include <vector>

#include "modules/assets/assets.h"

namespace custos::assets {

// The QR code's modules, row by row (true: dark); empty when the text cannot be encoded.
std::vector<std::vector<bool>> qr_modules(const std::string& text);

// base: where people reach the console, such as "https://custos.example.cn".
std::string label_svg(const Asset& a, const std::string& base, const std::string& org_name);
std::string label_sheet_svg(const std::vector<Asset>& assets, const std::string& base,
                            const std::string& org_name);

// The console's address for labels: server.public_url when set, else from the request's Host
// (only host[:port] characters; anything else gives "localhost").
std::string console_base(const std::string& public_url, const std::string& host, bool tls);

}  // namespace custos::assets
