// libFuzzer target: arbitrary bytes as an agent's POST to /api/v1/inventory/agent (zlib, gzip
// or plain XML). Decoding and reading must refuse or succeed, never crash, hang or exhaust
// memory (the limits are the server's).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "modules/assets/agent_protocol.h"
#include "platform/errors/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const custos::assets::agent::Limits limits;
  try {
    custos::assets::agent::parse(custos::assets::agent::decode_body(bytes, limits), limits);
  } catch (const custos::Error&) {
  }
  return 0;
}
