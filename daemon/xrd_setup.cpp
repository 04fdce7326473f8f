#include "daemon/xrd_setup.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <variant>

#include <fmt/format.h>

#include "drivers/detector/frame_files.hpp"

namespace insitu::daemon {

std::filesystem::path form_factor_table_path() {
  if (const char* path = std::getenv("INSITU_FORM_FACTORS")) return path;
  const std::filesystem::path debian = "/usr/lib/python3/dist-packages/periodictable/xsf/f0_WaasKirf.dat";
  if (std::filesystem::exists(debian)) return debian;
  throw std::runtime_error(
      "no X-ray form-factor table: install python3-periodictable or set INSITU_FORM_FACTORS to f0_WaasKirf.dat");
}

analysis::Geometry detector_geometry(const recipe::DetectorSpec& detector) {
  if (!detector.geometry) throw std::runtime_error("the recipe's detector has no geometry (PONI) file");
  auto geometry = analysis::read_poni(*detector.geometry);
  const auto binning = static_cast<double>(detector.settings.binning);
  geometry.pixel1_m *= binning;
  geometry.pixel2_m *= binning;
  geometry.height = static_cast<std::size_t>(detector.height_px());
  geometry.width = static_cast<std::size_t>(detector.width_px());
  return geometry;
}

storage::DetectorLayout detector_layout(const recipe::DetectorSpec& detector, const analysis::Geometry& geometry) {
  storage::DetectorLayout layout;
  layout.height = geometry.height;
  layout.width = geometry.width;
  layout.pixel_type = detector.settings.subframes > 1 ? storage::PixelType::u32 : storage::PixelType::u16;
  layout.store_frames = detector.store_frames;
  layout.x_pixel_size_m = geometry.pixel2_m;
  layout.y_pixel_size_m = geometry.pixel1_m;
  layout.distance_m = geometry.distance_m;
  if (detector.geometry) {
    std::ifstream poni(*detector.geometry);
    if (!poni) throw std::runtime_error("cannot read the detector geometry file " + *detector.geometry);
    std::ostringstream text;
    text << poni.rdbuf();
    layout.calibration = storage::DetectorLayout::Calibration{
        geometry, detector.settings.binning, text.str(), std::filesystem::absolute(*detector.geometry).string()};
  }
  layout.gain_setting = fmt::format("{} pF", detector.settings.gain_pF);
  layout.readout_time_s = detector.frames.readout_s;
  layout.saturation_value = std::int64_t{65535} * detector.settings.subframes;
  layout.frame_start_number = detector.frames.first_index;
  layout.settings_key = fmt::format("timing {} gain {} pF binning {} subframes {}", detector.settings.timing_mode,
                                    detector.settings.gain_pF, detector.settings.binning, detector.settings.subframes);
  return layout;
}

std::vector<std::uint8_t> read_static_mask(const std::filesystem::path& path, std::size_t height, std::size_t width,
                                           const std::string& frames_described) {
  const auto image = detector::read_frame(path);
  if (image.height != height || image.width != width)
    throw std::runtime_error(
        fmt::format("mask {} is {}x{} pixels, {}", path.string(), image.height, image.width, frames_described));
  std::vector<std::uint8_t> mask(image.height * image.width);
  std::visit(
      [&](const auto& pixels) {
        for (std::size_t i = 0; i < pixels.size(); ++i) mask[i] = pixels[i] != 0 ? 1 : 0;
      },
      image.pixels);
  return mask;
}

analysis::PipelineSettings pipeline_settings(const recipe::Recipe& recipe) {
  const auto& a = *recipe.analysis;
  analysis::PipelineSettings s;
  s.npt = static_cast<std::size_t>(a.integration.npt);
  s.split = a.integration.split == recipe::PixelSplitting::bbox ? analysis::PixelSplit::bbox : analysis::PixelSplit::none;
  s.polarization_factor = a.integration.polarization;
  if (a.integration.q_range_inv_angstrom) {
    s.integration_qmin_inv_angstrom = a.integration.q_range_inv_angstrom->first;
    s.integration_qmax_inv_angstrom = a.integration.q_range_inv_angstrom->second;
  }
  s.qmin_inv_angstrom = a.reduction.qmin_inv_angstrom;
  s.qmax_inv_angstrom = a.reduction.qmax_inv_angstrom;
  s.qmaxinst_inv_angstrom = a.reduction.qmaxinst_inv_angstrom;
  s.rpoly_angstrom = a.reduction.rpoly_angstrom;
  s.rmin_angstrom = a.reduction.r_min_angstrom;
  s.rstep_angstrom = a.reduction.r_step_angstrom;
  s.rmax_angstrom = a.reduction.r_max_angstrom;
  s.bgscale = a.reduction.bgscale;
  if (a.reduction.background) {
    s.background_file = *a.reduction.background;
    std::ifstream f(s.background_file);
    if (!f) throw std::runtime_error("cannot read the background file " + s.background_file);
    std::ostringstream text;
    text << f.rdbuf();
    s.background_text = text.str();
  }
  if (recipe.detector && recipe.detector->mask) {
    const auto& d = *recipe.detector;
    s.mask = read_static_mask(
        *d.mask, static_cast<std::size_t>(d.height_px()), static_cast<std::size_t>(d.width_px()),
        fmt::format("the detector's frames are {}x{} (binning {})", d.height_px(), d.width_px(), d.settings.binning));
  }
  s.composition = recipe.sample.composition;
  s.form_factor_file = form_factor_table_path().string();
  s.rho0_fit_rmin_angstrom = a.density.fit_range_angstrom.first;
  s.rho0_fit_rmax_angstrom = a.density.fit_range_angstrom.second;
  if (a.density.nominal_per_cubic_m) s.rho0_nominal_per_cubic_angstrom = *a.density.nominal_per_cubic_m * 1e-30;
  s.s_eq_density = a.density.use == recipe::DensityChoice::nominal ? analysis::PipelineSettings::Density::nominal
                                                                   : analysis::PipelineSettings::Density::fit;
  s.s_eq_rmax_angstrom = a.entropy.r_max_angstrom;
  s.smoothing_window_K = a.run.smoothing_window_K;
  if (a.run.expected_tg_K) {
    s.tg_fit_min_K = *a.run.expected_tg_K - 100.0;
    s.tg_fit_max_K = *a.run.expected_tg_K + 50.0;
  }
  s.validate();
  return s;
}

storage::AnalysisLayout analysis_layout(const analysis::PipelineSettings& settings, analysis::AnalysisAxes axes,
                                        const analysis::Geometry& geometry) {
  storage::AnalysisLayout layout;
  layout.mask_height = geometry.height;
  layout.mask_width = geometry.width;
  layout.mask = settings.mask;
  layout.axes = std::move(axes);
  layout.parameters = settings.describe();
  const auto table = analysis::FormFactorTable::load(settings.form_factor_file);
  for (const auto& [symbol, amount] : analysis::parse_composition(settings.composition))
    // An init-capture: clang 14 cannot capture a structured binding.
    if (std::none_of(layout.form_factors.begin(), layout.form_factors.end(),
                     [&element = symbol](const auto& entry) { return entry.first == element; }))
      layout.form_factors.emplace_back(symbol, table.coefficients(symbol));
  layout.form_factor_source = std::filesystem::absolute(settings.form_factor_file).string();
  layout.background_text = settings.background_text;
  if (!settings.background_text.empty())
    layout.background_file_name = std::filesystem::absolute(settings.background_file).string();
  return layout;
}

}  // namespace insitu::daemon
