// TRIOS exports (text, LIMS and JSON layouts) through the parser and on to DMA curves, as `insitu dma` reads them.
#include <cstddef>
#include <cstdint>

#include "drivers/dhr3/sweep.hpp"
#include "drivers/dhr3/trios.hpp"
#include "fuzz/scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace insitu::dhr3;
  try {
    const auto parsed = parse_export(insitu::fuzz::as_text(data, size));
    (void)dma_curves(parsed);
  } catch (const TriosError&) {  // documented: one line naming where the export is malformed
  }
  return 0;
}
