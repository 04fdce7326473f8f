// dhr3_sim OUTDIR [--torsion] [--seed N] [--rate K_PER_MIN]: write a simulated DMA temperature sweep as
// TRIOS LIMS text, plain text and JSON exports, plus the ground-truth side file, into OUTDIR.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "drivers/dhr3/simulator.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: dhr3_sim OUTDIR [--torsion] [--seed N] [--rate K_PER_MIN]\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  auto geometry = insitu::dhr3::SimGeometry::three_point_bending;
  for (int a = 2; a < argc; ++a)
    if (std::string(argv[a]) == "--torsion") geometry = insitu::dhr3::SimGeometry::torsion;
  auto config = insitu::dhr3::paper_sweep(geometry);
  for (int a = 2; a + 1 < argc; ++a) {
    if (std::string(argv[a]) == "--seed") config.seed = std::strtoull(argv[a + 1], nullptr, 10);
    if (std::string(argv[a]) == "--rate") config.heating_rate_K_per_min = std::strtod(argv[a + 1], nullptr);
  }
  const auto sweep = insitu::dhr3::simulate_sweep(config);
  std::filesystem::create_directories(dir);
  const std::pair<const char*, std::string> files[] = {
      {"dma_lims.txt", insitu::dhr3::write_lims(sweep)},
      {"dma_text.txt", insitu::dhr3::write_text(sweep)},
      {"dma.json", insitu::dhr3::write_json(sweep)},
      {"dma_truth.json", insitu::dhr3::ground_truth_json(sweep)},
  };
  for (const auto& [name, text] : files) {
    std::ofstream out(dir / name, std::ios::binary);
    out << text;
    if (!out) {
      std::cerr << (dir / name).string() << ": write failed\n";
      return 1;
    }
    std::cout << (dir / name).string() << " (" << text.size() << " bytes)\n";
  }
  return 0;
}
