// libFuzzer target: arbitrary bytes as an uploaded register (CSV or XLSX). The reader must
// refuse or parse, never crash, hang or run out of memory.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "platform/tabular/tabular.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  custos::tabular::ReadLimits limits;
  limits.max_rows = 10'000;
  limits.max_uncompressed_bytes = 16u << 20;
  try {
    custos::tabular::read_any(bytes, limits);
  } catch (const custos::tabular::TabularError&) {
  }
  return 0;
}
