// Render time of one simulated XRD1621 frame (1-D profile + per-pixel pass), one core.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "drivers/detector/sim/detector_simulator.hpp"

using namespace insitu::detector::sim;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s PONI F0_WAASKIRF [binning=1] [repeats=10]\n", argv[0]);
    return 2;
  }
  DetectorSimConfig config;
  config.poni_path = argv[1];
  config.form_factor_path = argv[2];
  config.binning = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 1;
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 10;
  using clock = std::chrono::steady_clock;
  const GlassModel model;
  const auto table = insitu::analysis::FormFactorTable::load(config.form_factor_path.string());
  const auto t0 = clock::now();
  const FrameRenderer renderer(config, model, table);
  const double setup_s = std::chrono::duration<double>(clock::now() - t0).count();
  double profile_ms = 0, pixels_ms = 0, sum = 0;
  for (int i = 0; i < repeats; ++i) {
    const auto a = clock::now();
    const auto profile = renderer.profile_adu_per_s(model.state(300.0 + i));
    const auto b = clock::now();
    const auto frame = renderer.render(profile, 12.0, false, static_cast<std::uint64_t>(i));
    const auto c = clock::now();
    sum += frame.sum();
    profile_ms += std::chrono::duration<double, std::milli>(b - a).count();
    pixels_ms += std::chrono::duration<double, std::milli>(c - b).count();
  }
  std::printf("detector_sim %zux%zu setup %.2f s, per frame: profile %.1f ms + pixels %.1f ms = %.1f ms (mean of %d; checksum %.3g)\n",
              renderer.height(), renderer.width(), setup_s, profile_ms / repeats, pixels_ms / repeats,
              (profile_ms + pixels_ms) / repeats, repeats, sum);
}
