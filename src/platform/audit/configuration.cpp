#include "platform/audit/configuration.h"

#include <boost/json.hpp>
#include <map>

#include "platform/audit/audit.h"
#include "platform/crypto/crypto.h"

namespace custos::audit {
namespace json = boost::json;

std::vector<std::string> record_configuration(db::Db& db, const Settings& settings,
                                              const std::string& who, int64_t now_ms) {
  json::object now_obj;
  for (const auto& [k, v] : settings) now_obj[k] = v;
  const std::string snapshot = json::serialize(now_obj);
  const std::string digest = crypto::hex(crypto::sha256(snapshot));
  return db.write([&](db::Tx& tx) {
    std::vector<std::string> changed;
    // The newest snapshot; the row lock of the INSERT below orders servers starting at once.
    auto last = tx.one("SELECT digest, snapshot FROM config_snapshots ORDER BY id DESC LIMIT 1");
    if (last && db::as_text(last->at(0)) == digest) return changed;
    std::map<std::string, std::string> before;
    if (last) {
      json::error_code ec;
      json::value v = json::parse(db::as_text(last->at(1)), ec);
      if (!ec && v.is_object())
        for (const auto& [k, x] : v.as_object())
          if (x.is_string()) before[std::string(k)] = std::string(x.as_string());
    }
    json::object changes;
    for (const auto& [k, v] : settings) {
      auto it = before.find(k);
      if (it != before.end() && it->second == v) continue;
      changes[k] = {{"before", it == before.end() ? json::value(nullptr) : json::value(it->second)},
                    {"after", v}};
      changed.push_back(k);
    }
    for (const auto& [k, v] : before) {
      bool still = false;
      for (const auto& s : settings) still = still || s.first == k;
      if (still) continue;
      changes[k] = {{"before", v}, {"after", nullptr}};
      changed.push_back(k);
    }
    tx.exec("INSERT INTO config_snapshots (digest, snapshot, recorded_by, at) VALUES (?, ?, ?, ?)",
            {digest, snapshot, who, now_ms});
    record(tx, Actor{1, std::nullopt, std::nullopt, "", who},
           {.action = "system.config.change",
            .object_type = "configuration",
            .object_id = digest.substr(0, 16),
            .changes = json::serialize(changes),
            .reason = last ? "the configuration differs from the last one recorded"
                           : "first start with this database"},
           now_ms);
    return changed;
  });
}

}  // namespace custos::audit
