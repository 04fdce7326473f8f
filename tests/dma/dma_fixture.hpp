#pragma once
// Shared by the DMA tests: simulated exports (coarser than the paper sweep so the tests stay fast) and temp dirs.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "drivers/dhr3/simulator.hpp"

namespace insitu::dma_testing {

// The paper's sweep at 2 K per pass over the frequencies (half the rows); `seed` changes the noise.
inline dhr3::SimulatedSweep coarse_sweep(std::uint64_t seed = 42) {
  auto config = dhr3::paper_sweep(dhr3::SimGeometry::three_point_bending);
  config.kelvin_per_cycle = 2.0;
  config.seed = seed;
  return dhr3::simulate_sweep(config);
}

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

class TempDir {
 public:
  explicit TempDir(const std::string& name) {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("insitu-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace insitu::dma_testing
