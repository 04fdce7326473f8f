#include "analysis/pdf/uniform_sine_sum.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <thread>

#include "analysis/pdf/reduction.hpp"

namespace insitu::analysis {
namespace {

std::vector<double> points(const UniformGrid& g) {
  std::vector<double> x(g.size);
  for (std::size_t k = 0; k < g.size; ++k) x[k] = g.start + static_cast<double>(k) * g.step;
  return x;
}

std::vector<double> direct(const UniformGrid& q, const std::vector<double>& w, const UniformGrid& r) {
  const auto qs = points(q), rs = points(r);
  std::vector<double> out(rs.size());
  for (std::size_t j = 0; j < rs.size(); ++j)
    for (std::size_t k = 0; k < qs.size(); ++k) out[j] += w[k] * std::sin(qs[k] * rs[j]);
  return out;
}

// A structured F(Q): damped oscillations like a glass's, plus a ripple so no two weights repeat.
std::vector<double> weights_for(const UniformGrid& q) {
  std::vector<double> w;
  for (const double x : points(q)) w.push_back(x * std::exp(-0.02 * x * x) * std::sin(2.5 * x) + 0.1 * std::cos(7.3 * x));
  return w;
}

double max_abs_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

TEST(UniformSineSum, EqualsTheDirectSumOnOffsetGridsOfEitherShape) {
  // Both grids start away from 0 (the r0 and q0 phases), and either may be the longer (the chirp kernel's
  // negative and positive lags).
  for (const auto& [q, r] : {std::pair{UniformGrid{700, 0.37, 0.031}, UniformGrid{301, 0.5, 0.013}},
                             std::pair{UniformGrid{90, 1.1, 0.2}, UniformGrid{1000, 0.0, 0.02}}}) {
    const auto w = weights_for(q);
    const auto fast = UniformSineSum(q, r)(w);
    const auto reference = direct(q, w, r);
    double scale = 0.0;
    for (const double x : w) scale += std::fabs(x);
    EXPECT_LT(max_abs_difference(fast, reference), 1e-11 * scale) << "nq " << q.size << " nr " << r.size;
  }
}

TEST(UniformSineSum, RecognisesUniformGridsWithinTheTolerance) {
  std::vector<double> x{1.0, 1.5, 2.0, 2.5};
  const auto g = as_uniform_grid(x, 1e-12);
  ASSERT_TRUE(g);
  EXPECT_EQ(*g, (UniformGrid{4, 1.0, 0.5}));
  x[2] += 1e-9;
  EXPECT_FALSE(as_uniform_grid(x, 1e-12));
  EXPECT_TRUE(as_uniform_grid(x, 1e-8));
  EXPECT_FALSE(as_uniform_grid(std::vector<double>{1.0}, 1.0));
  EXPECT_FALSE(as_uniform_grid(std::vector<double>{2.0, 1.0}, 1.0));
}

TEST(UniformSineSum, ConcurrentCallersGetTheirOwnGridsRight) {
  // Analysis workers plan and run transforms at the same time; each thread builds a different grid pair.
  const UniformGrid r{400, 0.0, 0.05};
  std::vector<UniformGrid> grids{{500, 0.2, 0.04}, {640, 0.1, 0.03}, {333, 0.3, 0.05}, {820, 0.05, 0.025}};
  std::vector<double> deviation(grids.size(), 1.0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < grids.size(); ++t)
    threads.emplace_back([&, t] {
      const auto w = weights_for(grids[t]);
      double worst = 0.0;
      for (int repeat = 0; repeat < 5; ++repeat)
        worst = std::max(worst, max_abs_difference((*cached_uniform_sine_sum(grids[t], r))(w), direct(grids[t], w, r)));
      deviation[t] = worst;
    });
  for (auto& t : threads) t.join();
  for (std::size_t t = 0; t < grids.size(); ++t) EXPECT_LT(deviation[t], 1e-9) << "grid " << t;
}

TEST(UniformSineSum, PipelineSizedTransformMatchesTheDirectSum) {
  // The pipeline's case: 3000 integrator bin centres (uniform), the Q range cut to [qmin, qmax], r = 0..20 A by
  // 0.01 (2001 points). sine_transform must take the chirp-z path and agree with the direct sum to 1e-6 relative
  // rms over r > 1 A.
  const double qmin = 0.5, qmax = 21.0, bin = 22.8 / 3000;
  std::vector<double> q, f;
  for (std::size_t b = 0; b < 3000; ++b) {
    q.push_back(bin * (static_cast<double>(b) + 0.5));
    f.push_back(q.back() * std::exp(-0.01 * q.back() * q.back()) * std::sin(2.6 * q.back()));
  }
  const auto r = r_grid(0.0, 0.01, 20.0);
  const auto fast = sine_transform(q, f, qmin, qmax, r);
  const auto reference = sine_transform_direct(q, f, qmin, qmax, r);
  double diff2 = 0.0, ref2 = 0.0, max_dev = 0.0;
  for (std::size_t j = 0; j < r.size(); ++j)
    if (r[j] > 1.0) {
      diff2 += std::pow(fast[j] - reference[j], 2);
      ref2 += reference[j] * reference[j];
      max_dev = std::max(max_dev, std::fabs(fast[j] - reference[j]));
    }
  const double relative_rms = std::sqrt(diff2 / ref2);
  std::cout << "[pdf] chirp-z vs direct sine transform (" << q.size() << " Q x " << r.size()
            << " r): relative rms (r > 1 A) " << relative_rms << ", max |dG| " << max_dev << "\n";
  EXPECT_LT(relative_rms, 1e-6);
  // Bit-identical results would mean the direct sum ran again: the two differ in rounding.
  EXPECT_NE(fast, reference);
}

}  // namespace
}  // namespace insitu::analysis
