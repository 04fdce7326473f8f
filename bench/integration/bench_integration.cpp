// Times AzimuthalIntegrator on the 2048^2 frame written by pyfai_reference.py (same frame and settings
// as the pyFAI timing) and checks it still agrees with pyFAI's result on that frame.
// Usage: bench_integration DIR [NREP]   (DIR holds frame.npy, bench.poni, pyfai_{none,bbox}.xy)
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "analysis/integration/azimuthal_integrator.hpp"
#include "bench/common/npy.hpp"

namespace {

using insitu::analysis::AzimuthalIntegrator;
using insitu::analysis::ImageView;
using insitu::analysis::IntegrationSetup;
using insitu::analysis::Pattern;
using insitu::analysis::PixelSplit;
using Clock = std::chrono::steady_clock;

std::vector<std::vector<double>> read_xy(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::vector<std::vector<double>> cols(3);
  double q, i, s;
  while (in >> q >> i >> s) {
    cols[0].push_back(q);
    cols[1].push_back(i);
    cols[2].push_back(s);
  }
  return cols;
}

// CPU time of the whole process (all threads): on a shared machine it shows the work a frame costs even when
// the wall time also holds the waits for a core.
double process_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_integration DIR [NREP]\n";
    return 2;
  }
  const std::string dir = argv[1];
  const int nrep = argc > 2 ? std::stoi(argv[2]) : 20;
  const auto frame = insitu::bench::read_npy_f32(dir + "/frame.npy");
  const insitu::analysis::Geometry geometry = insitu::analysis::read_poni(dir + "/bench.poni");
  const ImageView<float> image{frame.pixels, frame.height, frame.width};

  for (const auto& [split, label] : {std::pair{PixelSplit::none, "none"}, std::pair{PixelSplit::bbox, "bbox"}}) {
    for (std::size_t threads : {1u, 2u}) {
      IntegrationSetup setup;
      setup.npt = 3000;
      setup.polarization_factor = 0.99;
      setup.correct_solid_angle = true;
      setup.split = split;
      setup.threads = threads;
      const auto t0 = Clock::now();
      AzimuthalIntegrator integrator(geometry, setup);
      const double setup_s = std::chrono::duration<double>(Clock::now() - t0).count();
      Pattern pattern;
      integrator.integrate(image, pattern);  // warm-up: sizes `pattern`, faults pages in
      std::vector<double> ms, cpu_ms;
      for (int r = 0; r < nrep; ++r) {
        const auto t1 = Clock::now();
        const double cpu0 = process_cpu_ms();
        integrator.integrate(image, pattern);
        cpu_ms.push_back(process_cpu_ms() - cpu0);
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t1).count());
      }
      const auto ref = read_xy(dir + "/pyfai_" + label + ".xy");
      double max_dev = 0.0;
      for (std::size_t b = 0; b < std::min(ref[1].size(), pattern.intensity.size()); ++b)
        if (pattern.count[b] >= 10.0) max_dev = std::max(max_dev, std::fabs(pattern.intensity[b] / ref[1][b] - 1.0));
      std::printf(
          "insitu %s threads %zu median_ms %.2f min_ms %.2f setup_s %.3f nonzeros %zu max_rel_dev_vs_pyfai %.2e "
          "cpu_ms %.2f\n",
          label, threads, median(ms), *std::min_element(ms.begin(), ms.end()), setup_s, integrator.nonzeros(), max_dev,
          median(cpu_ms));
    }
  }
  return 0;
}
