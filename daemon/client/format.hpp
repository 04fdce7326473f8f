#pragma once
// How the client shows the API's objects (docs/api.md) to a person. Missing or null fields show as "-".
#include <nlohmann/json.hpp>
#include <string>

namespace insitu::client {

// The queue's runs (the array in {"runs": [...]}) as a table: id, state, position, sample, recipe, submitted; a
// held run's state reads "held".
std::string queue_table(const nlohmann::json& runs);
// The history's runs as a table: id, sample, state, started, ended, run_file, reason.
std::string history_table(const nlohmann::json& runs);
// One run of the history with its states, one a line.
std::string history_entry(const nlohmann::json& run);
// The status object: service, stage, current run (as watch_line), queue counts; a line each.
std::string status_text(const nlohmann::json& status);
// One line from the status object: the current run (segment, T vs setpoint, frames, latest S_eq, progress bar,
// ETA), or the idle stage and queue.
std::string watch_line(const nlohmann::json& status);
// "run 3: Vit105 HPT (cryo-ramp)".
std::string run_label(const nlohmann::json& run);
// The label and where the run stands: "run 3: Vit105 HPT (cryo-ramp), queued at position 0", "…, paused".
std::string run_summary(const nlohmann::json& run);

std::string progress_bar(double fraction);              // "[#########...........]", 20 characters inside
std::string clock_duration(double seconds);             // "1:02:03"
std::string local_time(const nlohmann::json& iso_utc);  // "2026-12-07 02:02:03" in the local zone, "-" for null

}  // namespace insitu::client
