// Frame write throughput through RunFile: N synthetic 2048x2048 uint16 frames (Poisson counts on Debye-like
// rings, as an integrating flat panel sees them) with the given filter, timed from the first append until
// finish() has closed the file. Prints MB/s and stored bytes per frame; writes the distinct frames it cycles
// through to <frames.u16> so the h5py comparison writes the very same pixels.
//   frames_bench <frames> <bitshuffle_lz4|shuffle_deflate> <file.nxs> <frames.u16>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "daemon/storage/run_file.hpp"

namespace st = insitu::storage;

namespace {

constexpr std::size_t side = 2048, distinct = 4;

std::vector<std::uint16_t> ring_frame(std::size_t seed) {
  std::mt19937 rng(static_cast<unsigned>(1234 + seed));
  std::vector<std::uint16_t> frame(side * side);
  const double c = side / 2.0 + 3.0 * static_cast<double>(seed);
  for (std::size_t y = 0; y < side; ++y)
    for (std::size_t x = 0; x < side; ++x) {
      const double r = std::hypot(static_cast<double>(x) - c, static_cast<double>(y) - c);
      double mean = 200.0 + 50000.0 / (r + 100.0);
      for (double ring : {180.0, 310.0, 420.0, 610.0, 800.0}) mean += 1500.0 * std::exp(-0.5 * std::pow((r - ring) / 4.0, 2));
      std::poisson_distribution<int> counts(mean);
      frame[y * side + x] = static_cast<std::uint16_t>(std::min(counts(rng), 65535));
    }
  return frame;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: frames_bench <frames> <bitshuffle_lz4|shuffle_deflate> <file.nxs> <frames.u16>\n");
    return 64;
  }
  const std::size_t n = std::stoul(argv[1]);
  const std::string filter_arg = argv[2];
  const std::filesystem::path file = argv[3], raw = argv[4];
  const st::h5::Filter filter =
      filter_arg == "bitshuffle_lz4" ? st::h5::Filter::bitshuffle_lz4 : st::h5::Filter::shuffle_deflate;

  std::vector<std::vector<std::uint8_t>> frames;
  std::ofstream out(raw, std::ios::binary);
  for (std::size_t k = 0; k < distinct; ++k) {
    const auto f = ring_frame(k);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(f.data());
    frames.emplace_back(bytes, bytes + f.size() * 2);
    out.write(reinterpret_cast<const char*>(bytes), static_cast<std::streamsize>(f.size() * 2));
  }
  out.close();

  std::filesystem::remove(file);
  st::RunMetadata metadata;
  metadata.program_version = "bench";
  metadata.recipe_name = "bench";
  metadata.sample_name = "none";
  metadata.start_time_iso = "2026-01-01T00:00:00.000Z";
  st::DetectorLayout layout;
  layout.height = layout.width = side;
  layout.filter = filter;
  const auto t0 = std::chrono::steady_clock::now();
  auto run = st::RunFile::create(file, metadata, {}, {.detector = layout});
  for (std::size_t k = 0; k < n; ++k) {
    insitu::detector::ExposureRecord r;
    r.sequence = k;
    r.start_s = 12.0 * static_cast<double>(k);
    r.stop_s = r.start_s + 12.0;
    run->append(r, frames[k % distinct]);
  }
  run->finish(12.0 * static_cast<double>(n), "completed");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (run->error()) {
    std::fprintf(stderr, "run file error: %s\n", run->error()->c_str());
    return 1;
  }
  const st::h5::Handle h = st::h5::open_file(file, st::h5::Access::read);
  const st::h5::Handle data = st::h5::open_dataset(h, "/entry/instrument/detector/data");
  const double stored = static_cast<double>(H5Dget_storage_size(data.get())) / static_cast<double>(n);
  const double mb = static_cast<double>(n * side * side * 2) / 1e6;
  std::printf("insitu RunFile  %-16s %4zu frames  %7.1f MB/s  %6.1f frames/s  %9.0f bytes/frame  ratio %.2f\n",
              st::h5::filter_name(filter).c_str(), n, mb / seconds, static_cast<double>(n) / seconds, stored,
              static_cast<double>(side * side * 2) / stored);
  return 0;
}
