#pragma once
// TRIOS export simulator: a DMA multi-frequency temperature sweep of the Cu44Zr44Al8Hf2Co2 glass,
// written as the LIMS text, plain text or JSON export a DHR-3 would produce, in the shapes labs export:
// one step with the frequencies interleaved, one step per frequency, heating–cooling cycles in one step, or
// one file per frequency (simulate_file_per_frequency). Pure: returns text.
//
// tan δ(T, f) = baseline + Σ Cole–Cole peaks (γ, β, excess wing, α) + α high-T background, cut by
// crystallisation, plus seeded Gaussian noise. Each peak's T_p(f) follows ln f = ln f0 − E_a/(k_B T_p).

#include <cstdint>
#include <string>
#include <vector>

namespace insitu::dhr3 {

inline constexpr double boltzmann_eV_per_K = 8.617333262e-5;

struct SimTransition {
  std::string name;
  double activation_energy_eV = 0.0;
  double peak_K_at_1Hz = 0.0;  // sets f0 = exp(E_a / (k_B T_p(1 Hz))) Hz
  double amplitude = 0.0;      // tan δ height of the peak
  double cole_cole_a = 0.5;    // 1 = Debye, smaller = broader
  double modulus_drop = 0.0;   // relaxed fraction of the storage modulus across the transition

  double f0_Hz() const;
  double peak_K(double frequency_Hz) const;
};

enum class SimGeometry { three_point_bending, torsion };

enum class ExportShape {
  interleaved,         // one step; every pass over the frequencies advances kelvin_per_cycle
  step_per_frequency,  // one ramp step per frequency, named "Temperature ramp - N - f Hz"
  cycles,              // one interleaved step going start → cycle_top_K → start, `cycles` times
};

struct SweepConfig {
  double start_K = 123.15;
  double end_K = 873.15;
  double heating_rate_K_per_min = 5.0;
  double kelvin_per_cycle = 1.0;  // temperature advance per pass over all frequencies
  std::vector<double> frequencies_Hz{0.05, 0.1, 0.5, 1.0, 3.0, 7.0, 15.0};
  SimGeometry geometry = SimGeometry::three_point_bending;
  // γ, β, α; the excess wing is a weak broad process between β and α.
  std::vector<SimTransition> transitions;
  SimTransition excess_wing;
  double baseline_tan_delta = 2e-3;
  double baseline_slope_per_K = 2e-6;
  double alpha_background = 0.01;         // tan δ of the exponential rise at T_p,α(f)
  double alpha_background_scale_K = 25.0;
  double crystallisation_K = 790.0;
  double noise_tan_delta = 5e-5;  // standard deviation
  double unrelaxed_modulus_Pa = 90e9;  // E in bending; torsion uses it as G
  std::uint64_t seed = 42;
  std::string sample = "Cu44Zr44Al8Hf2Co2 as-cast";
  std::string serial_number = "5343-0421";
  std::string run_date_iso = "2024-03-14T09:30:00Z";
  ExportShape shape = ExportShape::interleaved;
  std::size_t cycles = 2;
  double cycle_top_K = 775.0;  // below crystallisation: the glass survives the cycles
  // Without the Frequency and Angular frequency columns the frequency is only in the step name
  // (step_per_frequency) or the procedure text of a one-frequency file.
  bool frequency_columns = true;
};

// Paper defaults: E_a from Table I, peak temperatures placed for T_g = 709 K (see simulator.cpp).
SweepConfig paper_sweep(SimGeometry geometry = SimGeometry::three_point_bending);

struct SimRow {
  double step_time_s = 0.0;
  double temperature_K = 0.0;
  double frequency_Hz = 0.0;  // as the instrument reports it: float32-rounded
  double storage_Pa = 0.0;
  double loss_Pa = 0.0;
  double tan_delta = 0.0;
  double strain = 0.0;  // fraction
  std::uint32_t status_bits = 0;
  std::size_t step = 0;  // index of the export step the row belongs to
};

struct SimulatedSweep {
  SweepConfig config;
  std::vector<SimRow> rows;
};

SimulatedSweep simulate_sweep(const SweepConfig& config);

// One interleaved sweep per frequency of `config` (as a lab exports one file per frequency), seeds differing.
std::vector<SimulatedSweep> simulate_file_per_frequency(const SweepConfig& config);

// Noise-free tan δ of the model (for tests and plots).
double model_tan_delta(const SweepConfig& config, double temperature_K, double frequency_Hz);

std::string step_name(const SimulatedSweep& sweep, std::size_t step = 0);
std::string write_lims(const SimulatedSweep& sweep);  // Pa, °C, s
std::string write_text(const SimulatedSweep& sweep);  // MPa, °C, min
std::string write_json(const SimulatedSweep& sweep);  // MPa, °C, s
// Ground truth side file: per transition E_a, f0 and T_p at each nominal frequency.
std::string ground_truth_json(const SimulatedSweep& sweep);

}  // namespace insitu::dhr3
