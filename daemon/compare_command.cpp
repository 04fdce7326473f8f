#include "daemon/compare_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <ostream>
#include <set>
#include <stdexcept>
#include <tuple>

#include "analysis/pdf/state_comparison.hpp"
#include "daemon/storage/compare_entry.hpp"
#include "daemon/storage/run_file_reader.hpp"
#include "protocols/recipe/recipe.hpp"

namespace insitu::daemon {
namespace {

namespace fs = std::filesystem;
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// A run that cannot take part: the message is the one line printed.
class Refused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LoadedRun {
  fs::path path;
  storage::SampleRecord sample;
  std::optional<double> wavelength_m;
  std::vector<double> T_K, s_eq;  // heating frames, T increasing
  std::vector<std::size_t> rows;  // their analysis rows
  storage::RunLevelAnalysis run;
  double scatter = nan, t_g_K = nan, onset_K = nan;
};

// The heating frames are those the run-level analysis kept (its temperatures are copied from the frames).
LoadedRun load_run(const fs::path& path, double half_window_K) {
  const storage::RunFileReader reader(path);
  const auto analysis = reader.analysis();
  if (!analysis) throw Refused(path.string() + ": no analysis in the run file (was the detector analysed?)");
  LoadedRun r{path, reader.sample(), {}, {}, {}, {}, analysis->run, nan, analysis->run.t_g_K, nan};
  if (const auto g = reader.geometry()) r.wavelength_m = g->wavelength_m;
  const std::set<double> heating(r.run.temperature_K.begin(), r.run.temperature_K.end());
  std::vector<std::pair<double, std::size_t>> frames;
  for (std::size_t i = 0; i < analysis->temperature_K.size(); ++i)
    if (heating.contains(analysis->temperature_K[i]) && std::isfinite(analysis->s_eq_J_per_mol_K[i]))
      frames.emplace_back(analysis->temperature_K[i], i);
  std::sort(frames.begin(), frames.end());
  for (const auto& [T, row] : frames) {
    if (!r.T_K.empty() && T <= r.T_K.back()) continue;  // a repeated temperature adds nothing to a local line
    r.T_K.push_back(T);
    r.s_eq.push_back(analysis->s_eq_J_per_mol_K[row]);
    r.rows.push_back(row);
  }
  if (r.T_K.size() < 10)
    throw Refused(fmt::format("{}: {} heating frames with S_eq (at least 10 are needed)", path.string(), r.T_K.size()));
  r.scatter = analysis::frame_scatter(r.T_K, r.s_eq);
  if (std::isfinite(r.t_g_K)) {
    std::vector<double> local;  // S_eq through the local lines compare uses, at every frame
    for (double T : r.T_K) local.push_back(analysis::local_linear_value(r.T_K, r.s_eq, T, half_window_K, r.scatter).value);
    r.onset_K = analysis::crystallisation_onset_K(r.T_K, local, r.t_g_K, half_window_K);
  }
  return r;
}

std::string label_of(const LoadedRun& r) {
  if (r.sample.state && !r.sample.state->label.empty()) return r.sample.state->label;
  if (!r.sample.name.empty()) return r.sample.name;
  return r.path.stem().string();
}

// Element fractions, so "Cu50Zr50" and "Zr50Cu50" or "CuZr" agree; the formula itself when it does not parse.
std::map<std::string, double> fractions(const std::string& formula) {
  std::map<std::string, double> out;
  try {
    double total = 0.0;
    for (const auto& e : recipe::parse_composition(formula)) out[e.symbol] += e.amount, total += e.amount;
    for (auto& [symbol, amount] : out) amount = std::round(amount / total * 1e6) / 1e6;
  } catch (const std::invalid_argument&) {
    out = {{formula, 1.0}};
  }
  return out;
}

// Different alloys or beams make S_eq incomparable: refused, or a warning with --force.
void check_compatible(const LoadedRun& ref, const LoadedRun& run, bool force, std::vector<std::string>& warnings) {
  std::string why;
  if (fractions(ref.sample.chemical_formula) != fractions(run.sample.chemical_formula))
    why = fmt::format("composition {} differs from the reference's {}", run.sample.chemical_formula,
                      ref.sample.chemical_formula);
  else if (ref.wavelength_m && run.wavelength_m &&
           std::abs(*run.wavelength_m / *ref.wavelength_m - 1.0) > 1e-3)
    why = fmt::format("wavelength {:.5f} A differs from the reference's {:.5f} A", *run.wavelength_m * 1e10,
                      *ref.wavelength_m * 1e10);
  if (why.empty()) return;
  if (!force) throw Refused(run.path.string() + ": " + why + " (--force compares anyway)");
  warnings.push_back(run.path.string() + ": " + why + " (compared because of --force)");
}

// Between both T_g and both crystallisation onsets (the end of the data where a run did not crystallise), each
// moved in by the half window so the local lines see neither the kink nor the fall.
std::pair<double, double> found_window(const LoadedRun& ref, const LoadedRun& run, double margin_K) {
  if (!std::isfinite(ref.t_g_K) || !std::isfinite(run.t_g_K))
    throw Refused(fmt::format("{}: no T_g in {} (give --liquid-window LO HI)", run.path.string(),
                              std::isfinite(run.t_g_K) ? "the reference" : "its analysis"));
  const auto end = [](const LoadedRun& r) { return std::isfinite(r.onset_K) ? r.onset_K : r.T_K.back(); };
  return {std::max(ref.t_g_K, run.t_g_K) + margin_K, std::min(end(ref), end(run)) - margin_K};
}

void shift_onto_reference(const CompareOptions& o, const LoadedRun& ref, const LoadedRun& r,
                          storage::ComparedState& st) {
  const auto [lo, hi] = st.window_given ? *o.liquid_window_K : found_window(ref, r, o.half_window_K);
  try {
    const auto shift = analysis::liquid_shift(ref.T_K, ref.s_eq, ref.scatter, r.T_K, r.s_eq, r.scatter, lo, hi);
    st.shift = shift.constant;
    st.shift_sigma = shift.sigma;
  } catch (const std::invalid_argument& e) {
    throw Refused(fmt::format("{}: no liquid window to shift by: {}", r.path.string(), e.what()));
  }
  st.window_lo_K = lo, st.window_hi_K = hi;
}

std::vector<double> grid(double lo, double hi, double step) {
  std::vector<double> out;
  for (double x = std::ceil(lo / step) * step; x <= hi + 1e-9 * step; x += step) out.push_back(x);
  return out;
}

struct Curves {
  std::vector<double> value, sigma;
};
Curves on_grid(const LoadedRun& r, const std::vector<double>& T, double half_window_K, double shift) {
  Curves c;
  for (double t : T) {
    const auto v = analysis::local_linear_value(r.T_K, r.s_eq, t, half_window_K, r.scatter);
    c.value.push_back(v.value + shift);
    c.sigma.push_back(v.sigma);
  }
  return c;
}

std::vector<double> interpolated(const std::vector<double>& x, const std::vector<double>& y,
                                 const std::vector<double>& at, double scale = 1.0) {
  std::vector<double> out;
  for (double a : at) out.push_back(analysis::interpolate(x, y, a * scale));
  return out;
}

// G(r) of the heating frame nearest `at_K`, on the reference's r grid.
void take_pdf(const storage::RunFileReader& reader, const LoadedRun& r, double at_K, storage::Comparison& c,
              storage::ComparedState& st) {
  const auto nearest = std::min_element(r.T_K.begin(), r.T_K.end(), [&](double a, double b) {
    return std::abs(a - at_K) < std::abs(b - at_K);
  });
  st.pdf_temperature_K = *nearest;
  const auto pdf = reader.reduced_pdf(r.rows[static_cast<std::size_t>(nearest - r.T_K.begin())]);
  if (c.r_angstrom.empty()) c.r_angstrom = pdf.r_angstrom;
  st.g_of_r = interpolated(pdf.r_angstrom, pdf.g_per_angstrom2, c.r_angstrom);
  if (std::abs(*nearest - at_K) > 5.0)
    c.warnings.push_back(fmt::format("{}: G(r) from the frame at {:.1f} K, the nearest to {:.1f} K", r.path.string(),
                                     *nearest, at_K));
}

std::string format_table(const CompareOptions& o, const std::vector<LoadedRun>& runs, const storage::Comparison& c) {
  std::string t = fmt::format("{:<34} {:>7} {:>7} {:>15} {:>17}", "state", "T_g/K", "T_x/K", "window/K",
                              "shift/J/(mol K)");
  for (double T : o.table_temperatures_K) t += fmt::format(" {:>20}", fmt::format("dS_eq({:g} K)", T));
  t += "\n";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto& st = c.states[i];
    std::string label = st.label + (i == c.reference ? " (ref)" : "");
    t += fmt::format("{:<34} {:>7.1f} {:>7.1f} {:>7.1f}-{:<7.1f} {:>8.3f} ± {:<6.3f}", label.substr(0, 34),
                     st.glass_transition_K, st.crystallisation_onset_K, st.window_lo_K, st.window_hi_K, st.shift,
                     st.shift_sigma);
    for (double T : o.table_temperatures_K) {
      const auto& ref = runs[c.reference];
      const auto a = analysis::local_linear_value(runs[i].T_K, runs[i].s_eq, T, o.half_window_K, runs[i].scatter);
      const auto b = analysis::local_linear_value(ref.T_K, ref.s_eq, T, o.half_window_K, ref.scatter);
      const double sigma = i == c.reference ? 0.0 : std::hypot(a.sigma, b.sigma, st.shift_sigma);
      t += fmt::format(" {:>20}", fmt::format("{:.3f} ± {:.3f}", a.value + st.shift - b.value, sigma));
    }
    t += "\n";
  }
  return t + "(S_eq in J/(mol K); ΔS_eq = state + shift - reference; ± one standard error from the frame scatter)\n";
}

storage::Comparison compare(const CompareOptions& o, const std::vector<LoadedRun>& runs, std::size_t reference) {
  storage::Comparison c;
  c.reference = reference;
  const auto& ref = runs[reference];
  double lo = -INFINITY, hi = INFINITY, x_lo = -INFINITY, x_hi = INFINITY, tg_sum = 0.0;
  for (const auto& r : runs) {
    lo = std::max(lo, r.T_K.front()), hi = std::min(hi, r.T_K.back());
    x_lo = std::max(x_lo, r.T_K.front() / r.t_g_K), x_hi = std::min(x_hi, r.T_K.back() / r.t_g_K);
    tg_sum += r.t_g_K;
  }
  c.temperature_K = grid(lo, hi, o.step_K);
  if (std::isfinite(tg_sum)) c.reduced_temperature = grid(x_lo, x_hi, o.step_K / (tg_sum / runs.size()));
  else c.warnings.push_back("a run has no T_g: no T/T_g axis");
  const auto ref_curve = on_grid(ref, c.temperature_K, o.half_window_K, 0.0);
  for (const auto& r : runs) {
    if (&r != &ref) check_compatible(ref, r, o.force, c.warnings);
    storage::ComparedState st;
    st.file_name = r.path.string();
    st.label = label_of(r);
    st.sample = r.sample;
    st.glass_transition_K = r.t_g_K;
    st.crystallisation_onset_K = r.onset_K;
    st.frame_scatter = r.scatter;
    st.window_given = o.liquid_window_K.has_value();
    if (&r != &ref) shift_onto_reference(o, ref, r, st);
    else if (st.window_given) std::tie(st.window_lo_K, st.window_hi_K) = *o.liquid_window_K;
    else st.window_lo_K = st.window_hi_K = nan;  // the reference's windows are its partners'
    auto curve = on_grid(r, c.temperature_K, o.half_window_K, st.shift);
    st.s_eq = curve.value, st.s_eq_sigma = curve.sigma;
    for (std::size_t k = 0; k < c.temperature_K.size(); ++k) {
      st.delta_s_eq.push_back(curve.value[k] - ref_curve.value[k]);
      st.delta_s_eq_sigma.push_back(std::hypot(curve.sigma[k], ref_curve.sigma[k], st.shift_sigma));
    }
    std::vector<double> at_T;
    for (double x : c.reduced_temperature) at_T.push_back(x * r.t_g_K);
    st.s_eq_reduced = on_grid(r, at_T, o.half_window_K, st.shift).value;
    st.delta_phi = interpolated(r.run.temperature_K, r.run.delta_phi_W_per_mol, c.temperature_K);
    st.delta_phi_reduced = interpolated(r.run.temperature_K, r.run.delta_phi_W_per_mol, c.reduced_temperature, r.t_g_K);
    take_pdf(storage::RunFileReader(r.path), r, o.pdf_temperature_K, c, st);
    c.states.push_back(std::move(st));
  }
  c.table = format_table(o, runs, c);
  return c;
}

}  // namespace

int run_compare(const CompareOptions& options, std::ostream& out, std::ostream& err) {
  std::vector<fs::path> paths = options.runs;
  if (options.reference && std::find(paths.begin(), paths.end(), *options.reference) == paths.end())
    paths.insert(paths.begin(), *options.reference);
  if (paths.size() < 2) {
    err << "insitu compare: give at least two run files (a reference and a state)\n";
    return 2;
  }
  if (fs::exists(options.output)) {
    err << "insitu compare: " << options.output.string() << " exists already (never overwritten)\n";
    return 2;
  }
  const auto reference = static_cast<std::size_t>(
      options.reference ? std::find(paths.begin(), paths.end(), *options.reference) - paths.begin() : 0);
  storage::Comparison comparison;
  try {
    std::vector<LoadedRun> runs;
    for (const auto& p : paths) runs.push_back(load_run(p, options.half_window_K));
    comparison = compare(options, runs, reference);
  } catch (const Refused& e) {
    err << "insitu compare: " << e.what() << "\n";
    return 1;
  } catch (const storage::NotARunFile& e) {
    err << "insitu compare: " << e.what() << "\n";
    return 1;
  }
  for (const auto& w : comparison.warnings) err << "insitu compare: warning: " << w << "\n";
  out << comparison.table;
  try {
    auto file = storage::h5::create_file(options.output);
    storage::write_compare_entry(file, comparison);
    file.close();
  } catch (const std::exception& e) {
    err << "insitu compare: writing " << options.output.string() << ": " << e.what() << "\n";
    std::filesystem::remove(options.output);
    return 2;
  }
  out << "wrote " << options.output.string() << " (/entry_compare, " << comparison.states.size() << " states)\n";
  return 0;
}

}  // namespace insitu::daemon
