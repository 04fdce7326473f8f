#include "protocols/recipe/sample_calibration.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace insitu::recipe {

SampleCalibration::SampleCalibration(std::vector<CalibrationPoint> points, std::string source)
    : points_(std::move(points)), source_(std::move(source)) {
  if (points_.size() < 2) throw std::invalid_argument("a sample calibration needs at least two points");
  for (std::size_t i = 0; i < points_.size(); ++i) {
    const auto& p = points_[i];
    if (!std::isfinite(p.sensor_K) || !std::isfinite(p.sample_K))
      throw std::invalid_argument("sample calibration point " + std::to_string(i + 1) + " is not finite");
    if (i > 0 && !(p.sensor_K > points_[i - 1].sensor_K))
      throw std::invalid_argument("sample calibration: sensor_K must increase strictly (point " +
                                  std::to_string(i + 1) + ")");
    if (i > 0 && !(p.sample_K > points_[i - 1].sample_K))
      throw std::invalid_argument("sample calibration: sample_K must increase strictly (point " +
                                  std::to_string(i + 1) + ")");
  }
}

double SampleCalibration::slope(std::size_t i) const {
  return (points_[i + 1].sample_K - points_[i].sample_K) / (points_[i + 1].sensor_K - points_[i].sensor_K);
}

// The segment used at sensor_K: the end segments extend beyond the first and last points.
std::size_t SampleCalibration::segment_of(double sensor_K) const {
  const auto above = std::upper_bound(points_.begin() + 1, points_.end() - 1, sensor_K,
                                      [](double t, const CalibrationPoint& p) { return t < p.sensor_K; });
  return static_cast<std::size_t>(above - points_.begin()) - 1;
}

double SampleCalibration::sample_K(double sensor_K) const {
  const std::size_t i = segment_of(sensor_K);
  return points_[i].sample_K + slope(i) * (sensor_K - points_[i].sensor_K);
}

double SampleCalibration::mean_uncertainty_K(double mean_K, double uncertainty_K, double min_K, double max_K) const {
  double steepest = 0.0;
  for (std::size_t i = segment_of(mean_K - uncertainty_K); i <= segment_of(mean_K + uncertainty_K); ++i)
    steepest = std::max(steepest, slope(i));
  // The mapping is a line plus one hinge per interior point; each hinge's Jensen gap over a distribution on
  // [min_K, max_K] is at most |change of slope| * (max_K - min_K) / 4.
  double kinks = 0.0;
  for (std::size_t i = 1; i + 1 < points_.size(); ++i) {
    if (points_[i].sensor_K > min_K && points_[i].sensor_K < max_K)
      kinks += std::abs(slope(i) - slope(i - 1)) * (max_K - min_K) / 4.0;
  }
  return steepest * uncertainty_K + kinks;
}

}  // namespace insitu::recipe
