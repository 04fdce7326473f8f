#include "daemon/storage/temperature_log_writer.hpp"

#include <tuple>
#include <vector>

#include "daemon/storage/schema.hpp"

namespace insitu::storage {
namespace {

namespace s = schema;

constexpr hsize_t log_chunk_rows = 4096;  // 32 KiB of doubles: ~7 min at 10 Hz per chunk

constexpr const char* status_description =
    "Linkam T95 SB1 byte, by value: 0x01 stopped, 0x10 heating, 0x20 cooling, 0x30 holding at limit, "
    "0x40 holding the limit time, 0x50 holding the current temperature";
constexpr const char* error_description =
    "Linkam T95 EB1 bitmask, 0x80 always set: 0x01 cooling rate too fast, 0x02 open circuit, "
    "0x04 power surge, 0x08 no exit above 300 C, 0x20 link error";
constexpr const char* pump_description =
    "Linkam T95 PB1 (LNP pump), 0x80 always set: speed = PB1 & 0x1F (0..30), 0x40 automatic mode";

// The NXsensor of the controller (NXenvironment, run_entry.hpp; created here when the entry has none).
h5::Handle stage_sensor(const h5::Handle& file, const std::string& entry_path) {
  const std::string controller_path = s::entry_path(entry_path, s::instrument::group) + "/" + s::instrument::controller;
  const h5::Handle controller =
      h5::exists(file, controller_path)
          ? h5::open_group(file, controller_path)
          : h5::create_group(h5::open_group(file, s::entry_path(entry_path, s::instrument::group)),
                             s::instrument::controller, s::nx::environment);
  h5::Handle sensor = h5::create_group(controller, s::log::sensor, s::nx::sensor);
  h5::write_string(sensor, "name", "stage temperature sensor");
  h5::write_string(sensor, "measurement", "temperature");
  h5::write_string(sensor, "attached_to", "sample");
  // NXsample's temperature_env is the controller; temperature_log (deprecated in NXsample) stays as a link for
  // readers of the older layout.
  const h5::Handle sample = h5::open_group(file, s::entry_path(entry_path, s::sample::group));
  h5::soft_link(sample, controller_path, s::sample::temperature_env);
  return sensor;
}

}  // namespace

TemperatureLogWriter::TemperatureLogWriter(const h5::Handle& file, const std::string& entry_path,
                                           const std::string& start_time_iso) {
  using h5::set_attribute;
  const std::string log_path = s::entry_path(entry_path, s::log::group);
  const h5::Handle log = h5::create_group(stage_sensor(file, entry_path), s::log::name, s::nx::log);
  const auto column = [&](const char* name, h5::Dtype type, const char* units, const char* description) {
    h5::Handle d = h5::create_extendable(log, name, {.type = type, .tail_shape = {}, .chunk_rows = log_chunk_rows});
    if (units) set_attribute(d, s::attr::units, units);
    if (description) set_attribute(d, s::attr::description, description);
    return d;
  };
  const auto f64 = h5::dtype_of<double>(), u8 = h5::dtype_of<std::uint8_t>();
  time_ = column(s::log::time, f64, s::unit::second, nullptr);
  set_attribute(time_, s::attr::start, start_time_iso);
  set_attribute(time_, s::attr::long_name, "t (s)");
  time_uncertainty_ = column(s::log::time_uncertainty, f64, s::unit::second,
                             "half the request-reply exchange the reading came from");
  value_ = column(s::log::value, f64, s::unit::kelvin, nullptr);
  set_attribute(value_, s::attr::long_name, "T (K)");
  setpoint_ = column(s::log::setpoint, f64, s::unit::kelvin, nullptr);
  set_attribute(setpoint_, s::attr::long_name, "T setpoint (K)");
  status_ = column(s::log::status, u8, nullptr, status_description);
  error_ = column(s::log::error, u8, nullptr, error_description);
  pump_ = column(s::log::pump, u8, nullptr, pump_description);

  h5::soft_link(h5::open_group(file, s::entry_path(entry_path, s::sample::group)), log_path, s::sample::legacy_log);
  const h5::Handle plot = h5::create_group(h5::open_group(file, entry_path), s::log::plot, s::nx::data);
  set_attribute(plot, s::attr::signal, s::log::value);
  set_attribute(plot, s::attr::axes, s::log::time);
  set_attribute(plot, s::attr::auxiliary_signals, std::vector<std::string>{s::log::setpoint});
  for (const char* name : {s::log::time, s::log::value, s::log::setpoint})
    h5::soft_link(plot, log_path + "/" + name, name);
}

TemperatureLogWriter TemperatureLogWriter::reopen(const h5::Handle& file, const std::string& entry_path) {
  const h5::Handle log = h5::open_group(file, s::entry_path(entry_path, s::log::group));
  TemperatureLogWriter w;
  w.time_ = h5::open_dataset(log, s::log::time);
  const hsize_t rows = h5::rows(w.time_);
  const auto column = [&](const char* name) {
    h5::Handle d = h5::open_dataset(log, name);
    if (h5::rows(d) != rows) h5::resize_rows(d, rows);
    return d;
  };
  w.time_uncertainty_ = column(s::log::time_uncertainty);
  w.value_ = column(s::log::value);
  w.setpoint_ = column(s::log::setpoint);
  w.status_ = column(s::log::status);
  w.error_ = column(s::log::error);
  w.pump_ = column(s::log::pump);
  return w;
}

void TemperatureLogWriter::append(std::span<const TemperatureSample> samples) {
  const std::size_t n = samples.size();
  if (n == 0) return;
  std::vector<double> time(n), time_uncertainty(n), value(n), setpoint(n);
  std::vector<std::uint8_t> status(n), error(n), pump(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& r = samples[i];
    time[i] = r.time_s;
    time_uncertainty[i] = r.time_uncertainty_s;
    value[i] = r.value_K;
    setpoint[i] = r.setpoint_K;
    status[i] = r.status;
    error[i] = r.error;
    pump[i] = r.pump;
  }
  h5::append<double>(time_uncertainty_, time_uncertainty);
  h5::append<double>(value_, value);
  h5::append<double>(setpoint_, setpoint);
  h5::append<std::uint8_t>(status_, status);
  h5::append<std::uint8_t>(error_, error);
  h5::append<std::uint8_t>(pump_, pump);
  for (const auto* d : {&time_uncertainty_, &value_, &setpoint_, &status_, &error_, &pump_}) h5::flush(*d);
  h5::append<double>(time_, time);
  h5::flush(time_);
}

void write_temperature_deviations(const h5::Handle& file, const std::string& entry_path,
                                  std::span<const TemperatureDeviation> deviations) {
  namespace d = s::deviations;
  const auto sample = h5::open_group(file, s::entry_path(entry_path, s::sample::group));
  const auto group = h5::create_group(sample, "temperature_deviations", s::nx::collection);
  h5::set_attribute(group, s::attr::description,
                    "stretches the stage was off the programme by more than stage.follow_tolerance_K for longer than "
                    "stage.follow_allowance_s");
  std::vector<double> start, end, max;
  for (const auto& row : deviations) {
    start.push_back(row.start_s);
    end.push_back(row.end_s);
    max.push_back(row.max_deviation_K);
  }
  for (const auto& [name, values, units] : {std::tuple{d::start_time, &start, s::unit::second},
                                           std::tuple{d::end_time, &end, s::unit::second},
                                           std::tuple{d::max_deviation, &max, s::unit::kelvin}}) {
    const auto dataset = h5::create_extendable(group, name, {.type = h5::Dtype{}, .tail_shape = {}, .chunk_rows = 64});
    h5::set_attribute(dataset, s::attr::units, units);
    h5::append<double>(dataset, *values);
  }
}

void TemperatureLogWriter::close() {
  for (auto* d : {&time_, &time_uncertainty_, &value_, &setpoint_, &status_, &error_, &pump_}) d->close();
}

}  // namespace insitu::storage
