// Test helper process for the storage tests:
//   storage_probe follow <file> <rows> <events>
//                                        SWMR-read <file>, print "rows N events E" whenever the committed
//                                        lengths change (rows checked), exit 0 once both reach the targets
//   storage_probe frames <file> <frames> SWMR-read <file>, print "frames N" whenever len(sequence_number)
//                                        changes (pixels and records checked), exit 0 once it reaches <frames>
//   storage_probe crash <file>           write records until SIGKILLed, printing "committed S E"
//   storage_probe crash-frames <file>    write frames (darks 0 and 1, then data frames with their analysis rows)
//                                        until SIGKILLed, printing "frames F analysed A" as they commit
//   storage_probe full <file> <bytes>    write under RLIMIT_FSIZE=<bytes> until the writer reports an
//                                        error, keep appending, finish; print "error <msg>", "dropped N"
//   storage_probe hold <file> <release>  SWMR-read <file> as a viewer would, print "open rows N" (the log's
//                                        committed rows), keep it open until the file <release> exists, exit 0
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <thread>

#include "tests/storage/records.hpp"

namespace st = insitu::storage;
using namespace std::chrono_literals;

// In the asan preset: HDF5 1.10.8 cannot free a file whose final flush failed (the disk-full
// case), so its own allocations outlive the process; LeakSanitizer must not turn that into exit 23.
extern "C" const char* __lsan_default_suppressions() { return "leak:libhdf5_serial.so\n"; }

namespace {

int follow(const std::string& file, std::size_t target_rows, std::size_t target_events) {
  const st::h5::Handle h = st::h5::open_file(file, st::h5::Access::swmr_read);
  const st::h5::Handle event_time = st::h5::open_dataset(h, "/entry/events/time");
  std::pair<std::size_t, std::size_t> last{SIZE_MAX, SIZE_MAX};
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::size_t n = st::testing::check_temperature_log(h);
    const std::size_t events = st::h5::rows(event_time);
    if (std::pair(n, events) != last) {
      std::printf("rows %zu events %zu\n", n, events);
      std::fflush(stdout);
      last = {n, events};
    }
    if (n >= target_rows && events >= target_events) return 0;
    std::this_thread::sleep_for(5ms);
  }
  return 3;
}

int frames(const std::string& file, std::size_t target) {
  const st::h5::Handle h = st::h5::open_file(file, st::h5::Access::swmr_read);
  std::size_t last = SIZE_MAX;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::size_t n = st::testing::check_frames(h);
    if (n != last) {
      std::printf("frames %zu\n", n);
      std::fflush(stdout);
      last = n;
    }
    if (n >= target) return 0;
    std::this_thread::sleep_for(5ms);
  }
  return 3;
}

int crash(const std::string& file) {
  auto run = st::RunFile::create(file, st::testing::test_metadata(), {.flush_interval_s = 0.05});
  st::RunFileStats reported;
  for (std::size_t i = 0;; ++i) {
    run->append(st::testing::sample_at(i));
    if (i % 50 == 0) run->append(st::testing::event_at(i / 50));
    if (i % 100 != 99) continue;
    const auto stats = run->stats();
    if (stats.samples_committed != reported.samples_committed || stats.events_committed != reported.events_committed) {
      std::printf("committed %llu %llu\n", static_cast<unsigned long long>(stats.samples_committed),
                  static_cast<unsigned long long>(stats.events_committed));
      std::fflush(stdout);
      reported = stats;
    }
    std::this_thread::sleep_for(1ms);  // ~100 kHz: far above a Linkam, well below the writer's limit
  }
}

int crash_frames(const std::string& file) {
  auto run = st::RunFile::create(file, st::testing::test_metadata(), {.flush_interval_s = 0.05},
                                 st::testing::frames_and_analysis_layout());
  st::RunFileStats reported;
  for (std::size_t k = 0;; ++k) {
    run->append(st::testing::sample_at(k));
    run->append(st::testing::exposure_at(k), st::testing::as_bytes(st::testing::pixels_at(k)));
    if (k >= 2) run->append(st::testing::analysis_at(k));
    const auto stats = run->stats();
    if (stats.frames_committed != reported.frames_committed ||
        stats.analysis_rows_committed != reported.analysis_rows_committed) {
      std::printf("frames %llu analysed %llu\n", static_cast<unsigned long long>(stats.frames_committed),
                  static_cast<unsigned long long>(stats.analysis_rows_committed));
      std::fflush(stdout);
      reported = stats;
    }
    std::this_thread::sleep_for(2ms);
  }
}

int hold(const std::string& file, const std::string& release) {
  const st::h5::Handle h = st::h5::open_file(file, st::h5::Access::swmr_read);
  const st::h5::Handle time = st::h5::open_dataset(h, "/entry/sample/temperature_log/time");
  std::printf("open rows %zu\n", static_cast<std::size_t>(st::h5::rows(time)));
  std::fflush(stdout);
  // Not read again: once the writer ends SWMR and writes the end in regular mode, an SWMR reader's cached view is
  // stale (a reopen reads the final file); what it must not do is keep the end out of the file.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!std::filesystem::exists(release) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  return 0;
}

int full(const std::string& file, long long limit_bytes) {
  // Past the limit, write() fails with EFBIG instead of the default SIGXFSZ killing the process.
  signal(SIGXFSZ, SIG_IGN);
  const rlimit limit{static_cast<rlim_t>(limit_bytes), static_cast<rlim_t>(limit_bytes)};
  if (setrlimit(RLIMIT_FSIZE, &limit) != 0) return 4;
  auto run = st::RunFile::create(file, st::testing::test_metadata(), {.flush_interval_s = 0.05});
  std::size_t i = 0;
  for (; i < 2'000'000 && !run->error(); ++i) {
    run->append(st::testing::sample_at(i));
    if (i % 1000 == 999) std::this_thread::sleep_for(1ms);
  }
  if (!run->error()) {
    std::printf("no-error\n");
    std::fflush(stdout);
    return 1;
  }
  for (std::size_t k = 0; k < 1000; ++k) run->append(st::testing::sample_at(i + k));
  run->append(st::testing::event_at(1));
  run->finish(st::testing::sample_at(i + 1000).time_s, "completed");
  std::printf("error %s\ndropped %llu\n", run->error()->c_str(),
              static_cast<unsigned long long>(run->stats().dropped));
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "follow" && argc == 5) return follow(argv[2], std::stoul(argv[3]), std::stoul(argv[4]));
    if (mode == "frames" && argc == 4) return frames(argv[2], std::stoul(argv[3]));
    if (mode == "crash" && argc == 3) return crash(argv[2]);
    if (mode == "crash-frames" && argc == 3) return crash_frames(argv[2]);
    if (mode == "full" && argc == 4) return full(argv[2], std::stoll(argv[3]));
    if (mode == "hold" && argc == 4) return hold(argv[2], argv[3]);
    std::fprintf(stderr, "usage: storage_probe follow <file> <rows> <events> | frames <file> <n> | crash <file> | full <file> <bytes>\n");
    return 64;
  } catch (const std::exception& e) {
    std::printf("exception %s\n", e.what());
    std::fflush(stdout);
    return 2;
  }
}
