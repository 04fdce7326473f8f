#include "tests/analysis_integration/tiff_image.hpp"

#include <tiffio.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace insitu::analysis::testing {

FloatImage read_tiff(const std::filesystem::path& path) {
  TIFFSetWarningHandler(nullptr);  // detector TIFFs carry vendor tags libtiff warns about
  std::unique_ptr<TIFF, void (*)(TIFF*)> tif(TIFFOpen(path.c_str(), "r"), [](TIFF* t) {
    if (t != nullptr) TIFFClose(t);
  });
  if (!tif) throw std::runtime_error(path.string() + ": cannot open TIFF");
  std::uint32_t width = 0, height = 0;
  std::uint16_t bits = 0, format = SAMPLEFORMAT_UINT, spp = 1;
  TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &width);
  TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &height);
  TIFFGetField(tif.get(), TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_SAMPLEFORMAT, &format);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_SAMPLESPERPIXEL, &spp);
  if (spp != 1 || !(bits == 16 || bits == 32))
    throw std::runtime_error(path.string() + ": only single-channel 16/32-bit TIFFs are supported");
  FloatImage img;
  img.height = height;
  img.width = width;
  img.pixels.resize(std::size_t{height} * width);
  std::vector<unsigned char> line(static_cast<std::size_t>(TIFFScanlineSize(tif.get())));
  for (std::uint32_t r = 0; r < height; ++r) {
    if (TIFFReadScanline(tif.get(), line.data(), r) < 0)
      throw std::runtime_error(path.string() + ": cannot read row " + std::to_string(r));
    float* out = img.pixels.data() + std::size_t{r} * width;
    for (std::uint32_t c = 0; c < width; ++c) {
      const unsigned char* p = line.data() + std::size_t{c} * (bits / 8);
      if (bits == 16) {
        std::uint16_t u;
        std::memcpy(&u, p, 2);
        out[c] = format == SAMPLEFORMAT_INT ? static_cast<float>(static_cast<std::int16_t>(u)) : static_cast<float>(u);
      } else if (format == SAMPLEFORMAT_IEEEFP) {
        std::memcpy(&out[c], p, 4);
      } else {
        std::uint32_t u;
        std::memcpy(&u, p, 4);
        out[c] = format == SAMPLEFORMAT_INT ? static_cast<float>(static_cast<std::int32_t>(u)) : static_cast<float>(u);
      }
    }
  }
  return img;
}

}  // namespace insitu::analysis::testing
