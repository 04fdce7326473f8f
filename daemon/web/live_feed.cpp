#include "daemon/web/live_feed.hpp"

#include "daemon/web/view_data.hpp"

namespace insitu::web {

LiveFeed::LiveFeed(std::optional<analysis::AnalysisAxes> axes) : axes_(std::move(axes)) {}

std::optional<nlohmann::json> LiveFeed::message(const documents::Document& document) {
  if (const auto* m = std::get_if<documents::AnalysisMask>(&document)) {
    mask_ = m->mask;
    return std::nullopt;
  }
  const auto* f = std::get_if<documents::FrameEvent>(&document);
  if (f && f->pixels && f->record.image_key == detector::image_data) {  // darks are no view of the sample
    const auto& frame = *f->pixels;
    std::span<const std::uint8_t> mask;
    if (mask_) mask = *mask_;
    auto preview = std::visit(
        [&](const auto& pixels) {
          return frame_preview(frame.height, frame.width,
                               [&](std::size_t row, std::size_t column) {
                                 return static_cast<double>(pixels[row * frame.width + column]);
                               },
                               mask);
        },
        frame.pixels);
    preview["type"] = "frame_preview";
    preview["sequence"] = f->record.sequence;
    return preview;
  }
  if (const auto* a = std::get_if<documents::FrameAnalysisEvent>(&document); a && axes_) {
    const auto& frame = a->analysis;
    auto curves = frame_curves(*axes_, frame.intensity, frame.structure_factor, frame.reduced_pdf);
    curves["type"] = "frame_curves";
    curves["sequence"] = frame.sequence;
    curves["temperature_K"] = frame.temperature_K;
    return curves;
  }
  return std::nullopt;
}

}  // namespace insitu::web
