#include "analysis/dma/overlay.hpp"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace insitu::dma {
namespace {

Curve curve_of(const FrequencySeries& s) {
  Curve c;
  c.frequency_Hz = s.frequency_Hz;
  for (std::size_t i = 0; i < s.temperature_K.size(); ++i) {
    if (std::isnan(s.temperature_K[i]) || std::isnan(s.tan_delta[i])) continue;
    c.temperature_K.push_back(s.temperature_K[i]);
    c.tan_delta.push_back(s.tan_delta[i]);
  }
  return c;
}

std::string hz(double f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g Hz", f);
  return buf;
}

void finish(TransitionResult& t) {
  if (t.fits.size() < 3) {
    t.note += (t.note.empty() ? "" : "; ") + std::string("Arrhenius fit needs 3 frequencies, have ") +
              std::to_string(t.fits.size());
    return;
  }
  try {
    t.arrhenius = fit_arrhenius(t.name, t.fits);
  } catch (const std::exception& e) {
    t.note += (t.note.empty() ? "" : "; ") + std::string("Arrhenius fit failed: ") + e.what();
  }
}

// Explicit windows: fit_transition's rule, but a failing frequency is noted instead of ending the analysis.
TransitionResult fit_with_spec(const std::vector<Curve>& curves, const TransitionSpec& spec) {
  TransitionResult t;
  t.name = spec.name;
  for (const auto& c : curves) {
    const auto peak = find_peak(c, spec.search_lo_K, spec.search_hi_K, spec.fit.smoothing_points);
    if (!peak) {
      t.note += (t.note.empty() ? "" : "; ") + ("no peak at " + hz(c.frequency_Hz));
      continue;
    }
    try {
      t.fits.push_back(fit_cole_cole(c, *peak - spec.below_K, std::min(*peak + spec.above_K, spec.upper_limit_K),
                                     spec.fit));
    } catch (const std::exception& e) {
      t.note += (t.note.empty() ? "" : "; ") + (hz(c.frequency_Hz) + ": " + e.what());
    }
  }
  return t;
}

// Automatic windows: a transition is a chain of tan δ maxima whose temperature moves little between
// neighbouring frequencies (peaks only move up with frequency, by tens of kelvin per decade at most).
struct Track {
  std::vector<std::pair<std::size_t, double>> peaks;  // (curve index, T_peak)
};

std::vector<TransitionResult> fit_automatically(const std::vector<Curve>& curves, const DmaSettings& settings,
                                                std::string& notes) {
  std::vector<std::vector<double>> peaks(curves.size());
  std::vector<Track> tracks;
  for (std::size_t ci = 0; ci < curves.size(); ++ci) {
    for (double T : find_peaks(curves[ci], settings.automatic_min_prominence, settings.automatic_smoothing_points))
      if (!settings.crystallisation_K || T < *settings.crystallisation_K) peaks[ci].push_back(T);
    struct Pair {
      double distance_K;
      std::size_t track, peak;
    };
    std::vector<Pair> pairs;
    for (std::size_t ti = 0; ti < tracks.size(); ++ti)
      for (std::size_t pi = 0; pi < peaks[ci].size(); ++pi) {
        const double d = std::abs(peaks[ci][pi] - tracks[ti].peaks.back().second);
        if (d <= settings.automatic_max_step_K) pairs.push_back({d, ti, pi});
      }
    std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.distance_K < b.distance_K; });
    std::vector<bool> track_used(tracks.size(), false), peak_used(peaks[ci].size(), false);
    for (const auto& p : pairs) {
      if (track_used[p.track] || peak_used[p.peak]) continue;
      track_used[p.track] = peak_used[p.peak] = true;
      tracks[p.track].peaks.emplace_back(ci, peaks[ci][p.peak]);
    }
    for (std::size_t pi = 0; pi < peaks[ci].size(); ++pi)
      if (!peak_used[pi]) tracks.push_back({{{ci, peaks[ci][pi]}}});
  }
  const auto min_count = std::max<std::size_t>(
      3, static_cast<std::size_t>(std::ceil(settings.automatic_min_coverage * static_cast<double>(curves.size()))));
  std::erase_if(tracks, [&](const Track& t) { return t.peaks.size() < min_count; });
  // A relaxation's peak moves up with frequency (Arrhenius); a maximum that stays put (where
  // crystallisation cuts the rising α background) gives no or an absurd activation energy.
  std::erase_if(tracks, [&](const Track& t) {
    std::vector<double> f, T;
    for (const auto& [ci, T_peak] : t.peaks) {
      f.push_back(curves[ci].frequency_Hz);
      T.push_back(T_peak);
    }
    const auto fit = fit_arrhenius("track", f, T);
    if (fit.activation_energy_eV > 0 && fit.activation_energy_eV <= settings.automatic_max_activation_eV) return false;
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "ignored a tan δ maximum near %.0f K at %zu frequencies: apparent E_a %.3g eV is not a relaxation",
                  T.front(), T.size(), fit.activation_energy_eV);
    notes += (notes.empty() ? "" : "; ") + std::string(buf);
    return true;
  });
  auto mean_K = [](const Track& t) {
    double sum = 0;
    for (const auto& p : t.peaks) sum += p.second;
    return sum / static_cast<double>(t.peaks.size());
  };
  std::sort(tracks.begin(), tracks.end(), [&](const Track& a, const Track& b) { return mean_K(a) < mean_K(b); });

  // Named from the top, as in the paper: the highest is α, then β, then γ.
  static const char* const greek_from_top[] = {"alpha", "beta", "gamma"};
  std::vector<TransitionResult> out;
  for (std::size_t ti = 0; ti < tracks.size(); ++ti) {
    TransitionResult t;
    const std::size_t rank_from_top = tracks.size() - 1 - ti;
    t.name = rank_from_top < 3 ? greek_from_top[rank_from_top] : "relaxation_" + std::to_string(ti + 1);
    FitOptions options;
    // Every transition but the lowest sits on the rising flank of the processes above it.
    if (ti > 0) options.exp_background_scale_K = 30.0;
    options.smoothing_points = settings.automatic_smoothing_points;
    for (std::size_t ci = 0, k = 0; ci < curves.size(); ++ci) {
      if (k < tracks[ti].peaks.size() && tracks[ti].peaks[k].first == ci)
        ++k;
      else
        t.note += (t.note.empty() ? "" : "; ") + ("no peak at " + hz(curves[ci].frequency_Hz));
    }
    for (const auto& [ci, T_peak] : tracks[ti].peaks) {
      double below = settings.automatic_half_window_K, above = settings.automatic_half_window_K;
      for (double other : peaks[ci]) {
        if (other < T_peak) below = std::min(below, settings.automatic_gap_fraction * (T_peak - other));
        if (other > T_peak) above = std::min(above, settings.automatic_gap_fraction * (other - T_peak));
      }
      double hi = T_peak + above;
      if (settings.crystallisation_K) hi = std::min(hi, *settings.crystallisation_K);
      try {
        t.fits.push_back(fit_cole_cole(curves[ci], T_peak - below, hi, options));
      } catch (const std::exception& e) {
        t.note += (t.note.empty() ? "" : "; ") + (hz(curves[ci].frequency_Hz) + ": " + e.what());
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

TransitionSpec spec(std::string name, double search_lo_K, double search_hi_K, double below_K, double above_K) {
  TransitionSpec s;
  s.name = std::move(name);
  s.search_lo_K = search_lo_K;
  s.search_hi_K = search_hi_K;
  s.below_K = below_K;
  s.above_K = above_K;
  return s;
}

}  // namespace

DmaSettings cu_zr_glass_settings() {
  // Search ranges bracket T_p(f) over 0.05–60 Hz for T_g ≈ 709 K; crystallisation (≈ 790 K) caps α.
  auto alpha = spec("alpha", 660.0, 775.0, 45.0, 30.0);
  alpha.upper_limit_K = 775.0;
  alpha.fit.exp_background_scale_K = 25.0;
  alpha.fit.initial_shape_a = 0.7;
  // β sits on the low-temperature flank of the excess wing: an exponential background takes it up.
  auto beta = spec("beta", 400.0, 620.0, 75.0, 60.0);
  beta.fit.exp_background_scale_K = 30.0;
  DmaSettings s;
  s.transitions = {spec("gamma", 140.0, 360.0, 70.0, 70.0), beta, alpha};
  s.crystallisation_K = 775.0;
  return s;
}

DmaAnalysis analyse_sweep(const Sweep& sweep, const DmaSettings& settings) {
  if (sweep.series.empty())
    throw std::invalid_argument("DMA analysis: sweep '" + sweep.name + "' has no frequencies");
  DmaAnalysis a;
  std::vector<Curve> curves;
  for (const auto& s : sweep.series) curves.push_back(curve_of(s));
  a.automatic_windows = settings.transitions.empty();
  if (a.automatic_windows) {
    a.transitions = fit_automatically(curves, settings, a.note);
  } else {
    for (const auto& spec : settings.transitions) a.transitions.push_back(fit_with_spec(curves, spec));
    auto centre = [](const TransitionResult& t) {
      double sum = 0;
      for (const auto& f : t.fits) sum += f.peak_K;
      return t.fits.empty() ? std::numeric_limits<double>::infinity() : sum / static_cast<double>(t.fits.size());
    };
    std::stable_sort(a.transitions.begin(), a.transitions.end(),
                     [&](const auto& x, const auto& y) { return centre(x) < centre(y); });
  }
  std::vector<ArrheniusFit> rows;
  for (auto& t : a.transitions) {
    finish(t);
    if (t.arrhenius) rows.insert(rows.begin(), *t.arrhenius);  // Table I lists the highest (α) first
  }
  a.table = results_table(rows);
  return a;
}

std::vector<TransitionInterval> transition_intervals_on_reduced_axis(const DmaAnalysis& analysis,
                                                                     double glass_transition_K) {
  if (!(glass_transition_K > 0))
    throw std::invalid_argument("transition intervals: glass transition temperature must be positive, got " +
                                std::to_string(glass_transition_K) + " K");
  std::vector<TransitionInterval> out;
  for (const auto& t : analysis.transitions) {
    if (t.fits.empty()) continue;
    const auto [lo, hi] = std::minmax_element(t.fits.begin(), t.fits.end(),
                                              [](const auto& a, const auto& b) { return a.peak_K < b.peak_K; });
    TransitionInterval i;
    i.name = t.name;
    i.lo_K = lo->peak_K;
    i.hi_K = hi->peak_K;
    i.lo_reduced = i.lo_K / glass_transition_K;
    i.hi_reduced = i.hi_K / glass_transition_K;
    i.lo_frequency_Hz = lo->frequency_Hz;
    i.hi_frequency_Hz = hi->frequency_Hz;
    i.frequencies = t.fits.size();
    out.push_back(i);
  }
  return out;
}

}  // namespace insitu::dma
