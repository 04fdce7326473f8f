#include <gtest/gtest.h>

#include "protocols/recipe/recipe.hpp"

namespace insitu::recipe {
namespace {

std::string composition_error(std::string_view formula) {
  try {
    parse_composition(formula);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Composition, ParsesThePaperAlloy) {
  const auto elements = parse_composition("Cu44Zr44Al8Hf2Co2");
  ASSERT_EQ(elements.size(), 5u);
  const std::vector<std::pair<std::string, double>> expected = {
      {"Cu", 44}, {"Zr", 44}, {"Al", 8}, {"Hf", 2}, {"Co", 2}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(elements[i].symbol, expected[i].first);
    EXPECT_DOUBLE_EQ(elements[i].amount, expected[i].second);
  }
}

TEST(Composition, DecimalAmountsSpacesAndImplicitOne) {
  const auto elements = parse_composition("Cu47.5 Zr47.5 Al5");
  ASSERT_EQ(elements.size(), 3u);
  EXPECT_DOUBLE_EQ(elements[0].amount, 47.5);
  EXPECT_EQ(elements[2].symbol, "Al");

  // An omitted amount is 1, and one-letter symbols are not glued to the next capital.
  const auto oxide = parse_composition("CO2");
  ASSERT_EQ(oxide.size(), 2u);
  EXPECT_EQ(oxide[0].symbol, "C");
  EXPECT_DOUBLE_EQ(oxide[0].amount, 1.0);
  EXPECT_EQ(oxide[1].symbol, "O");
  EXPECT_DOUBLE_EQ(oxide[1].amount, 2.0);
}

TEST(Composition, RejectsBadFormulasWithOffsets) {
  EXPECT_EQ(composition_error(""), "empty formula");
  EXPECT_EQ(composition_error("Cu44Xx2"), "at offset 4: unknown element 'Xx'");
  EXPECT_EQ(composition_error("Cu0Zr50"), "at offset 2: amount of Cu must be > 0");
  EXPECT_EQ(composition_error("Cu-5"), "at offset 2: expected an element symbol, got '-'");
  EXPECT_EQ(composition_error("cu50"), "at offset 0: expected an element symbol, got 'c'");
  EXPECT_EQ(composition_error("Cu1.2.3"), "at offset 2: malformed amount '1.2.3'");
  EXPECT_EQ(composition_error("Cu50Zr40Cu10"), "at offset 8: element 'Cu' appears twice");
}

}  // namespace
}  // namespace insitu::recipe
