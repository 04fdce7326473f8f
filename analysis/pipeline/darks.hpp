#pragma once
// Dark frames combined: the per-pixel median, and the bad pixels they reveal (hot: far above the detector's dark
// level, dead: no signal, saturated: at the top of the range). Mask bits follow NXdetector pixel_mask.
#include <cstdint>
#include <span>
#include <vector>

namespace insitu::analysis {

namespace pixel_mask_bit {
constexpr std::uint32_t dead = 1u << 1;
constexpr std::uint32_t over_responding = 1u << 3;  // hot, or saturated in the darks
}  // namespace pixel_mask_bit

struct DarkSet {
  std::vector<float> median;
  std::vector<std::uint32_t> mask;
};

// Every frame has the same number of pixels; an empty list gives an empty set.
template <class Pixel>
DarkSet combine_darks(const std::vector<std::span<const Pixel>>& darks);

// The analysis's static mask once the darks are in: masked where the recipe's mask (empty: none) is non-zero or
// the darks found a bad pixel (pixel_mask != 0). std::invalid_argument when the two differ in size.
std::vector<std::uint8_t> static_mask(const std::vector<std::uint8_t>& recipe_mask,
                                      const std::vector<std::uint32_t>& pixel_mask);

}  // namespace insitu::analysis
