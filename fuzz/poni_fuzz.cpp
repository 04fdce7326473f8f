// pyFAI PONI geometry files (versions 1 and 2), as `reprocess` and recipes read them.
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "analysis/integration/geometry.hpp"
#include "fuzz/scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)insitu::analysis::parse_poni(insitu::fuzz::as_text(data, size), "fuzz.poni");
  } catch (const std::runtime_error&) {  // documented: one line naming the key and the reason
  }
  return 0;
}
