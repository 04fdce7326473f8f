#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "protocols/recipe/recipe.hpp"

namespace insitu::recipe {
namespace {

// LN2 cooling model (an estimate, see config/README.md): the LNP's cooling power falls as the
// stage approaches the nitrogen sink, reaching 0 at k_ln2_floor_K.
constexpr double k_ln2_floor_K = 83.0;
constexpr double k_ln2_scale_K = 190.0;
constexpr double k_ln2_rate_at_scale_K_per_min = 60.0;
constexpr double k_ln2_exponent = 1.5;
// Midpoint steps for the LN2-limited part; 0.01 K keeps the error below 1e-4 relative
// even 1 K above the floor, where the integrand ~ (T - 83)^-1.5 is steepest.
constexpr double k_integration_step_K = 0.01;

// Temperature below which the LN2 limit is slower than the requested rate.
double ln2_crossover_K(double rate_K_per_min) {
  return k_ln2_floor_K +
         k_ln2_scale_K * std::pow(rate_K_per_min / k_ln2_rate_at_scale_K_per_min, 1.0 / k_ln2_exponent);
}

std::string format_duration(double s) {
  if (!std::isfinite(s)) return "unbounded";
  const auto total = static_cast<long long>(std::llround(s));
  return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
}

std::string format_count(double n) { return std::isfinite(n) ? fmt::format("{:.0f}", n) : "unbounded"; }

std::string format_mib(double bytes) {
  return std::isfinite(bytes) ? fmt::format("{:.0f} MiB", bytes / (1024.0 * 1024.0)) : "unbounded";
}

std::string rate_note(double from_K, double to_K, double rate_K_per_min) {
  if (to_K >= from_K) return "";
  if (to_K <= k_ln2_floor_K) return fmt::format(", unreachable: LN2 cooling stalls at {} K", k_ln2_floor_K);
  const double crossover_K = ln2_crossover_K(rate_K_per_min);
  if (to_K >= crossover_K) return "";
  return fmt::format(", LN2-limited below {:.1f} K", std::min(crossover_K, from_K));
}

}  // namespace

double max_cooling_rate_K_per_min(double temperature_K) {
  if (temperature_K <= k_ln2_floor_K) return 0.0;
  return k_ln2_rate_at_scale_K_per_min *
         std::pow((temperature_K - k_ln2_floor_K) / k_ln2_scale_K, k_ln2_exponent);
}

double transition_time_s(double from_K, double to_K, double rate_K_per_min) {
  if (to_K >= from_K) return (to_K - from_K) / rate_K_per_min * 60.0;
  if (to_K <= k_ln2_floor_K) return INFINITY;
  // Above the crossover the requested rate holds exactly; below it the LN2 limit sets the pace.
  const double crossover_K = ln2_crossover_K(rate_K_per_min);
  double time_s = 0.0;
  if (from_K > crossover_K) time_s += (from_K - std::max(to_K, crossover_K)) / rate_K_per_min * 60.0;
  const double limited_from_K = std::min(from_K, crossover_K);
  if (to_K < limited_from_K) {
    const double span_K = limited_from_K - to_K;
    const auto steps = static_cast<long long>(std::ceil(span_K / k_integration_step_K));
    const double step_K = span_K / static_cast<double>(steps);
    for (long long i = 0; i < steps; ++i) {
      const double mid_K = to_K + (static_cast<double>(i) + 0.5) * step_K;
      time_s += step_K / std::min(rate_K_per_min, max_cooling_rate_K_per_min(mid_K)) * 60.0;
    }
  }
  return time_s;
}

Plan estimate_plan(const Recipe& recipe, double initial_K) {
  Plan plan{{}, 0.0, std::nullopt};
  double current_K = initial_K;
  for (const Segment& segment : recipe.program) {
    PlannedSegment planned{segment.label, current_K, current_K, 0.0, "", 0.0};
    if (const auto* hold = std::get_if<Hold>(&segment.action)) {
      planned.end_K = hold->temperature_K;
      const double approach_s = transition_time_s(current_K, hold->temperature_K, hold->approach_rate_K_per_min);
      // An explicit duration wins; otherwise the best case for until_stable is one dwell.
      const double stay_s = hold->duration_s ? *hold->duration_s : hold->until_stable->dwell_s;
      planned.duration_s = approach_s + stay_s;
      planned.description =
          fmt::format("approach at {} K/min{}, then ", hold->approach_rate_K_per_min,
                      rate_note(current_K, hold->temperature_K, hold->approach_rate_K_per_min));
      if (hold->duration_s) {
        planned.description += fmt::format("hold {} s", *hold->duration_s);
      } else {
        planned.description += fmt::format("stable within ±{} K for {} s (timeout {} s)",
                                           hold->until_stable->tolerance_K, hold->until_stable->dwell_s,
                                           hold->until_stable->timeout_s);
      }
    } else {
      const auto& ramp = std::get<Ramp>(segment.action);
      planned.end_K = ramp.to_K;
      planned.duration_s = transition_time_s(current_K, ramp.to_K, ramp.rate_K_per_min);
      planned.description =
          fmt::format("{} at {} K/min{}", ramp.to_K >= current_K ? "heat" : "cool", ramp.rate_K_per_min,
                      rate_note(current_K, ramp.to_K, ramp.rate_K_per_min));
    }
    if (segment.exposed && recipe.exposures) {
      // Whole exposures only: the remainder of a segment is part of a frame that straddles the boundary.
      // The small relative tolerance keeps 4680 s / 12 s at 390, not 389.99...
      planned.frames = std::floor(planned.duration_s / recipe.exposures->period_s * (1.0 + 1e-12));
    }
    current_K = planned.end_K;
    plan.total_s += planned.duration_s;
    plan.segments.push_back(std::move(planned));
  }
  if (recipe.exposures && recipe.detector) {
    FrameBudget budget{0.0, recipe.exposures->darks_before + recipe.exposures->darks_after,
                       recipe.detector->bytes_per_frame()};
    for (const auto& s : plan.segments) budget.data_frames += s.frames;
    plan.frames = budget;
  }
  return plan;
}

std::string format_plan(const Recipe& recipe, const Plan& plan) {
  std::string out = fmt::format("recipe   {} ({})\n", recipe.name, recipe.source_path);
  out += fmt::format("sample   {}: {}{}\n", recipe.sample.name, recipe.sample.composition,
                     recipe.sample.treatment.empty() ? "" : ", " + recipe.sample.treatment);
  out += fmt::format("stage    {} {}..{} K, max {} K/min, poll every {} s{}\n", recipe.stage.model,
                     recipe.stage.min_K, recipe.stage.max_K, recipe.stage.max_rate_K_per_min,
                     recipe.stage.poll_interval_s,
                     recipe.stage.connection ? ", connection " + *recipe.stage.connection : "");
  if (const auto& c = recipe.stage.sample_calibration) {
    std::string points;
    for (const auto& p : c->points())
      points += fmt::format("{}{} -> {} K", points.empty() ? "" : ", ", p.sensor_K, p.sample_K);
    out += fmt::format("sample T sensor -> sample {}{} (frames and analysis; program and limits stay the sensor's)\n",
                       points, c->source().empty() ? "" : "; " + c->source());
  }
  out += fmt::format("safe     {}; output under {}/\n",
                     recipe.safe_state == SafeState::stop ? "stop (controller idle)" : "hold (keep temperature)",
                     recipe.output_directory);
  if (recipe.detector) {
    const auto& d = *recipe.detector;
    out += fmt::format(
        "detector XRD1621 {}x{} {} per frame ({} summed), gain {} pF, timing {}; trigger channel {}{} on "
        "{}\n",
        d.height_px(), d.width_px(), d.bytes_per_pixel() == 2 ? "uint16" : "uint32", d.settings.subframes,
        d.settings.gain_pF, d.settings.timing_mode, d.trigger.channel,
        d.trigger.shutter_channel ? fmt::format(", shutter {}", *d.trigger.shutter_channel) : "",
        d.trigger.connection);
    out += fmt::format("files    {}/{}-NNNNN.{} from {}{}{}\n", d.frames.folder, d.frames.pattern,
                       d.frames.format == FrameFormat::tiff ? "tif" : "edf", d.frames.first_index,
                       d.frames.sidecar ? ", complete with sidecar" : "",
                       d.store_frames ? ", stored in the run file" : ", not stored in the run file");
  }
  if (recipe.exposures) {
    const auto& e = *recipe.exposures;
    std::string items;
    for (int i : e.during_items) items += (items.empty() ? "" : ", ") + std::to_string(i);
    out +=
        fmt::format("expose   every {} s during program item{} {}; darks {} before, {} after\n", e.period_s,
                    e.during_items.size() == 1 ? "" : "s", items, e.darks_before, e.darks_after);
  }
  if (recipe.analysis) {
    const auto& a = *recipe.analysis;
    out += fmt::format(
        "analysis {}: {} bins, Q {}..{} Å⁻¹ (qmaxinst {}), r {}..{} Å, S_eq to {} Å with {} rho0\n",
        a.enabled ? "inline" : "off", a.integration.npt, a.reduction.qmin_inv_angstrom,
        a.reduction.qmax_inv_angstrom, a.reduction.qmaxinst_inv_angstrom, a.reduction.r_min_angstrom,
        a.reduction.r_max_angstrom, a.entropy.r_max_angstrom,
        a.density.use == DensityChoice::nominal ? "nominal" : "fitted");
  }
  if (recipe.dma) {
    out +=
        fmt::format("dma      TRIOS exports from {} ({})\n", recipe.dma->folder,
                    recipe.dma->geometry == DmaGeometry::torsion ? "torsion, G" : "three-point bending, E");
  }
  const double start_K = plan.segments.empty() ? 0.0 : plan.segments.front().start_K;
  out += fmt::format("plan     estimated from {} K; cooling capped at {}*((T-{} K)/{} K)^{} K/min by LN2\n",
                     start_K, k_ln2_rate_at_scale_K_per_min, k_ln2_floor_K, k_ln2_scale_K, k_ln2_exponent);
  std::size_t label_width = 7;
  for (const auto& s : plan.segments) label_width = std::max(label_width, s.label.size());
  // The frames column only appears when the recipe takes frames, so a stage-only plan reads as before.
  const bool frames = plan.frames.has_value();
  out += fmt::format("  {:<{}}  {:>8}  {:>8}  {:>9}  {:>9}  {}{}\n", "segment", label_width, "from K", "to K",
                     "duration", "ends at", frames ? fmt::format("{:>9}  ", "frames") : "", "how");
  double elapsed_s = 0.0;
  for (const auto& s : plan.segments) {
    elapsed_s += s.duration_s;
    out += fmt::format("  {:<{}}  {:>8.2f}  {:>8.2f}  {:>9}  {:>9}  {}{}\n", s.label, label_width, s.start_K,
                       s.end_K, format_duration(s.duration_s), format_duration(elapsed_s),
                       frames ? fmt::format("{:>9}  ", format_count(s.frames)) : "", s.description);
  }
  out += fmt::format("total    {} ({:.0f} s, estimate)\n", format_duration(plan.total_s), plan.total_s);
  if (plan.frames) {
    const auto& f = *plan.frames;
    out += fmt::format("frames   {} data + {} dark = {} expected; {} raw at {} per frame\n",
                       format_count(f.data_frames), f.dark_frames, format_count(f.total_frames()),
                       format_mib(f.total_bytes()), format_mib(static_cast<double>(f.bytes_per_frame)));
  }
  return out;
}

}  // namespace insitu::recipe
