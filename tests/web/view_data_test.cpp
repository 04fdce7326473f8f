// Frame previews and thinned curves: what the live view and the reports draw stays bounded whatever the detector,
// and says what the frame holds (masked blocks, log scale).
#include "daemon/web/view_data.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace insitu::web {
namespace {

std::vector<std::uint8_t> decoded(const std::string& text) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<std::uint8_t> out;
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    if (c == '=') break;
    bits = (bits << 6) | static_cast<std::uint32_t>(alphabet.find(c));
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<std::uint8_t>((bits >> count) & 0xff));
    }
  }
  return out;
}

TEST(Base64, MatchesTheRfc4648Vectors) {
  const auto encode = [](std::string_view s) {
    return base64(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
  };
  EXPECT_EQ(encode(""), "");
  EXPECT_EQ(encode("f"), "Zg==");
  EXPECT_EQ(encode("fo"), "Zm8=");
  EXPECT_EQ(encode("foo"), "Zm9v");
  EXPECT_EQ(encode("foobar"), "Zm9vYmFy");
}

TEST(FramePreview, A2048SquareFrameIs256SquareAtMost64KiB) {
  const auto preview = frame_preview(2048, 2048, [](std::size_t r, std::size_t c) { return double(r + c); }, {});
  EXPECT_EQ(preview["width"], 256);
  EXPECT_EQ(preview["height"], 256);
  EXPECT_EQ(preview["source_width"], 2048);
  EXPECT_EQ(decoded(preview["pixels"]).size(), 256u * 256u);
  EXPECT_LE(preview["pixels"].get<std::string>().size(), 4u * 65536u / 3u + 4u);
}

TEST(FramePreview, MaskedBlocksAreZeroAndIntensitiesLogScaled) {
  // 6 x 4 pixels in blocks of 1 (small frame): a masked column, counts 1, 10, 100, 1000 along the rows.
  const std::size_t height = 4, width = 6;
  std::vector<std::uint8_t> mask(height * width, 0);
  for (std::size_t r = 0; r < height; ++r) mask[r * width + 5] = 1;
  const auto preview = frame_preview(
      height, width, [](std::size_t r, std::size_t) { return std::pow(10.0, static_cast<double>(r)); }, mask);
  const auto pixels = decoded(preview["pixels"]);
  ASSERT_EQ(pixels.size(), height * width);
  EXPECT_DOUBLE_EQ(preview["log10_min"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(preview["log10_max"].get<double>(), 3.0);
  for (std::size_t r = 0; r < height; ++r) {
    EXPECT_EQ(pixels[r * width + 5], 0) << "masked";
    EXPECT_EQ(pixels[r * width], 1 + std::lround(254.0 * static_cast<double>(r) / 3.0)) << "row " << r;
  }
}

TEST(FramePreview, ABlockMoreThanHalfMaskedIsMasked) {
  // 512 x 512 in 2 x 2 blocks: the first block has 3 of 4 pixels masked, the second 2 of 4.
  std::vector<std::uint8_t> mask(512 * 512, 0);
  mask[0] = mask[1] = mask[512] = 1;
  mask[2] = mask[3] = 1;
  const auto preview = frame_preview(512, 512, [](std::size_t, std::size_t) { return 50.0; }, mask);
  const auto pixels = decoded(preview["pixels"]);
  EXPECT_EQ(pixels[0], 0);
  EXPECT_NE(pixels[1], 0);
}

TEST(Thinned, KeepsAtMostTheLimitAndNanAsNull) {
  std::vector<double> values(3000, 1.0);
  values[0] = std::nan("");
  const auto out = thinned(values);
  EXPECT_LE(out.size(), kCurvePoints);
  EXPECT_GE(out.size(), kCurvePoints / 2);
  EXPECT_TRUE(out[0].is_null());
  EXPECT_EQ(thinned(std::vector<double>{1, 2, 3}).size(), 3u);
}

}  // namespace
}  // namespace insitu::web
