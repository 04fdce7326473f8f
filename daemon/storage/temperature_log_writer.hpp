#pragma once
// The stage's temperature log, under an entry built by run_entry.hpp:
//   entry/instrument/temperature_controller:NXenvironment   (run_entry.hpp; created here when absent)
//     sensor:NXsensor  name, measurement=temperature, attached_to=sample
//       value_log:NXlog  time @units=s @start, time_uncertainty @units=s, value @units=K, setpoint @units=K,
//                        status, error, pump (raw uint8 T95 bytes, @description)
//   entry/sample/temperature_env -> instrument/temperature_controller (NXsample's environment)
//   entry/sample/temperature_log -> the value_log (the layout before NXsensor, which NXsample now deprecates)
//   entry/temperature:NXdata  @signal=value @axes=time @auxiliary_signals=setpoint; links to the value_log
// Each batch's `time` is appended and flushed last: readers trust rows < len(time).
// At finish (regular mode), the stretches off the programme:
//   entry/sample/temperature_deviations:NXcollection  start_time, end_time @units=s, max_deviation @units=K
//                                                     (one row a stretch; no rows: the stage kept to the programme)
#include <cstdint>
#include <span>
#include <string>

#include "daemon/storage/h5.hpp"

namespace insitu::storage {

struct TemperatureSample {
  double time_s;
  double time_uncertainty_s;  // the reading was taken within time_s +- this
  double value_K;
  double setpoint_K;
  std::uint8_t status, error, pump;  // raw Linkam T95 SB1, EB1, PB1 bytes
};

// A stretch of run time the stage was off the programme by more than the recipe's tolerance, longer than it allows.
struct TemperatureDeviation {
  double start_s, end_s;
  double max_deviation_K;  // largest |T - setpoint|
};
void write_temperature_deviations(const h5::Handle& file, const std::string& entry_path,
                                  std::span<const TemperatureDeviation> deviations);

// Creates the log (regular or pre-SWMR mode) under `entry_path` and appends to it. One writer thread owns it.
class TemperatureLogWriter {
 public:
  TemperatureLogWriter(const h5::Handle& file, const std::string& entry_path, const std::string& start_time_iso);
  // The log a killed writer left (regular mode, before SWMR starts again): columns longer than `time` hold rows
  // never committed and are cut back to it, so that appends stay aligned.
  static TemperatureLogWriter reopen(const h5::Handle& file, const std::string& entry_path);
  void append(std::span<const TemperatureSample> samples);  // every column flushed, `time` last
  void close();  // closes every dataset, throwing on failure

 private:
  TemperatureLogWriter() = default;
  h5::Handle time_, time_uncertainty_, value_, setpoint_, status_, error_, pump_;
};

}  // namespace insitu::storage
