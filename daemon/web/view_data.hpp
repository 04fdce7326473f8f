#pragma once
// What the live view and the report draw, as JSON for the chart code (web/src/charts.js): a frame reduced to a
// small log-scaled image with its mask, and one frame's I(Q), S(Q), G(r) thinned to a bounded number of points.
// The live view gets them over the WebSocket, a report inlines them: both bounded whatever the detector.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/pipeline/results.hpp"

namespace insitu::web {

constexpr std::size_t kPreviewSide = 256;     // longest side of a frame preview: at most 64 KiB of pixels
constexpr std::size_t kCurvePoints = 1000;    // at most this many points per curve

// Pixel (row, column) of a height x width frame.
using PixelAt = std::function<double(std::size_t row, std::size_t column)>;

// {"width", "height", "source_width", "source_height", "log10_min", "log10_max", "pixels"}: blocks of the frame
// averaged over their unmasked pixels, log10 scaled onto 1..255 and base64 encoded row by row; 0 where more than
// half of a block is masked (`mask`: height x width, non-zero = masked; empty = none).
nlohmann::json frame_preview(std::size_t height, std::size_t width, const PixelAt& pixel,
                             std::span<const std::uint8_t> mask);

// {"q", "intensity", "q_reduced", "s_of_q", "r", "g_of_r"}, each thinned to kCurvePoints (NaN as null).
nlohmann::json frame_curves(const analysis::AnalysisAxes& axes, const std::vector<double>& intensity,
                            const std::vector<double>& s_of_q, const std::vector<double>& g_of_r);

// Every `stride`-th value so that at most `points` remain; NaN as null.
nlohmann::json thinned(std::span<const double> values, std::size_t points = kCurvePoints);

// Values as a JSON array with NaN and infinities as null.
nlohmann::json numbers(std::span<const double> values);

std::string base64(std::span<const std::uint8_t> bytes);

}  // namespace insitu::web
