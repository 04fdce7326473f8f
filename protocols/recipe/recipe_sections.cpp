#include "protocols/recipe/recipe_sections.hpp"

#include <filesystem>

#include "drivers/io/connection_url.hpp"

namespace insitu::recipe::sections {
using namespace fields;
namespace {

std::optional<TriggerSpec> parse_trigger(Diagnostics& diag, const Entry& entry) {
  const auto& trigger_format = format::section("detector.trigger");
  auto map = as_section(diag, entry, "trigger", trigger_format);
  if (!map) return std::nullopt;
  const std::size_t errors = diag.count();
  TriggerSpec trigger;
  const Entry* connection = map->require("connection");
  if (auto url = read_string(diag, connection)) {
    try {
      io::parse_connection_url(*url);
      trigger.connection = *url;
    } catch (const std::invalid_argument& e) {
      diag.error(connection->value_mark(), fmt::format("connection: {}", e.what()));
    }
  }
  if (const Entry* e = map->find("channel")) trigger.channel = read_channel(diag, e).value_or('A');
  if (const Entry* e = map->find("pulse_width_s")) {
    trigger.pulse_width_s = read_number_in(diag, e, trigger_format).value_or(0.0);
  }
  if (const Entry* e = map->find("polarity")) {
    trigger.polarity =
        read_choice_in(diag, e, trigger_format).value_or(0) == 0 ? Polarity::normal : Polarity::inverted;
  }
  if (const Entry* e = map->find("latency_s")) trigger.latency_s = read_number_in(diag, e, trigger_format).value_or(0.0);
  if (const Entry* e = map->find("shutter_channel"); present(e)) {
    trigger.shutter_channel = read_channel(diag, e);
    if (trigger.shutter_channel && *trigger.shutter_channel == trigger.channel) {
      diag.error(e->value.Mark(),
                 fmt::format("shutter_channel: {} is already the detector trigger channel", trigger.channel));
    }
  }
  return diag.count() == errors ? std::optional(trigger) : std::nullopt;
}

std::optional<FrameSpec> parse_frames(Diagnostics& diag, const Entry& entry) {
  const auto& frames_format = format::section("detector.frames");
  auto map = as_section(diag, entry, "frames", frames_format);
  if (!map) return std::nullopt;
  const std::size_t errors = diag.count();
  FrameSpec frames;
  const Entry* folder = map->require("folder");
  if (auto f = read_string(diag, folder)) {
    if (f->empty()) diag.error(folder->value_mark(), "folder: must not be empty");
    frames.folder = *f;
  }
  if (const Entry* e = map->find("pattern")) frames.pattern = read_name(diag, e).value_or("");
  if (const Entry* e = map->find("first_index"))
    frames.first_index = read_integer_in(diag, e, frames_format).value_or(0);
  if (const Entry* e = map->find("format")) {
    frames.format = read_choice_in(diag, e, frames_format).value_or(0) == 0 ? FrameFormat::tiff : FrameFormat::edf;
  }
  if (const Entry* e = map->find("sidecar")) frames.sidecar = read_bool(diag, e).value_or(false);
  if (const Entry* e = map->find("deadline_margin_s")) {
    frames.deadline_margin_s = read_number_in(diag, e, frames_format).value_or(0.0);
  }
  // 66.6 ms is the fastest XRD1621 (ES) frame; longer than 5 s is no readout time (the format table's limits).
  if (const Entry* e = map->find("readout_s")) frames.readout_s = read_number_in(diag, e, frames_format).value_or(0.0);
  return diag.count() == errors ? std::optional(frames) : std::nullopt;
}

std::optional<DetectorSettings> parse_detector_settings(Diagnostics& diag, const Entry& entry) {
  const auto& settings_format = format::section("detector.settings");
  auto map = as_section(diag, entry, "settings", settings_format);
  if (!map) return std::nullopt;
  const std::size_t errors = diag.count();
  DetectorSettings settings;
  if (const Entry* e = map->find("subframes"))
    settings.subframes = static_cast<int>(read_integer_in(diag, e, settings_format).value_or(1));
  if (const Entry* e = map->find("gain_pF")) {
    // The XRD1621's six feedback capacitances.
    const auto& gains_pF = format::field(settings_format, "gain_pF").values;
    if (const auto gain = read_number(diag, e)) {
      if (std::find(gains_pF.begin(), gains_pF.end(), *gain) == gains_pF.end()) {
        diag.error(e->value.Mark(),
                   fmt::format("gain_pF: {} pF is not an XRD1621 gain (0.25, 0.5, 1, 2, 4 or 8 pF)", *gain));
      }
      settings.gain_pF = *gain;
    }
  }
  if (const Entry* e = map->find("timing_mode"))
    settings.timing_mode = static_cast<int>(read_integer_in(diag, e, settings_format).value_or(0));
  if (const Entry* e = map->find("binning")) {
    const auto& binnings = format::field(settings_format, "binning").values;
    if (const auto binning = read_integer(diag, e)) {
      if (std::find(binnings.begin(), binnings.end(), static_cast<double>(*binning)) == binnings.end()) {
        diag.error(e->value.Mark(), fmt::format("binning: expected 1, 2 or 4, got {}", *binning));
      }
      settings.binning = static_cast<int>(*binning);
    }
  }
  return diag.count() == errors ? std::optional(settings) : std::nullopt;
}

bool has_extension(const std::string& path, std::initializer_list<std::string_view> extensions) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
}

}  // namespace

std::optional<DetectorSpec> parse_detector(Diagnostics& diag, const Entry& entry, const std::filesystem::path& base) {
  auto map = as_section(diag, entry, "detector", format::section("detector"));
  if (!map) return std::nullopt;
  const std::size_t errors = diag.count();
  DetectorSpec detector;
  if (const Entry* e = map->require("trigger")) {
    if (auto trigger = parse_trigger(diag, *e)) detector.trigger = *trigger;
  }
  if (const Entry* e = map->require("frames")) {
    if (auto frames = parse_frames(diag, *e)) detector.frames = *frames;
  }
  if (const Entry* e = map->find("geometry"); present(e)) detector.geometry = read_existing_file(diag, e, base);
  if (const Entry* e = map->find("settings")) {
    if (auto settings = parse_detector_settings(diag, *e)) detector.settings = *settings;
  }
  if (const Entry* e = map->find("store_frames")) detector.store_frames = read_bool(diag, e).value_or(true);
  if (const Entry* e = map->find("mask"); present(e)) {
    detector.mask = read_existing_file(diag, e, base);
    if (detector.mask && !has_extension(*detector.mask, {".tif", ".tiff", ".edf"})) {
      diag.error(e->value.Mark(),
                 fmt::format("mask: expected a TIFF or EDF file (.tif, .tiff, .edf), got '{}'", e->value.Scalar()));
    }
  }
  return diag.count() == errors ? std::optional(detector) : std::nullopt;
}

// `program_items` is the number of top-level program items as written; `detector` is null unless valid.
std::optional<ExposureSpec> parse_exposures(Diagnostics& diag, const Entry& entry, std::size_t program_items,
                                            const DetectorSpec* detector) {
  auto map = as_section(diag, entry, "exposures", format::section("exposures"));
  if (!map) return std::nullopt;
  const std::size_t errors = diag.count();
  ExposureSpec exposures{};
  const Entry* period_entry = map->require("period_s");
  const auto period = read_number_in(diag, period_entry, format::section("exposures"));
  exposures.period_s = period.value_or(0.0);
  if (period && detector != nullptr) {
    const auto& settings = detector->settings;
    if (*period / settings.subframes < detector->frames.readout_s) {
      diag.error(period_entry->value.Mark(),
                 fmt::format("period_s: {} s in {} subframe(s) is shorter than the {} s detector readout per frame",
                             *period, settings.subframes, detector->frames.readout_s));
    }
  }

  const Entry* during = map->find("during");
  if (during == nullptr || (during->value.IsScalar() && during->value.Scalar() == "all")) {
    for (std::size_t i = 1; i <= program_items; ++i) exposures.during_items.push_back(static_cast<int>(i));
  } else if (!during->value.IsSequence()) {
    diag.error(during->value_mark(),
               fmt::format("during: expected all or a list of program items, got {}", kind_of(during->value)));
  } else if (during->value.size() == 0) {
    diag.error(during->value_mark(), "during: must list at least one program item");
  } else {
    for (const YAML::Node& node : during->value) {
      const Entry item_entry{during->key, node, "during"};
      const auto item = read_integer(diag, &item_entry);
      if (!item) continue;
      if (*item < 1 || *item > static_cast<long long>(program_items)) {
        diag.error(node.Mark(), fmt::format("during: program item {} does not exist (the program has {} top-level "
                                            "item{})",
                                            *item, program_items, program_items == 1 ? "" : "s"));
      } else if (std::find(exposures.during_items.begin(), exposures.during_items.end(), *item) !=
                 exposures.during_items.end()) {
        diag.error(node.Mark(), fmt::format("during: program item {} is listed twice", *item));
      } else {
        exposures.during_items.push_back(static_cast<int>(*item));
      }
    }
    std::sort(exposures.during_items.begin(), exposures.during_items.end());
  }

  if (const Entry* e = map->find("darks")) {
    const auto& darks_format = format::section("exposures.darks");
    if (auto darks = as_section(diag, *e, "darks", darks_format)) {
      if (const Entry* b = darks->find("before"))
        exposures.darks_before = static_cast<int>(read_integer_in(diag, b, darks_format).value_or(0));
      if (const Entry* a = darks->find("after"))
        exposures.darks_after = static_cast<int>(read_integer_in(diag, a, darks_format).value_or(0));
      if (detector != nullptr && !detector->trigger.shutter_channel &&
          exposures.darks_before + exposures.darks_after > 0) {
        diag.error(e->key.Mark(), "darks: closing the shutter needs detector.trigger.shutter_channel");
      }
    }
  }
  return diag.count() == errors ? std::optional(exposures) : std::nullopt;
}

// Upper bound on the r grid, so a typo in r_step cannot ask for millions of sine transforms per frame.
constexpr double k_max_r_points = 100000.0;

std::optional<AnalysisSpec::Reduction> parse_reduction(Diagnostics& diag, const Entry& entry,
                                                       const std::filesystem::path& base,
                                                       const AnalysisSpec::Integration& integration) {
  const auto& reduction_format = format::section("analysis.reduction");
  auto map = as_section(diag, entry, "reduction", reduction_format);
  if (!map) return std::nullopt;
  const std::size_t errors = diag.count();
  AnalysisSpec::Reduction reduction{};
  const Entry* qmin_entry = map->require("qmin");
  const Entry* qmax_entry = map->require("qmax");
  const Entry* qmaxinst_entry = map->require("qmaxinst");
  const auto qmin = read_number_in(diag, qmin_entry, reduction_format);
  const auto qmax = read_number_in(diag, qmax_entry, reduction_format);
  const auto qmaxinst = read_number_in(diag, qmaxinst_entry, reduction_format);
  if (qmin && qmax && *qmin >= *qmax) {
    diag.error(qmin_entry->value.Mark(), fmt::format("qmin: {} Å⁻¹ must be below qmax {} Å⁻¹", *qmin, *qmax));
  }
  if (qmax && qmaxinst && *qmax > *qmaxinst) {
    diag.error(qmax_entry->value.Mark(), fmt::format("qmax: {} Å⁻¹ must not exceed qmaxinst {} Å⁻¹", *qmax, *qmaxinst));
  }
  if (qmaxinst && integration.q_range_inv_angstrom && *qmaxinst > integration.q_range_inv_angstrom->second) {
    diag.error(qmaxinst_entry->value.Mark(),
               fmt::format("qmaxinst: {} Å⁻¹ is beyond the integration range, which ends at {} Å⁻¹", *qmaxinst,
                           integration.q_range_inv_angstrom->second));
  }
  reduction.qmin_inv_angstrom = qmin.value_or(0.0);
  reduction.qmax_inv_angstrom = qmax.value_or(0.0);
  reduction.qmaxinst_inv_angstrom = qmaxinst.value_or(0.0);
  if (const Entry* e = map->find("rpoly")) reduction.rpoly_angstrom = read_number_in(diag, e, reduction_format).value_or(0.0);

  const Entry* r_min_entry = map->find("r_min");
  const Entry* r_step_entry = map->find("r_step");
  const Entry* r_max_entry = map->find("r_max");
  const auto r_min = r_min_entry ? read_number_in(diag, r_min_entry, reduction_format) : reduction.r_min_angstrom;
  const auto r_step = r_step_entry ? read_number_in(diag, r_step_entry, reduction_format) : reduction.r_step_angstrom;
  const auto r_max = r_max_entry ? read_number_in(diag, r_max_entry, reduction_format) : reduction.r_max_angstrom;
  if (r_min && r_max && *r_min >= *r_max) {
    diag.error(r_min_entry != nullptr ? r_min_entry->value.Mark() : r_max_entry->value.Mark(),
               fmt::format("r_min: {} Å must be below r_max {} Å", *r_min, *r_max));
  } else if (r_min && r_max && r_step && (*r_max - *r_min) / *r_step > k_max_r_points) {
    diag.error(r_step_entry != nullptr ? r_step_entry->value.Mark() : r_max_entry->value.Mark(),
               fmt::format("r_step: {} Å makes (r_max - r_min) / r_step = {:.0f} points (at most {:.0f})", *r_step,
                           (*r_max - *r_min) / *r_step, k_max_r_points));
  }
  reduction.r_min_angstrom = r_min.value_or(0.0);
  reduction.r_step_angstrom = r_step.value_or(0.0);
  reduction.r_max_angstrom = r_max.value_or(0.0);

  if (const Entry* e = map->find("background"); present(e)) {
    reduction.background = read_existing_file(diag, e, base);
    if (reduction.background && !has_extension(*reduction.background, {".xy", ".chi"})) {
      diag.error(e->value.Mark(),
                 fmt::format("background: expected an I(Q) .xy or .chi file, got '{}'", e->value.Scalar()));
    }
  }
  if (const Entry* e = map->find("bgscale")) reduction.bgscale = read_number_in(diag, e, reduction_format).value_or(0.0);
  return diag.count() == errors ? std::optional(reduction) : std::nullopt;
}

std::optional<AnalysisSpec> parse_analysis(Diagnostics& diag, const Entry& entry, const std::filesystem::path& base) {
  auto map = as_section(diag, entry, "analysis", format::section("analysis"));
  if (!map) return std::nullopt;
  const std::size_t errors = diag.count();
  AnalysisSpec analysis{};
  if (const Entry* e = map->find("enabled")) analysis.enabled = read_bool(diag, e).value_or(false);

  if (const Entry* e = map->find("integration")) {
    const auto& integration_format = format::section("analysis.integration");
    if (auto integration = as_section(diag, *e, "integration", integration_format)) {
      auto& out = analysis.integration;
      if (const Entry* n = integration->find("npt"))
        out.npt = static_cast<int>(read_integer_in(diag, n, integration_format).value_or(0));
      if (const Entry* s = integration->find("split")) {
        out.split =
            read_choice_in(diag, s, integration_format).value_or(1) == 0 ? PixelSplitting::none : PixelSplitting::bbox;
      }
      if (const Entry* p = integration->find("polarization")) {
        out.polarization = present(p) ? read_number_in(diag, p, integration_format) : std::nullopt;
      }
      if (const Entry* q = integration->find("q_range_inv_angstrom"); present(q)) {
        out.q_range_inv_angstrom = read_interval(diag, q, "Å⁻¹");
      }
    }
  }

  std::optional<AnalysisSpec::Reduction> reduction;
  if (const Entry* e = map->require("reduction")) {
    reduction = parse_reduction(diag, *e, base, analysis.integration);
    if (reduction) analysis.reduction = *reduction;
  }

  if (const Entry* e = map->find("density")) {
    const auto& density_format = format::section("analysis.density");
    if (auto density = as_section(diag, *e, "density", density_format)) {
      auto& out = analysis.density;
      if (const Entry* f = density->find("fit_range_angstrom")) {
        if (auto range = read_interval(diag, f, "Å")) {
          if (reduction && range->second > reduction->r_max_angstrom) {
            diag.error(f->value.Mark(),
                       fmt::format("fit_range_angstrom: ends at {} Å, beyond the reduction's r_max {} Å", range->second,
                                   reduction->r_max_angstrom));
          }
          out.fit_range_angstrom = *range;
        }
      }
      if (const Entry* n = density->find("nominal_per_cubic_m"); present(n)) {
        // Plausible atomic number densities: a value outside is almost surely in the wrong unit (e.g. per cubic
        // angstrom).
        const auto& plausible = format::field(density_format, "nominal_per_cubic_m");
        if (auto rho = read_positive(diag, n)) {
          if (*rho < plausible.min || *rho > plausible.max) {
            diag.error(n->value.Mark(), fmt::format("nominal_per_cubic_m: {} m⁻³ is not an atomic number density "
                                                    "({}..{} m⁻³, e.g. 5.38345e28)",
                                                    *rho, plausible.min, plausible.max));
          }
          out.nominal_per_cubic_m = *rho;
        }
      }
      out.use = out.nominal_per_cubic_m ? DensityChoice::nominal : DensityChoice::fit;
      if (const Entry* u = density->find("use")) {
        if (const auto use = read_choice_in(diag, u, density_format)) {
          out.use = *use == 0 ? DensityChoice::nominal : DensityChoice::fit;
          if (out.use == DensityChoice::nominal && !present(density->find("nominal_per_cubic_m"))) {
            diag.error(u->value.Mark(), "use: nominal needs nominal_per_cubic_m");
          }
        }
      }
    }
  }

  if (const Entry* e = map->find("entropy")) {
    const auto& entropy_format = format::section("analysis.entropy");
    if (auto entropy = as_section(diag, *e, "entropy", entropy_format)) {
      if (const Entry* r = entropy->find("r_max_angstrom")) {
        if (auto r_max = read_number_in(diag, r, entropy_format)) {
          if (reduction && *r_max > reduction->r_max_angstrom) {
            diag.error(r->value.Mark(), fmt::format("r_max_angstrom: {} Å is beyond the reduction's r_max {} Å", *r_max,
                                                    reduction->r_max_angstrom));
          }
          analysis.entropy.r_max_angstrom = *r_max;
        }
      }
    }
  }

  if (const Entry* e = map->find("run")) {
    const auto& run_format = format::section("analysis.run");
    if (auto run = as_section(diag, *e, "run", run_format)) {
      if (const Entry* w = run->find("smoothing_window_K"))
        analysis.run.smoothing_window_K = read_number_in(diag, w, run_format).value_or(0.0);
      if (const Entry* t = run->find("expected_tg_K"); present(t))
        analysis.run.expected_tg_K = read_number_in(diag, t, run_format);
    }
  }
  return diag.count() == errors ? std::optional(analysis) : std::nullopt;
}

std::optional<DmaSpec> parse_dma(Diagnostics& diag, const Entry& entry) {
  auto map = as_section(diag, entry, "dma", format::section("dma"));
  if (!map) return std::nullopt;
  const std::size_t errors = diag.count();
  DmaSpec dma{};
  const Entry* folder = map->require("folder");
  if (auto f = read_string(diag, folder)) {
    if (f->empty()) diag.error(folder->value_mark(), "folder: must not be empty");
    dma.folder = *f;
  }
  if (const auto g = read_choice_in(diag, map->require("geometry"), format::section("dma"))) {
    dma.geometry = *g == 0 ? DmaGeometry::three_point_bending : DmaGeometry::torsion;
  }
  return diag.count() == errors ? std::optional(dma) : std::nullopt;
}

std::optional<DscSpec> parse_dsc(Diagnostics& diag, const Entry& entry, const std::filesystem::path& base) {
  auto map = as_section(diag, entry, "dsc", format::section("dsc"));
  if (!map) return std::nullopt;
  const std::size_t errors = diag.count();
  DscSpec dsc{};
  const Entry* folder = map->require("folder");
  if (auto f = read_string(diag, folder)) {
    if (f->empty()) diag.error(folder->value_mark(), "folder: must not be empty");
    dsc.folder = (base / *f).lexically_normal().string();
  }
  if (const Entry* mass = map->find("mass_mg"); present(mass)) dsc.mass_mg = read_number_in(diag, mass, format::section("dsc"));
  return diag.count() == errors ? std::optional(dsc) : std::nullopt;
}

}  // namespace insitu::recipe::sections
