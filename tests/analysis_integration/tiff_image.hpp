#pragma once
// Test helper: reads a single-channel 16/32-bit integer or 32-bit float TIFF into float32 (row-major).
#include <cstddef>
#include <filesystem>
#include <vector>

namespace insitu::analysis::testing {

struct FloatImage {
  std::vector<float> pixels;
  std::size_t height = 0, width = 0;
};

FloatImage read_tiff(const std::filesystem::path& path);

}  // namespace insitu::analysis::testing
