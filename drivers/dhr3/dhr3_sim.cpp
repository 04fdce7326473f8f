// dhr3_sim OUTDIR [--torsion] [--seed N] [--rate K_PER_MIN] [--shape interleaved|steps|cycles|files]
//                 [--no-frequency-columns]
// Writes a simulated DMA temperature sweep as TRIOS LIMS text, plain text and JSON exports in the shape asked
// (one step with the frequencies interleaved, one step per frequency, heating–cooling cycles, or one file per
// frequency), plus the ground-truth side file, into OUTDIR.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "drivers/dhr3/simulator.hpp"

namespace {

bool write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) {
    std::cerr << path.string() << ": write failed\n";
    return false;
  }
  std::cout << path.string() << " (" << text.size() << " bytes)\n";
  return true;
}

bool write_exports(const std::filesystem::path& dir, const std::string& stem,
                   const insitu::dhr3::SimulatedSweep& sweep) {
  return write(dir / (stem + "_lims.txt"), insitu::dhr3::write_lims(sweep)) &&
         write(dir / (stem + "_text.txt"), insitu::dhr3::write_text(sweep)) &&
         write(dir / (stem + ".json"), insitu::dhr3::write_json(sweep));
}

}  // namespace

int main(int argc, char** argv) {
  using insitu::dhr3::ExportShape;
  if (argc < 2) {
    std::cerr << "usage: dhr3_sim OUTDIR [--torsion] [--seed N] [--rate K_PER_MIN] "
                 "[--shape interleaved|steps|cycles|files] [--no-frequency-columns]\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  auto geometry = insitu::dhr3::SimGeometry::three_point_bending;
  for (int a = 2; a < argc; ++a)
    if (std::string(argv[a]) == "--torsion") geometry = insitu::dhr3::SimGeometry::torsion;
  auto config = insitu::dhr3::paper_sweep(geometry);
  bool file_per_frequency = false;
  const std::map<std::string, ExportShape> shapes = {
      {"interleaved", ExportShape::interleaved}, {"steps", ExportShape::step_per_frequency},
      {"cycles", ExportShape::cycles}, {"files", ExportShape::interleaved}};
  for (int a = 2; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "--no-frequency-columns") config.frequency_columns = false;
    if (a + 1 >= argc) continue;
    if (arg == "--seed") config.seed = std::strtoull(argv[a + 1], nullptr, 10);
    if (arg == "--rate") config.heating_rate_K_per_min = std::strtod(argv[a + 1], nullptr);
    if (arg == "--shape") {
      const auto it = shapes.find(argv[a + 1]);
      if (it == shapes.end()) {
        std::cerr << "dhr3_sim: unknown shape '" << argv[a + 1] << "' (interleaved, steps, cycles, files)\n";
        return 2;
      }
      config.shape = it->second;
      file_per_frequency = it->first == "files";
    }
  }
  std::filesystem::create_directories(dir);
  const auto sweep = insitu::dhr3::simulate_sweep(config);
  if (!write(dir / "dma_truth.json", insitu::dhr3::ground_truth_json(sweep))) return 1;
  if (!file_per_frequency) return write_exports(dir, "dma", sweep) ? 0 : 1;
  for (const auto& one : insitu::dhr3::simulate_file_per_frequency(config))
    if (!write_exports(dir, "dma_" + std::to_string(one.config.frequencies_Hz.front()).substr(0, 5) + "Hz", one))
      return 1;
  return 0;
}
