// `reprocess --temperatures`: the CSV of frame file names and temperatures.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "daemon/reprocess_command.hpp"
#include "fuzz/scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)insitu::daemon::parse_temperature_csv(std::string(insitu::fuzz::as_text(data, size)), "fuzz.csv");
  } catch (const std::invalid_argument&) {  // documented: "path:line: why", as reprocess_test expects it
  }
  return 0;
}
