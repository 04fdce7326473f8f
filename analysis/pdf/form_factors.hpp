#pragma once
// X-ray atomic form factors f0(Q) from the Waasmaier-Kirfel (1995) parametrisation (DABAX f0_WaasKirf.dat),
// and the composition averages <f>, <f^2> the PDF reduction needs.
#include <array>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace insitu::analysis {

// (element symbol, amount) pairs, e.g. {{"Cu",44},{"Zr",44},{"Al",8},{"Hf",2},{"Co",2}}; amounts need not sum to 1.
using Composition = std::vector<std::pair<std::string, double>>;

struct WaasKirfCoefficients {
  int atomic_number = 0;
  std::array<double, 5> a{};
  double c = 0.0;
  std::array<double, 5> b{};
};

class FormFactorTable {
 public:
  // Parses the DABAX text (`#S Z Sym` header, then one line `a1..a5 c b1..b5`). Throws with the line number on bad rows.
  static FormFactorTable parse(std::string_view text, std::string_view source_name);
  static FormFactorTable load(const std::string& path);
  // From coefficients already parsed (e.g. those a run file recorded for its composition); throws
  // std::invalid_argument for an empty symbol or a non-positive atomic number.
  static FormFactorTable from_coefficients(const std::vector<std::pair<std::string, WaasKirfCoefficients>>& entries);

  bool contains(std::string_view symbol) const;
  // Throws std::out_of_range naming the symbol if it is not in the table (symbols are case-sensitive: "Co" != "CO").
  const WaasKirfCoefficients& coefficients(std::string_view symbol) const;
  // f0 in electrons at momentum transfer Q (inverse angstrom); k = Q/(4 pi), valid for k <= 6.
  double f0(std::string_view symbol, double q_inv_angstrom) const;
  std::size_t size() const { return table_.size(); }

 private:
  std::map<std::string, WaasKirfCoefficients, std::less<>> table_;
};

// Per-atom averages over the composition's atomic fractions c_i, evaluated on a Q grid.
struct FormFactorAverages {
  std::vector<double> f_mean;        // <f>(Q) = sum c_i f_i
  std::vector<double> f2_mean;       // <f^2>(Q) = sum c_i f_i^2
  std::vector<double> incoherent;    // crude Compton estimate sum c_i (Z_i - f_i^2 / Z_i), electrons^2 per atom
};

// Atomic fractions normalised from the amounts; throws on an empty composition, a non-positive amount, or an unknown symbol.
std::vector<std::pair<std::string, double>> atomic_fractions(const Composition& composition);

FormFactorAverages form_factor_averages(const FormFactorTable& table, const Composition& composition,
                                        std::span<const double> q_inv_angstrom);

}  // namespace insitu::analysis
