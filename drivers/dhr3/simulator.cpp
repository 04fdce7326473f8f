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

std::string ramp_text(const SweepConfig& c, const std::vector<double>& frequencies_Hz, double end_K) {
  std::string freqs;
  for (std::size_t i = 0; i < frequencies_Hz.size(); ++i) freqs += (i ? ", " : "") + num(frequencies_Hz[i]);
  char temps[160];
  std::snprintf(temps, sizeof temps, "Start temperature %.2f °C Ramp rate %.2f °C/min End temperature %.2f °C",
                c.start_K - 273.15, c.heating_rate_K_per_min, end_K - 273.15);
  return "Oscillation-Temperature Ramp : " + std::string(temps) +
         (frequencies_Hz.size() == 1 ? " Frequency " : " Multi-frequency ") + freqs + " Hz";
}

// The procedure's steps as TRIOS lists them in the export header.
std::vector<std::string> procedure_steps(const SweepConfig& c) {
  switch (c.shape) {
    case ExportShape::interleaved:
      return {ramp_text(c, c.frequencies_Hz, c.end_K)};
    case ExportShape::step_per_frequency: {
      std::vector<std::string> out;
      for (double f : c.frequencies_Hz) out.push_back(ramp_text(c, {f}, c.end_K));
      return out;
    }
    case ExportShape::cycles:
      return {ramp_text(c, c.frequencies_Hz, c.cycle_top_K) + " then back to the start temperature, " +
              std::to_string(c.cycles) + " cycles"};
  }
  return {};
}

struct OutColumn {
  std::string name;
  std::string unit;
};

// Frequency and Angular frequency are columns 2 and 3; without them the frequency is in names only.
constexpr std::size_t frequency_column = 2;

template <class T>
std::vector<T> without_frequency(std::vector<T> v, const SweepConfig& c) {
  if (!c.frequency_columns) v.erase(v.begin() + frequency_column, v.begin() + frequency_column + 2);
  return v;
}

std::vector<OutColumn> columns(const SweepConfig& c, const std::string& time_unit, const std::string& modulus_unit) {
  return without_frequency<OutColumn>(
      {{"Step time", time_unit},       {"Temperature", "°C"},             {"Frequency", "Hz"},
       {"Angular frequency", "rad/s"}, {"Storage modulus", modulus_unit}, {"Loss modulus", modulus_unit},
       {"Tan(delta)", ""},             {"Oscillation strain", "%"},       {"Status bits", ""}},
      c);
}

std::vector<std::string> cells(const SweepConfig& c, const SimRow& r, double time_div, double modulus_div, bool upper) {
  return without_frequency<std::string>({num(r.step_time_s / time_div, upper), num(r.temperature_K - 273.15, upper),
                                         num(r.frequency_Hz, upper),
                                         num(2.0 * std::numbers::pi * r.frequency_Hz, upper),
                                         num(r.storage_Pa / modulus_div, upper), num(r.loss_Pa / modulus_div, upper),
                                         num(r.tan_delta, upper), num(r.strain * 100.0, upper),
                                         hex_status(r.status_bits)},
                                        c);
}

std::size_t step_count(const SimulatedSweep& s) { return s.rows.empty() ? 0 : s.rows.back().step + 1; }

// The rows of one step, in order.
std::vector<const SimRow*> step_rows(const SimulatedSweep& s, std::size_t step) {
  std::vector<const SimRow*> out;
  for (const auto& r : s.rows)
    if (r.step == step) out.push_back(&r);
  return out;
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

namespace {

// A temperature path through its turning points, walked at kelvin_per_cycle per pass over the frequencies.
struct Path {
  std::vector<double> turning_K;
  double length_K() const {
    double sum = 0.0;
    for (std::size_t i = 1; i < turning_K.size(); ++i) sum += std::abs(turning_K[i] - turning_K[i - 1]);
    return sum;
  }
  double at(double s_K) const {
    for (std::size_t i = 1; i < turning_K.size(); ++i) {
      const double leg = std::abs(turning_K[i] - turning_K[i - 1]);
      if (s_K <= leg) return turning_K[i - 1] + std::copysign(s_K, turning_K[i] - turning_K[i - 1]);
      s_K -= leg;
    }
    return turning_K.back();
  }
};

class RowMaker {
 public:
  explicit RowMaker(const SweepConfig& c) : c_(c), rng_(c.seed), noise_(0.0, c.noise_tan_delta) {}

  // One step: passes over `frequencies` along `path`; the step time restarts at 0, as TRIOS's "Step time" does.
  void add_step(std::vector<SimRow>& rows, std::size_t step, const Path& path, const std::vector<double>& frequencies) {
    const double nf = static_cast<double>(frequencies.size());
    const double length = path.length_K();
    const auto passes = static_cast<std::size_t>(std::floor(length / c_.kelvin_per_cycle)) + 1;
    for (std::size_t k = 0; k < passes; ++k) {
      for (std::size_t j = 0; j < frequencies.size(); ++j) {
        const double s = (static_cast<double>(k) + static_cast<double>(j) / nf) * c_.kelvin_per_cycle;
        if (s > length) break;
        rows.push_back(row(path.at(s), frequencies[j], s / c_.heating_rate_K_per_min * 60.0, step));
      }
    }
  }

 private:
  SimRow row(double T, double f, double time_s, std::size_t step) {
    SimRow r;
    r.temperature_K = T;
    r.step_time_s = time_s;
    r.step = step;
    r.frequency_Hz = static_cast<double>(static_cast<float>(f));  // the instrument stores float32
    r.tan_delta = model_tan_delta(c_, T, f) + noise_(rng_);
    const double x = crystal_fraction(c_, T);
    r.storage_Pa = (1.0 - x) * glass_storage_Pa(c_, T, f) + x * 1.05 * c_.unrelaxed_modulus_Pa;
    r.loss_Pa = r.storage_Pa * r.tan_delta;
    r.strain = 1e-4;
    r.status_bits = 0x120B6457u;
    return r;
  }

  const SweepConfig& c_;
  std::mt19937_64 rng_;
  std::normal_distribution<double> noise_;
};

std::string hz_name(double f) {
  std::string s = num(f);
  return s + " Hz";
}

}  // namespace

SimulatedSweep simulate_sweep(const SweepConfig& c) {
  if (c.frequencies_Hz.empty() || c.heating_rate_K_per_min <= 0 || c.end_K <= c.start_K || c.kelvin_per_cycle <= 0)
    throw std::invalid_argument("sweep config: need frequencies, a positive heating rate and end_K > start_K");
  if (c.shape == ExportShape::cycles && (c.cycles == 0 || c.cycle_top_K <= c.start_K))
    throw std::invalid_argument("sweep config: cycles need a count and cycle_top_K > start_K");
  SimulatedSweep sweep;
  sweep.config = c;
  RowMaker maker(c);
  switch (c.shape) {
    case ExportShape::interleaved:
      maker.add_step(sweep.rows, 0, {{c.start_K, c.end_K}}, c.frequencies_Hz);
      break;
    case ExportShape::step_per_frequency:
      for (std::size_t j = 0; j < c.frequencies_Hz.size(); ++j)
        maker.add_step(sweep.rows, j, {{c.start_K, c.end_K}}, {c.frequencies_Hz[j]});
      break;
    case ExportShape::cycles: {
      Path path{{c.start_K}};
      for (std::size_t k = 0; k < c.cycles; ++k) path.turning_K.insert(path.turning_K.end(), {c.cycle_top_K, c.start_K});
      maker.add_step(sweep.rows, 0, path, c.frequencies_Hz);
      break;
    }
  }
  return sweep;
}

std::vector<SimulatedSweep> simulate_file_per_frequency(const SweepConfig& config) {
  std::vector<SimulatedSweep> out;
  for (std::size_t j = 0; j < config.frequencies_Hz.size(); ++j) {
    SweepConfig one = config;
    one.shape = ExportShape::interleaved;
    one.frequencies_Hz = {config.frequencies_Hz[j]};
    one.seed = config.seed + j;
    out.push_back(simulate_sweep(one));
  }
  return out;
}

std::string step_name(const SimulatedSweep& s, std::size_t step) {
  const std::string base = "Temperature ramp - " + std::to_string(step + 1);
  if (s.config.shape != ExportShape::step_per_frequency) return base;
  return base + " - " + hz_name(s.config.frequencies_Hz.at(step));
}

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
  out += "[Procedure]\nProcedure name\tDMA multi-frequency temperature ramp\n[Procedure: Steps]\n";
  const auto procedure = procedure_steps(c);
  for (std::size_t i = 0; i < procedure.size(); ++i) out += "Step " + std::to_string(i + 1) + "\t" + procedure[i] + "\n";
  out += "[Parameters]\n[Parameters: File Parameters]\nInstrument type\tDiscovery HR-3\nInstrument serial number\t" +
         c.serial_number + "\nInstrument name\t" + instrument_name(c) +
         "\nTrios version\t5.1.1.46572\nRun date\t" + date + "\n";
  std::vector<std::string> names, units;
  for (const auto& col : columns(c, "s", "Pa")) names.push_back(col.name), units.push_back(col.unit);
  for (std::size_t k = 0; k < step_count(s); ++k) {
    const auto rows = step_rows(s, k);
    out += "[Step]\nStep name\t" + step_name(s, k) + "\nNumber of points\t" + std::to_string(rows.size()) + "\n";
    out += "Variables\t" + join(names, '\t') + "\nUnits\t" + join(units, '\t') + "\n";
    for (const auto* r : rows) out += "Data point\t" + join(cells(c, *r, 1.0, 1.0, true), '\t') + "\n";
  }
  return out;
}

std::string write_text(const SimulatedSweep& s) {
  const SweepConfig& c = s.config;
  const std::string date = us_date(c.run_date_iso);
  std::string out;
  out += "Filename\tdma-sim\nInstrument name\t" + instrument_name(c) + "\nOperator\tinsitu\nrundate\t" + date +
         "\nSample name\t" + c.sample + "\nGeometry name\t" + geometry_name(c) +
         "\nProcedure name\tDMA multi-frequency temperature ramp\n";
  for (const auto& p : procedure_steps(c)) out += "\t" + p + "\n";
  out += "\tEnd of test\nproceduresegments\tTemperature ramp#End of test\n";
  out += "[File Parameters]\nName\tdma-sim\nInstrument serial number\t" + c.serial_number + "\nInstrument name\t" +
         instrument_name(c) + "\nTrios version\t5.1.1.46572\nInstrument type\tDiscovery HR-3\nRun date\t" + date + "\n";
  out += "[Geometry Parameters]\nName\t" + geometry_name(c) + "\n";
  std::vector<std::string> names, units;
  for (const auto& col : columns(c, "min", "MPa")) names.push_back(col.name), units.push_back(col.unit);
  for (std::size_t k = 0; k < step_count(s); ++k) {
    out += "[step]\n" + step_name(s, k) + "\n" + join(names, '\t') + "\n" + join(units, '\t') + "\n";
    for (const auto* r : step_rows(s, k)) out += join(cells(c, *r, 60.0, 1e6, false), '\t') + "\n";
    out += "\n";
  }
  return out;
}

std::string write_json(const SimulatedSweep& s) {
  const SweepConfig& c = s.config;
  auto step_id = [](std::size_t k) { return "6f1c0e52-3b7a-4d1e-9a55-0d2c7f4b9e" + std::string(k < 10 ? "0" : "") + std::to_string(k); };
  ojson j;
  j["Schema"] = {{"Url", "https://software.tainstruments.com/schemas/TRIOSJSONExportSchema"}};
  j["Operators"] = ojson::array({{{"Name", "insitu"}}});
  j["Sample"] = {{"Name", c.sample}, {"Notes", "simulated"}};
  ojson cfg = {{"Type", "DiscoveryHR3"},
               {"SerialNumber", c.serial_number},
               {"Name", instrument_name(c)},
               {"Geometry", {{"Name", geometry_name(c)}}}};
  ojson procedure = ojson::array();
  const auto procedure_text = procedure_steps(c);
  for (std::size_t k = 0; k < procedure_text.size(); ++k) procedure.push_back({{"Name", procedure_text[k]}, {"Id", step_id(k)}});
  j["Procedure"] = {{"Name", "DMA multi-frequency temperature ramp"},
                    {"Steps", procedure},
                    {"Configuration", {{"InstrumentConfigurations", ojson::array({cfg})}}}};
  ojson headers = ojson::object();
  std::vector<std::string> keys;
  for (const auto& col : columns(c, "s", "MPa")) {
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
    const auto values = without_frequency<double>(
        {r.step_time_s, r.temperature_K - 273.15, r.frequency_Hz, 2.0 * std::numbers::pi * r.frequency_Hz,
         r.storage_Pa / 1e6, r.loss_Pa / 1e6, r.tan_delta, r.strain * 100.0, 0.0},
        c);
    ojson row = ojson::object();
    for (std::size_t i = 0; i + 1 < keys.size(); ++i) row[keys[i]] = values[i];
    row[keys.back()] = hex_status(r.status_bits);
    row["Results Step Id"] = step_id(r.step);
    rows.push_back(std::move(row));
  }
  ojson steps = ojson::array();
  for (std::size_t k = 0; k < step_count(s); ++k) steps.push_back({{"Id", step_id(k)}, {"Name", step_name(s, k)}});
  j["Results"] = {{"Processed",
                   {{"Classification", "Processed"}, {"ResultsSteps", steps}, {"ColumnHeaders", headers}, {"Rows", rows}}}};
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
