// libFuzzer target: arbitrary bytes as an audit anchor file. parse_anchor must refuse or parse,
// never crash or hang; what parses goes through the verifier's anchor-signature path with a
// fixed test key (an in-memory SQLite database, migrated once).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "platform/audit/checkpoint.h"
#include "platform/audit/verify.h"
#include "platform/storage/db.h"
#include "platform/storage/migrations.h"

namespace {

// Ed25519 seed 0x42 * 32: the seeds in fuzz/corpus_audit are signed with it.
constexpr const char* kTestKey =
    "intl:4242424242424242424242424242424242424242424242424242424242424242";

struct Fixture {
  std::unique_ptr<custos::audit::Signer> signer;
  std::unique_ptr<custos::db::Db> db;
  Fixture() {
    char path[] = "/tmp/custos-fuzz-audit-key.XXXXXX";
    int fd = ::mkstemp(path);
    if (fd < 0) std::abort();
    ::close(fd);
    std::ofstream(path) << kTestKey << "\n";
    signer = custos::audit::load_signer("intl", path, /*create=*/false);
    ::unlink(path);
    custos::db::Options o;
    o.url = "sqlite::memory:";
    o.pool_size = 1;
    db = custos::db::open(o);
    custos::db::migrate(*db);
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fixture& f = fixture();
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::vector<custos::audit::Checkpoint> anchor;
  try {
    anchor = custos::audit::parse_anchor(bytes);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  for (const auto& c : anchor) (void)custos::audit::checkpoint_signature_ok(*f.signer, c);
  custos::audit::VerifyOptions options;
  options.signer = f.signer.get();
  options.anchor = std::move(anchor);
  auto report = custos::audit::verify(*f.db, options);
  // The database is empty: any anchor entry is either unsigned or ahead of the trail.
  if (!options.anchor.empty() && report.ok) std::abort();
  return 0;
}
