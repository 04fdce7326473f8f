#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>

#include "protocols/recipe/recipe.hpp"

namespace insitu::recipe {
namespace {

constexpr std::array<std::string_view, 118> k_elements = {
    "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si", "P",  "S",
    "Cl", "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge",
    "As", "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd",
    "In", "Sn", "Sb", "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd",
    "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W",  "Re", "Os", "Ir", "Pt", "Au", "Hg",
    "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U",  "Np", "Pu", "Am", "Cm",
    "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn",
    "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

[[noreturn]] void fail(std::size_t offset, const std::string& reason) {
  throw std::invalid_argument("at offset " + std::to_string(offset) + ": " + reason);
}

}  // namespace

std::vector<Element> parse_composition(std::string_view formula) {
  std::vector<Element> elements;
  std::size_t i = 0;
  const auto skip_spaces = [&] {
    while (i < formula.size() && formula[i] == ' ') ++i;
  };
  skip_spaces();
  if (i == formula.size()) throw std::invalid_argument("empty formula");
  while (i < formula.size()) {
    const std::size_t symbol_at = i;
    if (!is_upper(formula[i])) {
      fail(i, std::string("expected an element symbol, got '") + formula[i] + "'");
    }
    ++i;
    // Symbols have at most two letters here: the lower-case letter belongs to the symbol.
    if (i < formula.size() && is_lower(formula[i])) ++i;
    const std::string symbol(formula.substr(symbol_at, i - symbol_at));
    if (std::find(k_elements.begin(), k_elements.end(), symbol) == k_elements.end()) {
      fail(symbol_at, "unknown element '" + symbol + "'");
    }
    for (const auto& e : elements) {
      if (e.symbol == symbol) fail(symbol_at, "element '" + symbol + "' appears twice");
    }
    double amount = 1.0;
    const std::size_t amount_at = i;
    while (i < formula.size() && (is_digit(formula[i]) || formula[i] == '.')) ++i;
    if (i > amount_at) {
      const auto text = formula.substr(amount_at, i - amount_at);
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), amount);
      if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(amount)) {
        fail(amount_at, "malformed amount '" + std::string(text) + "'");
      }
      if (amount <= 0.0) fail(amount_at, "amount of " + symbol + " must be > 0");
    }
    elements.push_back({symbol, amount});
    skip_spaces();
  }
  return elements;
}

}  // namespace insitu::recipe
