#pragma once
// The cryogenic recipe cut to a short run: a 40 K ramp around room temperature, 2 darks and 10 frames of 512^2
// stored and analysed inline, the stage log, and the simulated DHR-3's exports (the DMA entry at the end).
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>

namespace insitu::testing {

inline std::filesystem::path short_cryo_recipe(const std::filesystem::path& dir) {
  std::ifstream in(INSITU_SOURCE_DIR "/config/recipes/cryo-heating.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  const auto program = text.find("program:\n"), program_end = text.find("safe_state:");
  text.replace(program, program_end - program,
               "program:\n  - hold: {temperature_K: 300, duration_s: 30}\n  - ramp: {to_K: 340, "
               "rate_K_per_min: 20}\n");
  text = std::regex_replace(text, std::regex("binning: 1\\}"), "binning: 4}");
  text = std::regex_replace(text, std::regex("\\.\\./instruments/"), INSITU_SOURCE_DIR "/config/instruments/");
  text = std::regex_replace(text, std::regex("during: \\[2, 3\\]"), "during: [2]");
  text = std::regex_replace(text, std::regex("darks: \\{before: 5, after: 5\\}"), "darks: {before: 2, after: 0}");
  const auto path = dir / "short.yaml";
  std::ofstream(path) << text;
  return path;
}

}  // namespace insitu::testing
