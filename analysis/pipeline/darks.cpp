#include "analysis/pipeline/darks.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace insitu::analysis {
namespace {

// Hot and dead relative to the whole detector's dark level: robust statistics over the medians.
void mark_hot_and_dead(DarkSet& set, const std::vector<float>& spread, std::size_t frames) {
  const std::size_t n = set.median.size();
  std::vector<float> sorted = set.median;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(n / 2), sorted.end());
  const float level = sorted[n / 2];
  for (auto& v : sorted) v = std::abs(v - level);
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(n / 2), sorted.end());
  const float mad = std::max(1.0f, sorted[n / 2]);
  for (std::size_t i = 0; i < n; ++i) {
    if (set.median[i] > level + 6.0f * 1.4826f * mad) set.mask[i] |= pixel_mask_bit::over_responding;
    if (set.median[i] <= 0.0f || (frames > 2 && spread[i] == 0.0f && set.median[i] < level / 2))
      set.mask[i] |= pixel_mask_bit::dead;
  }
}

}  // namespace

template <class Pixel>
DarkSet combine_darks(const std::vector<std::span<const Pixel>>& darks) {
  DarkSet set;
  if (darks.empty()) return set;
  const std::size_t n_pixels = darks.front().size();
  for (const auto& d : darks)
    if (d.size() != n_pixels) throw std::invalid_argument("dark frames of different sizes");
  if (n_pixels == 0) return set;
  set.median.resize(n_pixels);
  set.mask.assign(n_pixels, 0);
  const double saturation = double(std::numeric_limits<Pixel>::max());
  std::vector<double> values(darks.size());
  std::vector<float> spread(n_pixels);
  for (std::size_t i = 0; i < n_pixels; ++i) {
    for (std::size_t k = 0; k < darks.size(); ++k) values[k] = double(darks[k][i]);
    auto mid = values.begin() + static_cast<long>(values.size() / 2);
    std::nth_element(values.begin(), mid, values.end());
    set.median[i] = static_cast<float>(*mid);
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    spread[i] = static_cast<float>(*hi - *lo);
    if (*hi >= 0.95 * saturation) set.mask[i] |= pixel_mask_bit::over_responding;
  }
  mark_hot_and_dead(set, spread, darks.size());
  return set;
}

std::vector<std::uint8_t> static_mask(const std::vector<std::uint8_t>& recipe_mask,
                                      const std::vector<std::uint32_t>& pixel_mask) {
  if (!recipe_mask.empty() && recipe_mask.size() != pixel_mask.size())
    throw std::invalid_argument("the recipe's mask has " + std::to_string(recipe_mask.size()) +
                                " pixels, the darks' pixel mask " + std::to_string(pixel_mask.size()));
  std::vector<std::uint8_t> mask(pixel_mask.size());
  for (std::size_t i = 0; i < mask.size(); ++i)
    mask[i] = (pixel_mask[i] != 0 || (!recipe_mask.empty() && recipe_mask[i] != 0)) ? 1 : 0;
  return mask;
}

template DarkSet combine_darks(const std::vector<std::span<const std::uint16_t>>&);
template DarkSet combine_darks(const std::vector<std::span<const std::uint32_t>>&);
template DarkSet combine_darks(const std::vector<std::span<const std::int32_t>>&);
template DarkSet combine_darks(const std::vector<std::span<const float>>&);

}  // namespace insitu::analysis
