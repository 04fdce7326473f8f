// Frame files as the frame reader meets them on disk: TIFF (libtiff), EDF (our parser), chosen by magic bytes.
#include <cstddef>
#include <cstdint>

#include "drivers/detector/frame_files.hpp"
#include "fuzz/scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static insitu::fuzz::ScratchFile file(".frame");
  try {
    const auto frame = insitu::detector::read_frame(file.write(data, size));
    (void)frame.sum();
  } catch (const insitu::detector::FrameFileError&) {
  }
  return 0;
}
