// QXRD's `.tif.metadata` sidecar (Qt INI) and the numbers the frame intake reads from it.
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "drivers/detector/frame_files.hpp"
#include "fuzz/scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto metadata = insitu::detector::parse_qxrd_metadata(insitu::fuzz::as_text(data, size), "fuzz.metadata");
    (void)metadata.exposure_time_s();
    (void)metadata.summed_exposures();
    (void)metadata.image_number();
    (void)metadata.time_stamp_s();
  } catch (const std::invalid_argument&) {  // documented: "file:line: why"
  }
  return 0;
}
