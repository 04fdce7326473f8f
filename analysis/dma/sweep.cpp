#include "analysis/dma/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace insitu::dma {
namespace {

bool same_rate(double a, double b, double relative_tolerance) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::abs(a - b) <= relative_tolerance * std::max(std::abs(a), std::abs(b));
}

std::string sweep_name(const Sweep& s) {
  char buf[64];
  if (std::isnan(s.rate_K_per_min))
    std::snprintf(buf, sizeof buf, "%s (rate unknown)", std::string(to_string(s.direction)).c_str());
  else
    std::snprintf(buf, sizeof buf, "%s at %.3g K/min", std::string(to_string(s.direction)).c_str(), s.rate_K_per_min);
  return buf;
}

}  // namespace

std::string_view to_string(Direction direction) {
  return direction == Direction::heating ? "heating" : "cooling";
}

std::vector<Sweep> pool_curves(const std::vector<SegmentCurve>& curves, double relative_rate_tolerance) {
  struct Pool {
    Sweep sweep;
    double first_rate;
    double rate_sum = 0.0;
  };
  std::vector<Pool> pools;
  for (const auto& c : curves) {
    auto it = std::find_if(pools.begin(), pools.end(), [&](const Pool& p) {
      return p.sweep.direction == c.direction && same_rate(p.first_rate, c.rate_K_per_min, relative_rate_tolerance);
    });
    if (it == pools.end()) {
      Pool p{.sweep = {}, .first_rate = c.rate_K_per_min};
      p.sweep.direction = c.direction;
      p.sweep.modulus = c.modulus;
      pools.push_back(std::move(p));
      it = std::prev(pools.end());
    }
    if (it->sweep.modulus != c.modulus) it->sweep.modulus = Modulus::unknown;  // mixed geometries: say neither
    it->rate_sum += c.rate_K_per_min;
    it->sweep.series.push_back(c.series);
  }
  std::vector<Sweep> out;
  for (auto& p : pools) {
    p.sweep.rate_K_per_min = p.rate_sum / static_cast<double>(p.sweep.series.size());
    std::stable_sort(p.sweep.series.begin(), p.sweep.series.end(),
                     [](const auto& a, const auto& b) { return a.frequency_Hz < b.frequency_Hz; });
    p.sweep.name = sweep_name(p.sweep);
    out.push_back(std::move(p.sweep));
  }
  std::stable_sort(out.begin(), out.end(), [](const Sweep& a, const Sweep& b) {
    if (a.direction != b.direction) return a.direction == Direction::heating;
    if (std::isnan(a.rate_K_per_min) || std::isnan(b.rate_K_per_min)) return !std::isnan(a.rate_K_per_min) && std::isnan(b.rate_K_per_min);
    return a.rate_K_per_min < b.rate_K_per_min;  // unknown rates last
  });
  return out;
}

}  // namespace insitu::dma
