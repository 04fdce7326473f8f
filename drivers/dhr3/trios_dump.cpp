// trios_dump [--repeat N] FILE...: parse TRIOS exports, print layout, metadata and rows per step,
// and the mean parse time over N repeats (a bench figure; tests never time anything).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "drivers/dhr3/trios.hpp"

int main(int argc, char** argv) {
  int repeat = 1;
  int first = 1;
  if (argc > 2 && std::string(argv[1]) == "--repeat") {
    repeat = std::max(1, std::atoi(argv[2]));
    first = 3;
  }
  if (first >= argc) {
    std::cerr << "usage: trios_dump [--repeat N] FILE...\n";
    return 2;
  }
  int status = 0;
  for (int a = first; a < argc; ++a) {
    std::ifstream in(argv[a], std::ios::binary);
    if (!in) {
      std::cerr << argv[a] << ": cannot open\n";
      status = 1;
      continue;
    }
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
      insitu::dhr3::Export ex;
      const auto t0 = std::chrono::steady_clock::now();
      for (int r = 0; r < repeat; ++r) ex = insitu::dhr3::parse_export(bytes);
      const auto t1 = std::chrono::steady_clock::now();
      const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count() / repeat;
      std::printf("%s: %zu bytes, layout %s, instrument '%s' type '%s' serial '%s', run date '%s', modulus %s\n",
                  argv[a], bytes.size(), std::string(to_string(ex.layout)).c_str(), ex.meta.instrument_name.c_str(),
                  ex.meta.instrument_type.c_str(), ex.meta.serial_number.c_str(), ex.meta.run_date.c_str(),
                  std::string(to_string(ex.meta.modulus)).c_str());
      std::size_t total = 0;
      for (const auto& s : ex.steps) {
        std::printf("  step '%s': %zu rows, %zu columns\n", s.name.c_str(), s.row_count(), s.columns.size());
        total += s.row_count();
      }
      std::printf("  total %zu rows; parse %.3f ms (mean of %d)\n", total, ms, repeat);
    } catch (const std::exception& e) {
      std::cerr << argv[a] << ": " << e.what() << "\n";
      status = 1;
    }
  }
  return status;
}
