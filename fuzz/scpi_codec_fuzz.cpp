// The BNC 575 SCPI reply side: classification, echo handling and *IDN? parsing of arbitrary lines.
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "drivers/trigger/scpi_codec.hpp"
#include "fuzz/scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace insitu::trigger;
  auto stream = insitu::fuzz::as_text(data, size);
  ReplyReader reader(":PULSE0:STATE ON");
  while (!stream.empty()) {
    const auto end = stream.find('\n');
    const auto line = stream.substr(0, end);
    (void)classify_reply(line);
    (void)reader.accept(line);
    try {
      (void)parse_identity(line).is_bnc();
    } catch (const std::invalid_argument&) {  // documented: not an identity of this family
    }
    if (end == std::string_view::npos) break;
    stream.remove_prefix(end + 1);
  }
  return 0;
}
