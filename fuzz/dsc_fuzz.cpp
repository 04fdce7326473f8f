// DSC text exports (STARe, TA Universal Analysis, NETZSCH), with and without a mass from the command line (chosen
// by the input's length, so that real exports are seeds as they are).
#include <cstddef>
#include <cstdint>
#include <optional>

#include "drivers/dsc/dsc_export.hpp"
#include "fuzz/scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::optional<double> mass_mg = size % 2 ? std::optional<double>(12.5) : std::nullopt;
  try {
    (void)insitu::dsc::parse_dsc_export(insitu::fuzz::as_text(data, size), "fuzz.txt", mass_mg);
  } catch (const insitu::dsc::DscFormatError&) {
  }
  return 0;
}
