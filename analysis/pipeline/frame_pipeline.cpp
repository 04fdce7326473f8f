#include "analysis/pipeline/frame_pipeline.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cctype>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "analysis/pdf/pair_entropy.hpp"
#include "analysis/pdf/run_analysis.hpp"

namespace insitu::analysis {
namespace {

double wall_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Shortest text that reads back as the same double: the recorded settings reproduce a run bit for bit.
std::string format_number(double v) {
  std::array<char, 32> text{};
  const auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc()) throw std::logic_error("format_number: to_chars failed");
  return std::string(text.data(), end);
}

double parse_number(const std::string& key, const std::string& value) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size() || !std::isfinite(v))
    throw std::invalid_argument("setting '" + key + "': '" + value + "' is not a finite number");
  return v;
}

double parse_positive(const std::string& key, const std::string& value) {
  const double v = parse_number(key, value);
  if (!(v > 0)) throw std::invalid_argument("setting '" + key + "': " + value + " must be positive");
  return v;
}

std::optional<double> parse_optional(const std::string& key, const std::string& value, const char* none_word) {
  if (value == none_word) return std::nullopt;
  return parse_number(key, value);
}

std::string describe_optional(const std::optional<double>& v, const char* none_word) {
  return v ? format_number(*v) : std::string(none_word);
}

struct Key {
  const char* name;
  std::function<std::string(const PipelineSettings&)> get;
  std::function<void(PipelineSettings&, const std::string&, const std::string&)> set;
};

// The one table behind describe() and apply(): a key cannot be recorded without being settable, or vice versa.
const std::vector<Key>& keys() {
  using S = PipelineSettings;
  auto num = [](double S::*member) {
    return Key{nullptr, [member](const S& s) { return format_number(s.*member); },
               [member](S& s, const std::string& k, const std::string& v) { s.*member = parse_number(k, v); }};
  };
  auto pos = [](double S::*member) {
    return Key{nullptr, [member](const S& s) { return format_number(s.*member); },
               [member](S& s, const std::string& k, const std::string& v) { s.*member = parse_positive(k, v); }};
  };
  auto text = [](std::string S::*member) {
    return Key{nullptr, [member](const S& s) { return s.*member; },
               [member](S& s, const std::string&, const std::string& v) { s.*member = v; }};
  };
  auto named = [](const char* name, Key k) {
    k.name = name;
    return k;
  };
  static const std::vector<Key> table = {
      named("npt", Key{nullptr, [](const S& s) { return std::to_string(s.npt); },
                       [](S& s, const std::string& k, const std::string& v) {
                         const double n = parse_positive(k, v);
                         if (n != std::floor(n) || n < 2)
                           throw std::invalid_argument("setting 'npt': '" + v + "' must be an integer >= 2");
                         s.npt = static_cast<std::size_t>(n);
                       }}),
      named("integration_qmin", Key{nullptr, [](const S& s) { return describe_optional(s.integration_qmin_inv_angstrom, "auto"); },
                                    [](S& s, const std::string& k, const std::string& v) {
                                      s.integration_qmin_inv_angstrom = parse_optional(k, v, "auto");
                                    }}),
      named("integration_qmax", Key{nullptr, [](const S& s) { return describe_optional(s.integration_qmax_inv_angstrom, "auto"); },
                                    [](S& s, const std::string& k, const std::string& v) {
                                      s.integration_qmax_inv_angstrom = parse_optional(k, v, "auto");
                                    }}),
      named("polarization", Key{nullptr, [](const S& s) { return describe_optional(s.polarization_factor, "none"); },
                                [](S& s, const std::string& k, const std::string& v) {
                                  const auto f = parse_optional(k, v, "none");
                                  if (f && !(*f >= -1 && *f <= 1))
                                    throw std::invalid_argument("setting 'polarization': " + v + " is outside [-1, 1]");
                                  s.polarization_factor = f;
                                }}),
      named("split", Key{nullptr, [](const S& s) { return std::string(s.split == PixelSplit::bbox ? "bbox" : "none"); },
                         [](S& s, const std::string&, const std::string& v) {
                           if (v == "bbox") s.split = PixelSplit::bbox;
                           else if (v == "none") s.split = PixelSplit::none;
                           else throw std::invalid_argument("setting 'split': '" + v + "' is not one of bbox, none");
                         }}),
      named("integration_threads", Key{nullptr, [](const S& s) { return std::to_string(s.integration_threads); },
                                       [](S& s, const std::string& k, const std::string& v) {
                                         const double n = parse_positive(k, v);
                                         if (n != std::floor(n))
                                           throw std::invalid_argument("setting '" + k + "': '" + v + "' must be an integer");
                                         s.integration_threads = static_cast<std::size_t>(n);
                                       }}),
      named("qmin", pos(&S::qmin_inv_angstrom)),
      named("qmax", pos(&S::qmax_inv_angstrom)),
      named("qmaxinst", pos(&S::qmaxinst_inv_angstrom)),
      named("rpoly", pos(&S::rpoly_angstrom)),
      named("rmin", num(&S::rmin_angstrom)),
      named("rstep", pos(&S::rstep_angstrom)),
      named("rmax", pos(&S::rmax_angstrom)),
      named("bgscale", num(&S::bgscale)),
      named("composition", Key{nullptr, [](const S& s) { return s.composition; },
                               [](S& s, const std::string&, const std::string& v) {
                                 parse_composition(v);  // reject now, with the offset, not at the next frame
                                 s.composition = v;
                               }}),
      named("form_factor_file", text(&S::form_factor_file)),
      named("background_file", Key{nullptr, [](const S& s) { return s.background_file; },
                                   [](S& s, const std::string&, const std::string& v) {
                                     s.background_file = v;
                                     s.background_text.clear();  // another file: read it, not the old content
                                   }}),
      named("rho0_fit", Key{nullptr, [](const S& s) { return std::string(s.rho0_fit == S::DensityFit::filtered ? "filtered" : "line"); },
                            [](S& s, const std::string&, const std::string& v) {
                              if (v == "filtered") s.rho0_fit = S::DensityFit::filtered;
                              else if (v == "line") s.rho0_fit = S::DensityFit::line;
                              else throw std::invalid_argument("setting 'rho0_fit': '" + v + "' is not one of filtered, line");
                            }}),
      named("rho0_fit_rmin", num(&S::rho0_fit_rmin_angstrom)),
      named("rho0_fit_rmax", pos(&S::rho0_fit_rmax_angstrom)),
      named("rho0_nominal", pos(&S::rho0_nominal_per_cubic_angstrom)),
      named("s_eq_density", Key{nullptr, [](const S& s) { return std::string(s.s_eq_density == S::Density::fit ? "fit" : "nominal"); },
                                [](S& s, const std::string&, const std::string& v) {
                                  if (v == "nominal") s.s_eq_density = S::Density::nominal;
                                  else if (v == "fit") s.s_eq_density = S::Density::fit;
                                  else throw std::invalid_argument("setting 's_eq_density': '" + v + "' is not one of nominal, fit");
                                }}),
      named("s_eq_rmax", pos(&S::s_eq_rmax_angstrom)),
      named("smoothing_window", pos(&S::smoothing_window_K)),
      named("smoothing_order", Key{nullptr, [](const S& s) { return std::to_string(s.smoothing_order); },
                                   [](S& s, const std::string& k, const std::string& v) {
                                     const double n = parse_positive(k, v);
                                     if (n != std::floor(n) || n > 6)
                                       throw std::invalid_argument("setting 'smoothing_order': '" + v + "' must be an integer 1..6");
                                     s.smoothing_order = static_cast<int>(n);
                                   }}),
      named("heating_min_rate", pos(&S::heating_min_rate_K_per_min)),
      named("tg_fit_min", pos(&S::tg_fit_min_K)),
      named("tg_fit_max", pos(&S::tg_fit_max_K)),
      named("feature_peak_prominence", num(&S::feature_peak_prominence_W_per_mol)),
      named("feature_curvature_prominence", num(&S::feature_curvature_prominence_W_per_mol_K2)),
  };
  return table;
}

double elapsed(double& t) {
  const double now = wall_s(), d = now - t;
  t = now;
  return d;
}

}  // namespace

Composition parse_composition(const std::string& formula) {
  Composition out;
  std::size_t i = 0;
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument("composition '" + formula + "' at offset " + std::to_string(i) + ": " + why);
  };
  while (i < formula.size()) {
    if (!std::isupper(static_cast<unsigned char>(formula[i]))) fail("expected an element symbol (capital letter)");
    std::string symbol(1, formula[i++]);
    while (i < formula.size() && std::islower(static_cast<unsigned char>(formula[i]))) symbol += formula[i++];
    const std::size_t start = i;
    while (i < formula.size() && (std::isdigit(static_cast<unsigned char>(formula[i])) || formula[i] == '.')) ++i;
    double amount = 1.0;
    if (i > start) {
      std::size_t used = 0;
      const std::string digits = formula.substr(start, i - start);
      try {
        amount = std::stod(digits, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != digits.size()) {
        i = start;
        fail("bad amount '" + digits + "'");
      }
    }
    if (!(amount > 0)) {
      i = start;
      fail("amount of " + symbol + " must be positive");
    }
    out.emplace_back(symbol, amount);
  }
  if (out.empty()) throw std::invalid_argument("composition is empty");
  return out;
}

std::map<std::string, std::string> PipelineSettings::describe() const {
  std::map<std::string, std::string> out;
  for (const auto& k : keys()) out[k.name] = k.get(*this);
  out["mask_pixels"] = std::to_string(std::count_if(mask.begin(), mask.end(), [](auto m) { return m != 0; }));
  return out;
}

void PipelineSettings::apply(const std::string& key, const std::string& value) {
  for (const auto& k : keys())
    if (key == k.name) {
      k.set(*this, key, value);
      return;
    }
  std::string known;
  for (const auto& k : keys()) known += (known.empty() ? "" : ", ") + std::string(k.name);
  throw std::invalid_argument("unknown setting '" + key + "' (known: " + known + ")");
}

void PipelineSettings::apply(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::invalid_argument("'" + assignment + "' is not of the form key=value");
  apply(assignment.substr(0, eq), assignment.substr(eq + 1));
}

void PipelineSettings::validate() const {
  auto bad = [](const std::string& why) { throw std::invalid_argument("analysis settings: " + why); };
  if (!(qmin_inv_angstrom < qmax_inv_angstrom)) bad("qmin must be below qmax");
  if (qmax_inv_angstrom > qmaxinst_inv_angstrom) bad("qmax must not exceed qmaxinst");
  if (!(rmin_angstrom >= 0 && rmin_angstrom < rmax_angstrom)) bad("need 0 <= rmin < rmax");
  if (!(rho0_fit_rmin_angstrom >= 0 && rho0_fit_rmin_angstrom < rho0_fit_rmax_angstrom)) bad("need 0 <= rho0_fit_rmin < rho0_fit_rmax");
  if (s_eq_rmax_angstrom > rmax_angstrom) bad("s_eq_rmax must not exceed rmax");
  if (!(tg_fit_min_K < tg_fit_max_K)) bad("tg_fit_min must be below tg_fit_max");
  if (integration_qmin_inv_angstrom && integration_qmax_inv_angstrom &&
      !(*integration_qmin_inv_angstrom < *integration_qmax_inv_angstrom))
    bad("integration_qmin must be below integration_qmax");
  if (integration_qmax_inv_angstrom && *integration_qmax_inv_angstrom < qmaxinst_inv_angstrom)
    bad("integration_qmax must reach qmaxinst");
  if (form_factor_file.empty()) bad("form_factor_file is not set");
  if (npt < 2) bad("npt must be >= 2");
  if (integration_threads < 1) bad("integration_threads must be >= 1");
}

namespace {

IntegrationSetup integration_setup(const PipelineSettings& s) {
  IntegrationSetup setup;
  setup.npt = s.npt;
  if (s.integration_qmin_inv_angstrom || s.integration_qmax_inv_angstrom)
    setup.q_range_inv_angstrom = std::pair{s.integration_qmin_inv_angstrom.value_or(0.0),
                                           s.integration_qmax_inv_angstrom.value_or(s.qmaxinst_inv_angstrom)};
  setup.polarization_factor = s.polarization_factor;
  setup.split = s.split;
  setup.mask = s.mask;
  setup.range_includes_masked = true;  // a run's grid is recorded before its darks add their bad pixels
  setup.mask_negative = true;  // detector gaps flagged negative never count
  setup.threads = s.integration_threads;
  return setup;
}

ReductionParams reduction_params(const PipelineSettings& s) {
  ReductionParams p;
  p.qmin_inv_angstrom = s.qmin_inv_angstrom;
  p.qmax_inv_angstrom = s.qmax_inv_angstrom;
  p.qmaxinst_inv_angstrom = s.qmaxinst_inv_angstrom;
  p.rpoly_angstrom = s.rpoly_angstrom;
  p.rmin_angstrom = s.rmin_angstrom;
  p.rstep_angstrom = s.rstep_angstrom;
  p.rmax_angstrom = s.rmax_angstrom;
  p.bgscale = s.bgscale;
  p.composition = parse_composition(s.composition);
  return p;
}

FormFactorTable load_table(const PipelineSettings& s) {
  s.validate();
  return FormFactorTable::load(s.form_factor_file);
}

}  // namespace

FramePipeline::FramePipeline(const Geometry& geometry, PipelineSettings settings)
    : FramePipeline(geometry, settings, load_table(settings)) {}

FramePipeline::FramePipeline(const Geometry& geometry, PipelineSettings settings, FormFactorTable form_factors)
    : settings_(std::move(settings)),
      form_factors_(std::move(form_factors)),
      reduction_(reduction_params(settings_)),
      integrator_((settings_.validate(), geometry), integration_setup(settings_)) {
  // Unknown symbols fail here, before the first frame.
  const std::vector<double> probe{1.0};
  form_factor_averages(form_factors_, reduction_.composition, probe);
  // The largest Q on the detector is on its border (a flat panel): qmaxinst must be inside it.
  const PixelGeometry pixels(geometry);
  double detector_qmax = 0;
  const double h = static_cast<double>(integrator_.height()), w = static_cast<double>(integrator_.width());
  for (double y = 0.5; y < h; y += 1.0)
    detector_qmax = std::max({detector_qmax, pixels.q_inv_angstrom(y, 0.5), pixels.q_inv_angstrom(y, w - 0.5)});
  for (double x = 0.5; x < w; x += 1.0)
    detector_qmax = std::max({detector_qmax, pixels.q_inv_angstrom(0.5, x), pixels.q_inv_angstrom(h - 0.5, x)});
  if (detector_qmax < settings_.qmaxinst_inv_angstrom)
    throw std::invalid_argument("analysis settings: qmaxinst " + format_number(settings_.qmaxinst_inv_angstrom) +
                                " 1/A is beyond the detector's Q range (max " + format_number(detector_qmax) + " 1/A)");

  const std::vector<float> ones(integrator_.height() * integrator_.width(), 1.0f);
  Pattern coverage;
  integrator_.integrate(ImageView<float>{ones, integrator_.height(), integrator_.width()}, coverage);
  for (std::size_t i = 0; i < coverage.q_inv_angstrom.size(); ++i)
    if (coverage.count[i] > 0 && coverage.q_inv_angstrom[i] > 0 &&
        coverage.q_inv_angstrom[i] <= settings_.qmaxinst_inv_angstrom)
      reduced_bins_.push_back(i);
  if (reduced_bins_.empty()) throw std::invalid_argument("analysis settings: no detector pixel in (0, qmaxinst]");
  if (!settings_.background_file.empty() && !settings_.background_text.empty()) {
    background_ = parse_xy(settings_.background_text, settings_.background_file);
  } else if (!settings_.background_file.empty()) {
    const auto path = settings_.background_file;
    std::ifstream f(path);
    if (!f) throw std::runtime_error("cannot open background file " + path);
    std::ostringstream text;
    text << f.rdbuf();
    background_ = parse_xy(text.str(), path);
  }
}

template <class T>
void FramePipeline::set_background_frame(const ImageView<T>& frame, std::span<const float> dark) {
  Pattern p;
  integrator_.integrate(frame, p, dark);
  XyData xy;
  for (std::size_t i = 0; i < p.q_inv_angstrom.size(); ++i)
    if (p.count[i] > 0) {
      xy.x.push_back(p.q_inv_angstrom[i]);
      xy.y.push_back(p.intensity[i]);
    }
  background_ = std::move(xy);
}

template <class T>
FrameAnalysis FramePipeline::analyse(const ImageView<T>& frame, std::span<const float> dark, std::uint64_t sequence,
                                     double temperature_K) {
  const double t0 = wall_s();
  double t = t0;
  integrator_.integrate(frame, pattern_, dark);
  times_.integrate_s = elapsed(t);
  return finish(pattern_, sequence, temperature_K, t0);
}

FrameAnalysis FramePipeline::finish(Pattern& pattern, std::uint64_t sequence, double temperature_K, double t0) {
  double t = wall_s();
  FrameAnalysis out;
  out.sequence = sequence;
  out.temperature_K = temperature_K;
  out.intensity = pattern.intensity;
  out.intensity_sigma = pattern.sigma;

  // The run's fixed grid; a bin this frame left empty (dynamic mask: gaps, saturated or dummy pixels) takes the
  // linear interpolation of its nearest non-empty neighbours on the grid.
  const auto& bins = reduced_bins_;
  std::vector<double> q(bins.size()), intensity(bins.size());
  std::size_t previous = bins.size();  // last non-empty grid index
  for (std::size_t k = 0; k < bins.size(); ++k) {
    q[k] = pattern.q_inv_angstrom[bins[k]];
    if (pattern.count[bins[k]] <= 0) continue;
    intensity[k] = pattern.intensity[bins[k]];
    for (std::size_t j = previous == bins.size() ? 0 : previous + 1; j < k; ++j)
      intensity[j] = previous == bins.size()
                         ? intensity[k]
                         : intensity[previous] + (intensity[k] - intensity[previous]) * (q[j] - q[previous]) /
                                                     (q[k] - q[previous]);
    previous = k;
  }
  if (previous == bins.size()) throw std::runtime_error("frame " + std::to_string(sequence) + ": every bin is masked");
  for (std::size_t j = previous + 1; j < bins.size(); ++j) intensity[j] = intensity[previous];
  const ReducedPdf pdf = reduce(q, intensity, background_, reduction_, form_factors_);
  out.structure_factor = pdf.s;
  out.reduced_structure_factor = pdf.f;
  out.reduced_pdf = pdf.g;
  times_.reduce_s = elapsed(t);

  out.rho0_fit_per_cubic_angstrom = fit_density(pdf);
  out.rho0_nominal_per_cubic_angstrom = settings_.rho0_nominal_per_cubic_angstrom;
  const double rho0 = settings_.s_eq_density == PipelineSettings::Density::fit ? out.rho0_fit_per_cubic_angstrom
                                                                                : out.rho0_nominal_per_cubic_angstrom;
  out.pair_distribution = pair_correlation(pdf.r, pdf.g, rho0);
  const PairEntropy s = pair_entropy(pdf.r, out.pair_distribution, rho0, settings_.s_eq_rmax_angstrom);
  out.s_eq_k_B = s.per_atom_k_B;
  out.s_eq_J_per_mol_K = s.J_per_mol_K;
  times_.s_eq_s = elapsed(t);

  if (axes_.q_inv_angstrom.empty()) axes_ = {pattern.q_inv_angstrom, pdf.q, pdf.r};
  out.analysis_time_s = wall_s() - t0;
  return out;
}

double FramePipeline::fit_density(const ReducedPdf& pdf) {
  const double lo = settings_.rho0_fit_rmin_angstrom, hi = settings_.rho0_fit_rmax_angstrom;
  if (settings_.rho0_fit == PipelineSettings::DensityFit::line) {
    // fit_number_density needs r > 0 points only; r = 0 carries no slope information.
    return fit_number_density(pdf.r, pdf.g, std::max(lo, 1e-9), hi).rho0_per_cubic_angstrom;
  }
  if (response_degree_ != pdf.polynomial_degree || response_q_ != pdf.q) {
    response_ = polynomial_filtered_line(pdf, hi);
    response_q_ = pdf.q;
    response_degree_ = pdf.polynomial_degree;
  }
  double kk = 0, kg = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < pdf.r.size(); ++i)
    if (pdf.r[i] >= lo && pdf.r[i] <= hi) {
      kk += response_[i] * response_[i];
      kg += response_[i] * pdf.g[i];
      ++n;
    }
  if (n < 2 || !(kk > 0))
    throw std::invalid_argument("rho0 fit: fewer than 2 usable r points in [" + format_number(lo) + ", " +
                                format_number(hi) + "] A");
  return kg / kk;
}

AnalysisAxes FramePipeline::axes() const { return axes_; }

#define INSITU_PIPELINE_INSTANTIATE(T)                                                                           \
  template void FramePipeline::set_background_frame<T>(const ImageView<T>&, std::span<const float>);            \
  template FrameAnalysis FramePipeline::analyse<T>(const ImageView<T>&, std::span<const float>, std::uint64_t, \
                                                   double);
INSITU_PIPELINE_INSTANTIATE(std::uint16_t)
INSITU_PIPELINE_INSTANTIATE(std::uint32_t)
INSITU_PIPELINE_INSTANTIATE(std::int32_t)
INSITU_PIPELINE_INSTANTIATE(float)
#undef INSITU_PIPELINE_INSTANTIATE

// ---- run level ------------------------------------------------------------------------------------

RunAnalyser::RunAnalyser(PipelineSettings settings) : settings_(std::move(settings)) {}

void RunAnalyser::add(const RunPoint& point) {
  std::lock_guard lock(mutex_);
  points_.push_back(point);
}

std::size_t RunAnalyser::size() const {
  std::lock_guard lock(mutex_);
  return points_.size();
}

namespace {

// The heating part: the longest block [begin, end) of consecutive time-ordered points each heating faster than the
// threshold. Holds and cooling segments break the block, so T increases strictly inside it (what smoothing
// requires).
std::pair<std::size_t, std::size_t> heating_block(const std::vector<RunPoint>& pts, double min_rate_K_per_s) {
  std::size_t best_begin = 0, best_end = 0, begin = 0;
  for (std::size_t i = 1; i <= pts.size(); ++i) {
    const bool heating = i < pts.size() && pts[i].time_s > pts[i - 1].time_s &&
                         (pts[i].temperature_K - pts[i - 1].temperature_K) / (pts[i].time_s - pts[i - 1].time_s) >
                             min_rate_K_per_s;
    if (!heating) {
      if (i - begin > best_end - best_begin) best_begin = begin, best_end = i;
      begin = i;
    }
  }
  return {best_begin, best_end};
}

}  // namespace

RunAnalysis RunAnalyser::compute() const {
  std::vector<RunPoint> pts;
  {
    std::lock_guard lock(mutex_);
    pts = points_;
  }
  // A frame whose analysis produced no number (NaN S_eq or temperature) carries no information and would turn the
  // smoothing, the crystallisation search and the fits into NaN.
  const auto unusable = std::erase_if(pts, [](const RunPoint& p) {
    return !std::isfinite(p.time_s) || !std::isfinite(p.temperature_K) || !std::isfinite(p.s_eq_J_per_mol_K);
  });
  std::sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) { return a.time_s < b.time_s; });

  RunAnalysis out;
  out.parameters = settings_.describe();
  out.parameters["nonfinite_frames"] = std::to_string(unusable);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  out.heating_rate_K_per_s = out.glass_transition_K = out.glass_transition_low_K = out.glass_transition_high_K = nan;

  const auto [best_begin, best_end] = heating_block(pts, settings_.heating_min_rate_K_per_min / 60.0);
  out.parameters["heating_frames"] = std::to_string(best_end - best_begin);
  if (best_end - best_begin < 2) return out;

  // A damaged frame (an S_eq spike many times the noise) would bend the smoothing, the crystallisation search and
  // the hinge: isolated spikes are left out of the run level and counted (docs/analysis.md §4.1).
  std::vector<double> heating_s_eq;
  for (std::size_t i = best_begin; i < best_end; ++i) heating_s_eq.push_back(pts[i].s_eq_J_per_mol_K);
  const std::vector<bool> spike = isolated_outliers(heating_s_eq);
  out.parameters["outlier_frames"] = std::to_string(std::count(spike.begin(), spike.end(), true));
  std::vector<double> time_s, s_eq;
  for (std::size_t i = best_begin; i < best_end; ++i) {
    if (spike[i - best_begin]) continue;
    time_s.push_back(pts[i].time_s);
    out.temperature_K.push_back(pts[i].temperature_K);
    s_eq.push_back(pts[i].s_eq_J_per_mol_K);
  }
  out.s_eq_J_per_mol_K = s_eq;
  out.heating_rate_K_per_s = heating_rate_K_per_s(time_s, out.temperature_K);

  try {
    auto smoothed = local_polynomial_smooth(out.temperature_K, s_eq, settings_.smoothing_window_K,
                                            settings_.smoothing_order);
    out.s_eq_smoothed_J_per_mol_K = std::move(smoothed.value);
    out.ds_eq_dT_J_per_mol_K2 = std::move(smoothed.derivative);
    out.delta_phi_W_per_mol =
        equivalent_heat_flow(out.temperature_K, out.ds_eq_dT_J_per_mol_K2, out.heating_rate_K_per_s);
  } catch (const std::invalid_argument& e) {  // too few frames per window yet: normal early in a run
    out.parameters["smoothing_status"] = e.what();
  }

  // T_g: the hinge on S_eq itself (docs/analysis.md §4) within [tg_fit_min, tg_fit_max], which excludes the
  // crystallisation step that would otherwise dominate the fit.
  // Crystallisation ends the supercooled liquid: S_eq, rising through T_g, falls from its onset on. When the
  // smoothed S_eq peaks inside the range, the fit stops just below that peak and spans kTgFitSpan_K under it,
  // so neither the crystallisation step nor the relaxation of the glass well below T_g bends the two lines.
  constexpr double kTgFitSpan_K = 140.0, kCrystallisationMargin_K = 6.0;
  double fit_min_K = settings_.tg_fit_min_K, fit_max_K = settings_.tg_fit_max_K;
  if (!out.s_eq_smoothed_J_per_mol_K.empty()) {
    std::optional<std::size_t> peak;
    for (std::size_t i = 0; i < out.temperature_K.size(); ++i)
      if (out.temperature_K[i] >= settings_.tg_fit_min_K &&
          (!peak || out.s_eq_smoothed_J_per_mol_K[i] > out.s_eq_smoothed_J_per_mol_K[*peak]))
        peak = i;
    if (peak && out.temperature_K[*peak] < out.temperature_K.back() - settings_.smoothing_window_K) {
      fit_max_K = out.temperature_K[*peak] - kCrystallisationMargin_K;
      fit_min_K = std::max(settings_.tg_fit_min_K, fit_max_K - kTgFitSpan_K);
    }
  }
  auto fit_range = [&](double lo_K, double hi_K) {
    std::vector<double> t_fit, s_fit;
    for (std::size_t i = 0; i < out.temperature_K.size(); ++i)
      if (out.temperature_K[i] >= lo_K && out.temperature_K[i] <= hi_K) {
        t_fit.push_back(out.temperature_K[i]);
        s_fit.push_back(s_eq[i]);
      }
    return fit_hinge_robust(t_fit, s_fit);
  };
  try {
    HingeFit hinge = fit_range(fit_min_K, fit_max_K);
    // Second pass on a range symmetric about the first break: the upper end is fixed by crystallisation, and a
    // lower end further away than that would reach into the glass's own relaxation below T_g (ageing towards
    // lower S_eq, paper Fig. 3), whose curvature the lower line absorbs by moving the break down. Equal leverage
    // on both sides also leaves a symmetric rounding of the kink unbiased (docs/analysis.md §4, error budget).
    const double symmetric_min_K = std::max(fit_min_K, 2.0 * hinge.T_break_K - fit_max_K);
    if (symmetric_min_K > fit_min_K) {
      try {
        hinge = fit_range(symmetric_min_K, fit_max_K);
        fit_min_K = symmetric_min_K;
      } catch (const std::invalid_argument& e) {  // too few points below the break: keep the first pass
        out.parameters["tg_status"] = std::string("symmetric refit skipped: ") + e.what();
      }
    }
    out.parameters["tg_outliers"] = std::to_string(hinge.outliers);
    out.glass_transition_K = hinge.T_break_K;
    out.glass_transition_low_K = hinge.ci_low_K;
    out.glass_transition_high_K = hinge.ci_high_K;
  } catch (const std::invalid_argument& e) {
    out.parameters["tg_status"] = e.what();
  }
  out.parameters["tg_fit_range_K"] = std::to_string(fit_min_K) + " " + std::to_string(fit_max_K);

  if (std::isfinite(out.glass_transition_K) && !out.delta_phi_W_per_mol.empty()) {
    try {
      for (const auto& f : heat_flow_features(out.temperature_K, out.delta_phi_W_per_mol, out.glass_transition_K,
                                              settings_.feature_peak_prominence_W_per_mol,
                                              settings_.feature_curvature_prominence_W_per_mol_K2,
                                              settings_.smoothing_window_K))
        out.features.push_back({f.kind == HeatFlowFeature::Kind::peak ? "peak" : "slope change", f.T_K, f.T_over_Tg,
                                f.value});
    } catch (const std::invalid_argument& e) {
      out.parameters["features_status"] = e.what();
    }
  }
  return out;
}

}  // namespace insitu::analysis
