// Signed checkpoints of the audit trail. The hash chain alone proves the order of the records
// but not their authenticity: SHA-256 is unkeyed, so someone with write access to the database
// can rewrite a suffix and recompute every later hash (and the head row). A checkpoint fixes
// (org, tree size = seq, root = head hash, time) under a signature whose key lives in a file
// outside the database (audit.key_file); an anchor is a copy of the latest checkpoints kept
// outside the database too, so a restored older database (rollback) is caught as well.
//
// Signed message (domain 0x01, as audit.cpp reserves; fields length-prefixed like records):
//   0x01 | suite | org_id | seq | root | at
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/storage/db.h"

namespace custos::audit {

// Signs and verifies checkpoints. intl: Ed25519 (libsodium). gm: SM2 with SM3 (OpenSSL 3), the
// default distinguishing identifier 1234567812345678.
class Signer {
 public:
  virtual ~Signer() = default;
  virtual std::string suite() const = 0;   // "intl" | "gm"
  virtual std::string key_id() const = 0;  // hex, first 8 bytes of SHA-256 of the public key
  virtual std::string sign(std::string_view message) const = 0;  // raw signature bytes
  virtual bool verify(std::string_view message, std::string_view signature) const = 0;
};

// Loads the key in `key_file`; when `create` and the file is missing, generates one and writes
// it with mode 0600 (O_EXCL, so two servers starting at once cannot both write it). Throws
// std::runtime_error naming the file on any failure (unreadable, wrong suite, malformed).
std::unique_ptr<Signer> load_signer(const std::string& suite, const std::string& key_file,
                                    bool create);

struct Checkpoint {
  int64_t org_id = 0;
  int64_t seq = 0;        // tree size: records 1..seq are covered
  std::string root;       // hex chain hash of record seq
  int64_t at = 0;         // epoch ms when signed
  std::string suite;      // "intl" | "gm"
  std::string key_id;     // hex
  std::string signature;  // hex
};

std::string checkpoint_message(const Checkpoint& c);
Checkpoint sign_checkpoint(const Signer& signer, int64_t org_id, int64_t seq, std::string root,
                           int64_t at);
// Suite, key id and signature all match `signer`.
bool checkpoint_signature_ok(const Signer& signer, const Checkpoint& c);

struct CheckpointPolicy {
  int64_t every_records = 1000;
  int64_t every_ms = 60'000;
};

// For each organisation whose head moved past its latest checkpoint by policy.every_records,
// or whose latest checkpoint is older than policy.every_ms (or `force`), writes a checkpoint of
// the current head. Idempotent; safe to run on several servers (the primary key refuses a
// duplicate, which is skipped). Returns the checkpoints written.
std::vector<Checkpoint> write_checkpoints(db::Db& db, const Signer& signer, int64_t now_ms,
                                          const CheckpointPolicy& policy, bool force = false);

// The latest checkpoint of every organisation, by org.
std::vector<Checkpoint> latest_checkpoints(db::Tx& tx);
// Every checkpoint of one organisation, by seq.
std::vector<Checkpoint> org_checkpoints(db::Tx& tx, int64_t org_id);

// Anchor files: text, one checkpoint a line, so they diff and print well.
//   custos-audit-anchor v1
//   checkpoint <org> <seq> <root> <at> <suite> <key_id> <signature>
std::string format_anchor(const std::vector<Checkpoint>& checkpoints);
// Throws std::invalid_argument naming the line for anything malformed (bounded: at most 100000
// lines, fields of bounded length, hex where hex is due, one line per organisation).
std::vector<Checkpoint> parse_anchor(std::string_view text);

}  // namespace custos::audit
