// The Linkam T95 status reply decoder, fed the controller's line stream: every CR-terminated piece is one reply.
#include <cstddef>
#include <cstdint>

#include "drivers/linkam/codec.hpp"
#include "fuzz/scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto stream = insitu::fuzz::as_text(data, size);
  while (!stream.empty()) {
    const auto end = stream.find('\r');
    const auto line = stream.substr(0, end);
    const auto decoded = insitu::linkam::decode_status(line);
    if (decoded.status) (void)decoded.status->ramping();
    if (decoded.error) (void)insitu::linkam::to_string(*decoded.error);
    if (end == std::string_view::npos) break;
    stream.remove_prefix(end + 1);
  }
  return 0;
}
