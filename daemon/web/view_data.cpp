#include "daemon/web/view_data.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace insitu::web {
namespace {

using nlohmann::json;

json number(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

struct Blocks {
  std::size_t size, rows, columns;
};

Blocks blocks_of(std::size_t height, std::size_t width) {
  const std::size_t side = std::max<std::size_t>(1, (std::max(height, width) + kPreviewSide - 1) / kPreviewSide);
  return {side, (height + side - 1) / side, (width + side - 1) / side};
}

// Each block's mean over its unmasked pixels; NaN for a block more than half masked.
std::vector<double> block_means(std::size_t height, std::size_t width, const PixelAt& pixel,
                                std::span<const std::uint8_t> mask, const Blocks& b) {
  std::vector<double> sum(b.rows * b.columns, 0.0);
  std::vector<std::size_t> used(sum.size(), 0), masked(sum.size(), 0);
  const bool has_mask = mask.size() == height * width;
  for (std::size_t row = 0; row < height; ++row) {
    for (std::size_t column = 0; column < width; ++column) {
      const std::size_t block = (row / b.size) * b.columns + column / b.size;
      if (has_mask && mask[row * width + column] != 0) {
        ++masked[block];
        continue;
      }
      sum[block] += pixel(row, column);
      ++used[block];
    }
  }
  for (std::size_t i = 0; i < sum.size(); ++i)
    sum[i] = used[i] == 0 || masked[i] > used[i] ? std::numeric_limits<double>::quiet_NaN()
                                                  : sum[i] / static_cast<double>(used[i]);
  return sum;
}

}  // namespace

json frame_preview(std::size_t height, std::size_t width, const PixelAt& pixel, std::span<const std::uint8_t> mask) {
  const auto b = blocks_of(height, width);
  auto means = block_means(height, width, pixel, mask, b);
  double low = std::numeric_limits<double>::infinity(), high = -low;
  for (auto& m : means) {
    if (std::isnan(m)) continue;
    m = std::log10(std::max(m, 1.0));  // counts below 1 show as the floor
    low = std::min(low, m), high = std::max(high, m);
  }
  if (!std::isfinite(low)) low = high = 0;
  const double span = high > low ? high - low : 1.0;
  std::vector<std::uint8_t> pixels(means.size(), 0);
  for (std::size_t i = 0; i < means.size(); ++i)
    if (!std::isnan(means[i])) pixels[i] = static_cast<std::uint8_t>(1 + std::lround(254 * (means[i] - low) / span));
  return {{"width", b.columns}, {"height", b.rows}, {"source_width", width}, {"source_height", height},
          {"log10_min", low},   {"log10_max", high}, {"pixels", base64(pixels)}};
}

json thinned(std::span<const double> values, std::size_t points) {
  const std::size_t stride = std::max<std::size_t>(1, (values.size() + points - 1) / points);
  json out = json::array();
  for (std::size_t i = 0; i < values.size(); i += stride) out.push_back(number(values[i]));
  return out;
}

json numbers(std::span<const double> values) {
  json out = json::array();
  for (const double v : values) out.push_back(number(v));
  return out;
}

json frame_curves(const analysis::AnalysisAxes& axes, const std::vector<double>& intensity,
                  const std::vector<double>& s_of_q, const std::vector<double>& g_of_r) {
  return {{"q", thinned(axes.q_inv_angstrom)},    {"intensity", thinned(intensity)},
          {"q_reduced", thinned(axes.q_reduced_inv_angstrom)}, {"s_of_q", thinned(s_of_q)},
          {"r", thinned(axes.r_angstrom)},        {"g_of_r", thinned(g_of_r)}};
}

std::string base64(std::span<const std::uint8_t> bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t chunk = static_cast<std::uint32_t>(bytes[i]) << 16;
    if (n > 1) chunk |= static_cast<std::uint32_t>(bytes[i + 1]) << 8;
    if (n > 2) chunk |= bytes[i + 2];
    for (std::size_t k = 0; k < 4; ++k)
      out.push_back(k <= n ? alphabet[(chunk >> (18 - 6 * k)) & 0x3f] : '=');
  }
  return out;
}

}  // namespace insitu::web
