#include "analysis/pdf/form_factors.hpp"

#include <cmath>
#include <fstream>
#include <numbers>
#include <sstream>
#include <stdexcept>

namespace insitu::analysis {

namespace {

std::string where(std::string_view source, std::size_t line) {
  return std::string(source) + ":" + std::to_string(line) + ": ";
}

}  // namespace

FormFactorTable FormFactorTable::parse(std::string_view text, std::string_view source_name) {
  FormFactorTable out;
  std::istringstream in{std::string(text)};
  std::string line;
  std::size_t line_no = 0;
  std::string pending_symbol;
  int pending_z = 0;
  std::size_t pending_line = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.rfind("#S", 0) == 0) {
      std::istringstream hs(line.substr(2));
      if (!(hs >> pending_z >> pending_symbol) || pending_z <= 0)
        throw std::runtime_error(where(source_name, line_no) + "expected '#S <Z> <symbol>', got '" + line + "'");
      pending_line = line_no;
      continue;
    }
    if (line.empty() || line[0] == '#' || pending_symbol.empty()) continue;
    std::istringstream ds(line);
    std::array<double, 11> v{};
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!(ds >> v[i]))
        throw std::runtime_error(where(source_name, line_no) + "expected 11 coefficients for '" + pending_symbol +
                                 "' (#S at line " + std::to_string(pending_line) + "), got " + std::to_string(i));
    }
    WaasKirfCoefficients c;
    c.atomic_number = pending_z;
    for (std::size_t i = 0; i < 5; ++i) {
      c.a[i] = v[i];
      c.b[i] = v[6 + i];
    }
    c.c = v[5];
    out.table_.emplace(pending_symbol, c);
    pending_symbol.clear();
  }
  if (out.table_.empty()) throw std::runtime_error(std::string(source_name) + ": no '#S' form-factor entries found");
  return out;
}

FormFactorTable FormFactorTable::load(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open form-factor file '" + path + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  return parse(ss.str(), path);
}

FormFactorTable FormFactorTable::from_coefficients(
    const std::vector<std::pair<std::string, WaasKirfCoefficients>>& entries) {
  FormFactorTable out;
  for (const auto& [symbol, c] : entries) {
    if (symbol.empty() || c.atomic_number <= 0)
      throw std::invalid_argument("form factor entry '" + symbol + "' with atomic number " +
                                  std::to_string(c.atomic_number));
    out.table_.insert_or_assign(symbol, c);
  }
  return out;
}

bool FormFactorTable::contains(std::string_view symbol) const { return table_.find(symbol) != table_.end(); }

const WaasKirfCoefficients& FormFactorTable::coefficients(std::string_view symbol) const {
  auto it = table_.find(symbol);
  if (it == table_.end())
    throw std::out_of_range("no Waasmaier-Kirfel form factor for element '" + std::string(symbol) + "'");
  return it->second;
}

double FormFactorTable::f0(std::string_view symbol, double q_inv_angstrom) const {
  const auto& c = coefficients(symbol);
  const double k = q_inv_angstrom / (4.0 * std::numbers::pi);
  const double k2 = k * k;
  double f = c.c;
  for (std::size_t i = 0; i < 5; ++i) f += c.a[i] * std::exp(-c.b[i] * k2);
  return f;
}

std::vector<std::pair<std::string, double>> atomic_fractions(const Composition& composition) {
  if (composition.empty()) throw std::invalid_argument("composition is empty");
  double total = 0.0;
  for (const auto& [symbol, amount] : composition) {
    if (!(amount > 0.0) || !std::isfinite(amount))
      throw std::invalid_argument("composition amount for '" + symbol + "' must be positive, got " +
                                  std::to_string(amount));
    total += amount;
  }
  std::vector<std::pair<std::string, double>> out;
  out.reserve(composition.size());
  for (const auto& [symbol, amount] : composition) out.emplace_back(symbol, amount / total);
  return out;
}

FormFactorAverages form_factor_averages(const FormFactorTable& table, const Composition& composition,
                                        std::span<const double> q_inv_angstrom) {
  const auto fractions = atomic_fractions(composition);
  FormFactorAverages out;
  out.f_mean.assign(q_inv_angstrom.size(), 0.0);
  out.f2_mean.assign(q_inv_angstrom.size(), 0.0);
  out.incoherent.assign(q_inv_angstrom.size(), 0.0);
  for (const auto& [symbol, c] : fractions) {
    const double z = table.coefficients(symbol).atomic_number;
    for (std::size_t i = 0; i < q_inv_angstrom.size(); ++i) {
      const double f = table.f0(symbol, q_inv_angstrom[i]);
      out.f_mean[i] += c * f;
      out.f2_mean[i] += c * f * f;
      // Hydrogen-like independent-electron estimate of the Compton term: 0 at Q = 0, Z at high Q.
      out.incoherent[i] += c * (z - f * f / z);
    }
  }
  return out;
}

}  // namespace insitu::analysis
