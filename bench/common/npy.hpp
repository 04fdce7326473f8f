#pragma once
// The benchmark frame as pyfai_reference.py saves it: a .npy of C-ordered little-endian float32, 2-D. A minimal
// reader, so the C++ benchmarks time exactly the pixels pyFAI was timed on.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace insitu::bench {

struct NpyImage {
  std::vector<float> pixels;
  std::size_t height = 0, width = 0;
};

inline NpyImage read_npy_f32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  char magic[8];
  in.read(magic, 8);
  if (std::memcmp(magic, "\x93NUMPY", 6) != 0) throw std::runtime_error(path + ": not a .npy file");
  std::uint32_t header_len = 0;
  if (magic[6] == 1) {
    std::uint16_t h;
    in.read(reinterpret_cast<char*>(&h), 2);
    header_len = h;
  } else {
    in.read(reinterpret_cast<char*>(&header_len), 4);
  }
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  if (header.find("'<f4'") == std::string::npos || header.find("'fortran_order': False") == std::string::npos)
    throw std::runtime_error(path + ": expected C-ordered '<f4', header " + header);
  NpyImage image;
  const auto open = header.find('(', header.find("'shape'"));
  if (std::sscanf(header.c_str() + open, "(%zu, %zu)", &image.height, &image.width) != 2)
    throw std::runtime_error(path + ": expected a 2-D shape, header " + header);
  image.pixels.resize(image.height * image.width);
  in.read(reinterpret_cast<char*>(image.pixels.data()), static_cast<std::streamsize>(image.pixels.size() * 4));
  if (!in) throw std::runtime_error(path + ": truncated data");
  return image;
}

}  // namespace insitu::bench
