#pragma once
// A run's documents as the WebSocket shows them: {"name", "stream", "doc"} with the numbers that change and the run
// level's curves (one value per heating frame). Frame previews and per-frame curves, bounded, are web::LiveFeed's.
#include <optional>

#include <nlohmann/json.hpp>

#include "protocols/run/documents.hpp"

namespace insitu::service {

// Null for documents a watcher has no use for (pixels, masks, DMA data).
std::optional<nlohmann::json> document_json(const documents::Document& document);

}  // namespace insitu::service
