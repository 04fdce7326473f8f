#pragma once
// Sensor -> sample temperature calibration of the stage (recipe `stage.sample_calibration`): the T95 reads the
// Pt100 in the heating block, the sample sits some way off it. Melting-point standards give pairs (sensor reading
// at the melt, known melting temperature); between them the mapping is piecewise linear, and beyond the first and
// last point it extends the end segments. Pure: no I/O.

#include <string>
#include <vector>

namespace insitu::recipe {

struct CalibrationPoint {
  double sensor_K;
  double sample_K;
};

class SampleCalibration {
 public:
  // std::invalid_argument unless there are at least two points, all finite, with sensor_K and sample_K both
  // strictly increasing (a calibration that is not monotonic cannot be a thermal offset).
  explicit SampleCalibration(std::vector<CalibrationPoint> points, std::string source = {});

  double sample_K(double sensor_K) const;

  // Bound on the error of sample_K(mean_K) as a window's sample-scale mean: the sensor-scale bound through the
  // steepest slope within +-uncertainty_K of the mean, plus the error of mapping the mean instead of averaging the
  // mapped temperatures, which only a calibration point inside [min_K, max_K] makes non-zero (at most the change of
  // slope there times a quarter of the window's span).
  double mean_uncertainty_K(double mean_K, double uncertainty_K, double min_K, double max_K) const;

  const std::vector<CalibrationPoint>& points() const { return points_; }
  const std::string& source() const { return source_; }  // free text, e.g. "In/Sn/Zn melting, 2026-10-02"

 private:
  double slope(std::size_t segment) const;  // of segment i: points i..i+1
  std::size_t segment_of(double sensor_K) const;

  std::vector<CalibrationPoint> points_;
  std::string source_;
};

}  // namespace insitu::recipe
