#pragma once
// Runs as the API shows them (docs/api.md, "Objects").
#include <nlohmann/json.hpp>

#include "daemon/service/queue_store.hpp"

namespace insitu::service {

// The run object of the queue and of submit answers: times, position and run_file null when there are none.
nlohmann::json run_json(const Run& run);
// The same with its "states" ([{"state", "time", "reason"}, ...], oldest first), as the history shows it.
nlohmann::json run_history_json(const Run& run);

}  // namespace insitu::service
