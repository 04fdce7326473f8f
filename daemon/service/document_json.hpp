#pragma once
// A run's documents as the WebSocket shows them: {"name", "stream", "doc"} with scalar fields only (frames' pixels
// and the analysis' curves stay in the run file; a watcher needs the numbers that change).
#include <optional>

#include <nlohmann/json.hpp>

#include "protocols/run/documents.hpp"

namespace insitu::service {

// Null for documents a watcher has no use for (pixels, masks, DMA data).
std::optional<nlohmann::json> document_json(const documents::Document& document);

}  // namespace insitu::service
