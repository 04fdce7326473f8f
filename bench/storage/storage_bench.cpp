// Run-file append throughput: how fast callers can enqueue temperature records, the worst enqueue
// latency (what the Asio loop pays), and records/s through to a finished file on disk.
//   storage_bench [records] [flush_interval_s] [file]
// Records are 10 ms of run time apart, so flush_interval_s = 0.01 flushes on every record.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "daemon/storage/run_file.hpp"

namespace st = insitu::storage;
using clock_type = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const std::size_t records = argc > 1 ? std::stoul(argv[1]) : 1'000'000;
  const double flush_interval_s = argc > 2 ? std::stod(argv[2]) : 10.0;
  const std::filesystem::path file =
      argc > 3 ? std::filesystem::path(argv[3]) : std::filesystem::temp_directory_path() / "insitu_storage_bench.nxs";

  std::filesystem::remove(file);  // run files are never overwritten
  st::RunMetadata metadata;
  metadata.program_version = "bench";
  metadata.recipe_name = "bench";
  metadata.sample_name = "none";
  metadata.start_time_iso = "2026-01-01T00:00:00.000Z";
  auto run = st::RunFile::create(file, metadata, {.flush_interval_s = flush_interval_s});

  const auto t0 = clock_type::now();
  std::vector<float> latency_us(records);
  for (std::size_t i = 0; i < records; ++i) {
    const auto before = clock_type::now();
    run->append(st::TemperatureSample{0.01 * static_cast<double>(i), 0.005, 300.0 + 1e-4 * static_cast<double>(i),
                                      300.0, 0x10, 0x80, 0x80});
    latency_us[i] = std::chrono::duration<float, std::micro>(clock_type::now() - before).count();
    if (i % 100'000 == 0) run->append(st::RunEvent{0.01 * static_cast<double>(i), "info", "bench"});
  }
  const auto t1 = clock_type::now();
  run->finish(0.01 * static_cast<double>(records), "completed");
  const auto t2 = clock_type::now();

  const auto seconds = [](clock_type::duration d) { return std::chrono::duration<double>(d).count(); };
  const auto stats = run->stats();
  std::printf("records %zu, flush_interval_s %g (%zu records per flush)\n", records, flush_interval_s,
              static_cast<std::size_t>(std::max(1.0, flush_interval_s / 0.01)));
  std::sort(latency_us.begin(), latency_us.end());
  const auto quantile = [&](double q) { return latency_us[static_cast<std::size_t>(q * (records - 1))]; };
  std::printf("enqueue: %.0f records/s; append latency us: median %.2f, p99 %.2f, p99.99 %.1f, max %.1f\n",
              static_cast<double>(records) / seconds(t1 - t0), quantile(0.5), quantile(0.99), quantile(0.9999),
              latency_us.back());
  std::printf("to a finished file: %.0f records/s (%.3f s), committed %llu, dropped %llu, error %s\n",
              static_cast<double>(records) / seconds(t2 - t0), seconds(t2 - t0),
              static_cast<unsigned long long>(stats.samples_committed),
              static_cast<unsigned long long>(stats.dropped), run->error() ? run->error()->c_str() : "none");
  std::printf("file %s, %.1f MiB\n", file.c_str(), static_cast<double>(std::filesystem::file_size(file)) / (1 << 20));
  return run->error() ? 1 : 0;
}
