#pragma once
// One exposure as the run records it: when it was, what the stage did meanwhile, and what went wrong.
#include <cstdint>
#include <span>
#include <string>

namespace insitu::detector {

enum ImageKey : std::int32_t { image_data = 0, image_dark = 2 };  // NXdetector image_key convention

namespace exposure_flag {
inline constexpr std::uint32_t missing = 1u << 0;            // no file arrived before the deadline
inline constexpr std::uint32_t trigger_uncertain = 1u << 1;  // a boundary trigger was not confirmed
inline constexpr std::uint32_t clock_skew = 1u << 2;         // detector time stamp disagrees with the trigger
inline constexpr std::uint32_t late = 1u << 3;               // the file came after its deadline
inline constexpr std::uint32_t duplicate = 1u << 4;
inline constexpr std::uint32_t truncated = 1u << 5;
inline constexpr std::uint32_t no_temperature = 1u << 6;     // the stage log does not cover the window
inline constexpr std::uint32_t suspended = 1u << 7;          // exposed while a recipe suspender's condition held
}  // namespace exposure_flag

// The stage temperature over an exposure window, from the temperature log.
struct WindowTemperature {
  double start_K = 0, end_K = 0;        // interpolated at the window edges
  double mean_K = 0;                    // time-weighted (trapezoid over the interpolated log)
  // Bound on mean_K's error from time stamps alone: the window edges known to +-their trigger uncertainty, each
  // reading to +-half its exchange. Excludes the controller's resolution and sensor noise.
  double mean_uncertainty_K = 0;
  double min_K = 0, max_K = 0;          // over the window, edges included
  double setpoint_mid_K = 0;            // programmed temperature at mid-exposure (NaN if none)
  bool covered = false;                 // the log has readings on both sides of the window
};

struct ExposureRecord {
  std::uint64_t sequence = 0;
  ImageKey image_key = image_data;
  double start_s = 0, stop_s = 0;                       // exposure window on the run clock
  double start_uncertainty_s = 0, stop_uncertainty_s = 0;  // from the two boundary triggers
  WindowTemperature temperature;
  std::uint32_t flags = 0;
  std::string file_name;  // as the detector computer wrote it ("" when missing)
};

// Stage log rows as (time, value, setpoint, time uncertainty) columns, sorted by time; an empty
// time_uncertainty_s means readings stamped exactly.
struct TemperatureLogView {
  std::span<const double> time_s, value_K, setpoint_K, time_uncertainty_s;
};

WindowTemperature window_temperature(const TemperatureLogView& log, double start_s, double stop_s,
                                     double start_uncertainty_s = 0.0, double stop_uncertainty_s = 0.0);

}  // namespace insitu::detector
