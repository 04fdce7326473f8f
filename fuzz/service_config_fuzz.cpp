// insitud's configuration file (YAML, validated with file:line:column like the recipes).
#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "daemon/service/config.hpp"
#include "fuzz/scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static insitu::fuzz::ScratchFile file(".yaml");
  insitu::service::ServiceOverrides overrides;
  overrides.config_file = file.write(data, size);
  overrides.state_dir = std::filesystem::temp_directory_path() / "insitu-fuzz-state";
  try {
    (void)insitu::service::load_service_config(overrides);
  } catch (const insitu::service::ConfigError&) {
  }
  return 0;
}
