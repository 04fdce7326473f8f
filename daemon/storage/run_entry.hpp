#pragma once
// The frame of a run file: the root, the NXentry and what is known before the run starts.
//
//   / @default=entry @creator @file_time @HDF5_Version @file_name
//   entry:NXentry @default=temperature  title, start_time, program_name @version,
//                                       end_time, duration @units=s, exit_status  (only at the end: write_end_of_run)
//     recipe:NXnote          type=application/yaml, data, checksum (sha256 hex), algorithm, file_name (with a recipe)
//     sample:NXsample        name, chemical_formula, description, treatment
//       state:NXcollection   label, deformation, rotations, deformation_temperature, storage_temperature @units K
//                            (with a recipe sample.state)
//     instrument:NXinstrument/temperature_controller:NXenvironment   (with a stage)
//                            name, model, connection, clock_speed @units=1 (run seconds per wall second), simulated
//                            (its sensor and log: temperature_log_writer.hpp)
// The streams add their groups to this frame (temperature_log_writer.hpp, event_writer.hpp, detector_layout.hpp,
// frame_analysis_writer.hpp, run_analysis_writer.hpp).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "daemon/storage/h5.hpp"

namespace insitu::storage {

// The sample's treatment before the run (the recipe's sample.state).
struct SampleStateRecord {
  std::string label, deformation;  // deformation: "none" or "HPT"
  std::int64_t rotations = 0;
  double deformation_temperature_K = 0.0;  // NaN without a deformation
  double storage_temperature_K = 0.0;
};

struct RunMetadata {
  std::string program_name = "insitu", program_version, recipe_name, recipe_path, recipe_text, sample_name,
              sample_composition, sample_treatment, sample_description,
              start_time_iso;  // UTC ISO 8601 of run time 0
  std::optional<SampleStateRecord> sample_state;
  double clock_speed = 1.0;    // 600 = accelerated simulation; recorded in the file
  bool simulated = false;
  std::string stage_model, stage_connection;
};

struct RunEntryParts {
  bool recipe = true;  // the recipe note (a --frames output has no recipe)
  bool stage = true;   // instrument/temperature_controller (a --frames output has no stage)
};

// Writes the root attributes and the entry above into a new file (regular or pre-SWMR mode); returns the entry.
h5::Handle write_run_entry(const h5::Handle& file, const std::filesystem::path& path, const RunMetadata&,
                           RunEntryParts parts = {});

// end_time (start + end_time_s, ISO 8601 UTC), duration @units=s and exit_status under an existing entry; creates
// objects, so regular mode only.
void write_end_of_run(const h5::Handle& entry, const std::string& start_time_iso, double end_time_s,
                      const std::string& exit_status);

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)", the form RunClock::iso8601_at produces; std::runtime_error
// otherwise.
std::chrono::system_clock::time_point parse_iso8601_utc(const std::string& text);

}  // namespace insitu::storage
