#include "drivers/dhr3/simulator.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace insitu::dhr3 {
namespace {

using ojson = nlohmann::ordered_json;

// ln of the Cole–Cole y = x^a, with x = ωτ and ln x = (E_a/k_B)(1/T − 1/T_p); clamped so exp() stays finite.
double ln_y(const SimTransition& t, double T_K, double f_Hz) {
  const double z = t.cole_cole_a * t.activation_energy_eV / boltzmann_eV_per_K * (1.0 / T_K - 1.0 / t.peak_K(f_Hz));
  return std::clamp(z, -700.0, 700.0);
}

// Cole–Cole loss normalised to a unit peak height (the peak itself is ½·tan(aπ/4)).
double unit_loss(const SimTransition& t, double T_K, double f_Hz) {
  const double z = ln_y(t, T_K, f_Hz);
  const double a = t.cole_cole_a;
  const double loss = std::sin(a * std::numbers::pi / 2) / (2.0 * std::cosh(z) + 2.0 * std::cos(a * std::numbers::pi / 2));
  return loss / (0.5 * std::tan(a * std::numbers::pi / 4));
}

// Relaxed fraction of the modulus: 0 well below the transition, 1 well above.
double relaxed_fraction(const SimTransition& t, double T_K, double f_Hz) {
  const double z = ln_y(t, T_K, f_Hz);
  const double c = std::cos(t.cole_cole_a * std::numbers::pi / 2);
  return (std::exp(-z) + c) / (std::exp(-z) + 2.0 * c + std::exp(z));
}

double crystal_fraction(const SweepConfig& c, double T_K) {
  return 1.0 / (1.0 + std::exp(-(T_K - c.crystallisation_K) / 4.0));
}

const SimTransition& alpha_of(const SweepConfig& c) {
  for (const auto& t : c.transitions)
    if (t.name == "alpha") return t;
  throw std::invalid_argument("sweep config has no 'alpha' transition");
}

double glass_storage_Pa(const SweepConfig& c, double T_K, double f_Hz) {
  double relaxed = 0.0;
  for (const auto& t : c.transitions) relaxed += t.modulus_drop * relaxed_fraction(t, T_K, f_Hz);
  relaxed += c.excess_wing.modulus_drop * relaxed_fraction(c.excess_wing, T_K, f_Hz);
  const double thermal = 1.0 - 2.5e-4 * (T_K - 300.0);
  return c.unrelaxed_modulus_Pa * thermal * std::max(1.0 - relaxed, 0.02);
}

std::string num(double v, bool upper_exponent = false) {
  std::array<char, 40> buf{};
  const auto [p, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  std::string s(buf.data(), p);
  if (upper_exponent) std::replace(s.begin(), s.end(), 'e', 'E');
  return s;
}

std::string hex_status(std::uint32_t bits) {
  std::array<char, 16> buf{};
  const auto [p, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), bits, 16);
  std::string s(buf.data(), p);
  std::transform(s.begin(), s.end(), s.begin(), [](char ch) { return static_cast<char>(std::toupper(ch)); });
  return "0x" + s;
}

bool bending(const SweepConfig& c) { return c.geometry == SimGeometry::three_point_bending; }
std::string geometry_name(const SweepConfig& c) {
  return bending(c) ? "3-point bending 50 mm span" : "Torsion rectangular";
}
std::string instrument_name(const SweepConfig& c) { return c.serial_number; }

// "2024-03-14T09:30:00Z" -> "3/14/2024 9:30:00 AM" (US locale, as TRIOS writes it on an en-US PC).
std::string us_date(const std::string& iso) {
  const int year = std::stoi(iso.substr(0, 4));
  const int month = std::stoi(iso.substr(5, 2));
  const int day = std::stoi(iso.substr(8, 2));
  const int hour = std::stoi(iso.substr(11, 2));
  const std::string rest = iso.substr(13, 6);
  const int h12 = hour % 12 == 0 ? 12 : hour % 12;
  return std::to_string(month) + "/" + std::to_string(day) + "/" + std::to_string(year) + " " + std::to_string(h12) +
         rest + (hour < 12 ? " AM" : " PM");
}

std::string procedure_text(const SweepConfig& c) {
  std::string freqs;
  for (std::size_t i = 0; i < c.frequencies_Hz.size(); ++i) freqs += (i ? ", " : "") + num(c.frequencies_Hz[i]);
  char temps[160];
  std::snprintf(temps, sizeof temps, "Start temperature %.2f °C Ramp rate %.2f °C/min End temperature %.2f °C",
                c.start_K - 273.15, c.heating_rate_K_per_min, c.end_K - 273.15);
  return "Oscillation-Temperature Ramp : " + std::string(temps) + " Multi-frequency " + freqs + " Hz";
}

struct OutColumn {
  std::string name;
  std::string unit;
};

std::vector<OutColumn> columns(const std::string& time_unit, const std::string& modulus_unit) {
  return {{"Step time", time_unit},        {"Temperature", "°C"},          {"Frequency", "Hz"},
          {"Angular frequency", "rad/s"},  {"Storage modulus", modulus_unit}, {"Loss modulus", modulus_unit},
          {"Tan(delta)", ""},              {"Oscillation strain", "%"},     {"Status bits", ""}};
}

std::vector<std::string> cells(const SimRow& r, double time_div, double modulus_div, bool upper) {
  return {num(r.step_time_s / time_div, upper),
          num(r.temperature_K - 273.15, upper),
          num(r.frequency_Hz, upper),
          num(2.0 * std::numbers::pi * r.frequency_Hz, upper),
          num(r.storage_Pa / modulus_div, upper),
          num(r.loss_Pa / modulus_div, upper),
          num(r.tan_delta, upper),
          num(r.strain * 100.0, upper),
          hex_status(r.status_bits)};
}

template <class Range>
std::string join(const Range& parts, char sep) {
  std::string out;
  bool first = true;
  for (const auto& p : parts) {
    if (!first) out += sep;
    out += p;
    first = false;
  }
  return out;
}

}  // namespace

double SimTransition::f0_Hz() const { return std::exp(activation_energy_eV / (boltzmann_eV_per_K * peak_K_at_1Hz)); }

double SimTransition::peak_K(double frequency_Hz) const {
  // ln f = ln f0 − E_a/(k_B T_p)  =>  1/T_p = 1/T_p(1 Hz) − (k_B/E_a) ln f
  return 1.0 / (1.0 / peak_K_at_1Hz - boltzmann_eV_per_K / activation_energy_eV * std::log(frequency_Hz));
}

SweepConfig paper_sweep(SimGeometry geometry) {
  // T_g = 709 K (paper Fig. 2). Peak positions at 1 Hz are read off Fig. 3(c)/5(a) only qualitatively
  // (the figures are not in the text copy): γ well below room temperature (0.33 T_g), β in the glass
  // (0.70 T_g; f0 = 1e13 Hz, an attempt frequency), α just above T_g, crystallisation at 790 K.
  SweepConfig c;
  c.geometry = geometry;
  if (geometry == SimGeometry::torsion) {
    c.frequencies_Hz = {0.05, 0.1, 0.5, 1.0, 3.0, 7.0, 15.0, 30.0, 60.0};
    c.unrelaxed_modulus_Pa = 33e9;
  }
  c.transitions = {
      {"gamma", 0.28, 235.0, 0.005, 0.5, 0.01},
      {"beta", 1.29, 500.0, 0.012, 0.5, 0.03},
      {"alpha", 7.51, 725.0, 0.4, 0.7, 0.9},
  };
  c.excess_wing = {"excess wing", 3.0, 660.0, 0.004, 0.3, 0.02};
  return c;
}

double model_tan_delta(const SweepConfig& c, double T_K, double f_Hz) {
  double tan_delta = c.baseline_tan_delta + c.baseline_slope_per_K * (T_K - c.start_K);
  for (const auto& t : c.transitions) tan_delta += t.amplitude * unit_loss(t, T_K, f_Hz);
  tan_delta += c.excess_wing.amplitude * unit_loss(c.excess_wing, T_K, f_Hz);
  const double alpha_peak_K = alpha_of(c).peak_K(f_Hz);
  tan_delta += c.alpha_background * std::exp((T_K - alpha_peak_K) / c.alpha_background_scale_K);
  const double x = crystal_fraction(c, T_K);
  return (1.0 - x) * tan_delta + x * 3e-3;
}

SimulatedSweep simulate_sweep(const SweepConfig& c) {
  if (c.frequencies_Hz.empty() || c.heating_rate_K_per_min <= 0 || c.end_K <= c.start_K || c.kelvin_per_cycle <= 0)
    throw std::invalid_argument("sweep config: need frequencies, a positive heating rate and end_K > start_K");
  SimulatedSweep sweep;
  sweep.config = c;
  std::mt19937_64 rng(c.seed);
  std::normal_distribution<double> noise(0.0, c.noise_tan_delta);
  const double nf = static_cast<double>(c.frequencies_Hz.size());
  const auto cycles = static_cast<std::size_t>(std::floor((c.end_K - c.start_K) / c.kelvin_per_cycle)) + 1;
  sweep.rows.reserve(cycles * c.frequencies_Hz.size());
  for (std::size_t k = 0; k < cycles; ++k) {
    for (std::size_t j = 0; j < c.frequencies_Hz.size(); ++j) {
      const double T = c.start_K + (static_cast<double>(k) + static_cast<double>(j) / nf) * c.kelvin_per_cycle;
      if (T > c.end_K) break;
      const double f = c.frequencies_Hz[j];
      SimRow r;
      r.temperature_K = T;
      r.step_time_s = (T - c.start_K) / c.heating_rate_K_per_min * 60.0;
      r.frequency_Hz = static_cast<double>(static_cast<float>(f));  // the instrument stores float32
      r.tan_delta = model_tan_delta(c, T, f) + noise(rng);
      const double x = crystal_fraction(c, T);
      r.storage_Pa = (1.0 - x) * glass_storage_Pa(c, T, f) + x * 1.05 * c.unrelaxed_modulus_Pa;
      r.loss_Pa = r.storage_Pa * r.tan_delta;
      r.strain = 1e-4;
      r.status_bits = 0x120B6457u;
      sweep.rows.push_back(r);
    }
  }
  return sweep;
}

std::string step_name(const SimulatedSweep&) { return "Temperature ramp - 1"; }

std::string write_lims(const SimulatedSweep& s) {
  const SweepConfig& c = s.config;
  const std::string date = us_date(c.run_date_iso);
  std::string out;
  out += "[Version]\nTA Instruments LIMS export format version\t0\n";
  out += "[Header]\nDocument ID\tinsitu-sim\nFile path\tC:\\ProgramData\\TA Instruments\\TRIOS\\Data\\insitu\\dma.tri\n";
  out += "Instrument serial number\t" + c.serial_number + "\nInstrument name\t" + instrument_name(c) +
         "\nLogged-in user at run start\tinsitu\nRun date\t" + date + "\n";
  out += "[Sample]\nName\t" + c.sample + "\nOperator\tinsitu\nProject\tinsitu\nNotes\tsimulated\nFile name\tdma.tri\n";
  out += "[Geometry]\n[Geometry: Standard]\nName\t" + geometry_name(c) + "\n";
  out += "[Procedure]\nProcedure name\tDMA multi-frequency temperature ramp\n";
  out += "[Procedure: Steps]\nStep 1\t" + procedure_text(c) + "\n";
  out += "[Parameters]\n[Parameters: File Parameters]\nInstrument type\tDiscovery HR-3\nInstrument serial number\t" +
         c.serial_number + "\nInstrument name\t" + instrument_name(c) +
         "\nTrios version\t5.1.1.46572\nRun date\t" + date + "\n";
  const auto cols = columns("s", "Pa");
  out += "[Step]\nStep name\t" + step_name(s) + "\nNumber of points\t" + std::to_string(s.rows.size()) + "\n";
  std::vector<std::string> names, units;
  for (const auto& col : cols) names.push_back(col.name), units.push_back(col.unit);
  out += "Variables\t" + join(names, '\t') + "\nUnits\t" + join(units, '\t') + "\n";
  for (const auto& r : s.rows) out += "Data point\t" + join(cells(r, 1.0, 1.0, true), '\t') + "\n";
  return out;
}

std::string write_text(const SimulatedSweep& s) {
  const SweepConfig& c = s.config;
  const std::string date = us_date(c.run_date_iso);
  std::string out;
  out += "Filename\tdma-sim\nInstrument name\t" + instrument_name(c) + "\nOperator\tinsitu\nrundate\t" + date +
         "\nSample name\t" + c.sample + "\nGeometry name\t" + geometry_name(c) +
         "\nProcedure name\tDMA multi-frequency temperature ramp\n\tTemperature ramp\n\tEnd of test\n"
         "proceduresegments\tTemperature ramp#End of test\n";
  out += "[File Parameters]\nName\tdma-sim\nInstrument serial number\t" + c.serial_number + "\nInstrument name\t" +
         instrument_name(c) + "\nTrios version\t5.1.1.46572\nInstrument type\tDiscovery HR-3\nRun date\t" + date + "\n";
  out += "[Geometry Parameters]\nName\t" + geometry_name(c) + "\n";
  const auto cols = columns("min", "MPa");
  std::vector<std::string> names, units;
  for (const auto& col : cols) names.push_back(col.name), units.push_back(col.unit);
  out += "[step]\n" + step_name(s) + "\n" + join(names, '\t') + "\n" + join(units, '\t') + "\n";
  for (const auto& r : s.rows) out += join(cells(r, 60.0, 1e6, false), '\t') + "\n";
  out += "\n";
  return out;
}

std::string write_json(const SimulatedSweep& s) {
  const SweepConfig& c = s.config;
  const std::string step_id = "6f1c0e52-3b7a-4d1e-9a55-0d2c7f4b9e10";
  ojson j;
  j["Schema"] = {{"Url", "https://software.tainstruments.com/schemas/TRIOSJSONExportSchema"}};
  j["Operators"] = ojson::array({{{"Name", "insitu"}}});
  j["Sample"] = {{"Name", c.sample}, {"Notes", "simulated"}};
  ojson cfg = {{"Type", "DiscoveryHR3"},
               {"SerialNumber", c.serial_number},
               {"Name", instrument_name(c)},
               {"Geometry", {{"Name", geometry_name(c)}}}};
  j["Procedure"] = {{"Name", "DMA multi-frequency temperature ramp"},
                    {"Steps", ojson::array({{{"Name", procedure_text(c)}, {"Id", step_id}}})},
                    {"Configuration", {{"InstrumentConfigurations", ojson::array({cfg})}}}};
  ojson headers = ojson::object();
  const auto cols = columns("s", "MPa");
  std::vector<std::string> keys;
  for (const auto& col : cols) {
    const bool text = col.name == "Status bits";
    const std::string key = col.unit.empty() ? col.name : col.name + "_" + col.unit;
    keys.push_back(key);
    ojson h = {{"DisplayName", col.name}, {"ValueType", text ? "Text" : "Number"}};
    if (!col.unit.empty()) h["Unit"] = {{"Name", col.unit}};
    headers[key] = h;
  }
  headers["Results Step Id"] = {{"DisplayName", "Results Step Id"}, {"ValueType", "Uuid"}};
  ojson rows = ojson::array();
  for (const auto& r : s.rows) {
    const double v[] = {r.step_time_s, r.temperature_K - 273.15, r.frequency_Hz, 2.0 * std::numbers::pi * r.frequency_Hz,
                        r.storage_Pa / 1e6, r.loss_Pa / 1e6, r.tan_delta, r.strain * 100.0};
    ojson row = ojson::object();
    for (std::size_t i = 0; i < 8; ++i) row[keys[i]] = v[i];
    row[keys[8]] = hex_status(r.status_bits);
    row["Results Step Id"] = step_id;
    rows.push_back(std::move(row));
  }
  j["Results"] = {{"Processed",
                   {{"Classification", "Processed"},
                    {"ResultsSteps", ojson::array({{{"Id", step_id}, {"Name", step_name(s)}}})},
                    {"ColumnHeaders", headers},
                    {"Rows", rows}}}};
  j["StartTime"] = c.run_date_iso;
  j["Log"] = ojson::array();
  return j.dump(1);
}

std::string ground_truth_json(const SimulatedSweep& s) {
  const SweepConfig& c = s.config;
  ojson j;
  j["sample"] = c.sample;
  j["geometry"] = bending(c) ? "three_point_bending" : "torsion";
  j["heating_rate_K_per_min"] = c.heating_rate_K_per_min;
  j["frequencies_Hz"] = c.frequencies_Hz;
  j["crystallisation_K"] = c.crystallisation_K;
  j["noise_tan_delta"] = c.noise_tan_delta;
  j["seed"] = c.seed;
  auto transition = [&](const SimTransition& t) {
    ojson peaks = ojson::array();
    for (double f : c.frequencies_Hz) peaks.push_back({{"frequency_Hz", f}, {"T_p_K", t.peak_K(f)}});
    return ojson{{"name", t.name},
                 {"activation_energy_eV", t.activation_energy_eV},
                 {"f0_Hz", t.f0_Hz()},
                 {"ln_f0", t.activation_energy_eV / (boltzmann_eV_per_K * t.peak_K_at_1Hz)},
                 {"cole_cole_a", t.cole_cole_a},
                 {"amplitude_tan_delta", t.amplitude},
                 {"peak_temperature_K", peaks}};
  };
  ojson ts = ojson::array();
  for (const auto& t : c.transitions) ts.push_back(transition(t));
  j["transitions"] = ts;
  j["excess_wing"] = transition(c.excess_wing);
  return j.dump(2);
}

}  // namespace insitu::dhr3
