#pragma once
// The live view's share of a run's documents beyond document_json's numbers: each frame as a small image with the
// analysis mask (type "frame_preview") and each frame's I(Q), S(Q), G(r) on their axes (type "frame_curves"), both
// bounded (view_data.hpp) so that the WebSocket carries at most ~90 kB per frame whatever the detector.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocols/run/documents.hpp"

namespace insitu::web {

class LiveFeed {
 public:
  // `axes`: the run's analysis grids; none when the run has no analysis (then no "frame_curves").
  explicit LiveFeed(std::optional<analysis::AnalysisAxes> axes);

  // The message a document adds, without "run"; nothing for most documents. Keeps the latest AnalysisMask for
  // the previews that follow it.
  std::optional<nlohmann::json> message(const documents::Document& document);

 private:
  std::optional<analysis::AnalysisAxes> axes_;
  std::shared_ptr<const std::vector<std::uint8_t>> mask_;
};

}  // namespace insitu::web
