// Run files as every reading command meets them, damaged or foreign: the one reader (every accessor) and
// `insitu summary`. HDF5's own error stack printing is off; its errors must arrive as our exceptions. An HDF5 id
// left open after an input is a leak of ours (fuzz/lsan.supp leaves leaks inside HDF5 itself to this check).
#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "daemon/storage/h5.hpp"
#include "daemon/storage/run_file_reader.hpp"
#include "daemon/summary.hpp"
#include "fuzz/scratch_file.hpp"

namespace {

void read_everything(const std::filesystem::path& path) {
  using namespace insitu::storage;
  try {
    const RunFileReader reader(path);
    (void)reader.temperature_log();
    (void)reader.events();
    (void)reader.temperature_deviations();
    if (const auto frames = reader.frames(); frames && frames->rows() > 0) (void)reader.frame_pixels(0);
    (void)reader.dark_median();
    (void)reader.sample_calibration();
    (void)reader.sample();
    for (const auto& entry : reader.analysis_entries()) {
      (void)reader.analysis(entry);
      (void)reader.parameters(entry);
      (void)reader.form_factors(entry);
    }
    (void)reader.geometry();
  } catch (const NotARunFile&) {
  } catch (const h5::Error&) {
  }
}

void require_no_open_ids(const char* after) {
  if (const auto open = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL); open != 0) {
    std::fprintf(stderr, "%zd HDF5 ids still open after %s\n", static_cast<ssize_t>(open), after);
    std::abort();
  }
}

}  // namespace

// libhdf5 mallocs sizes read from the file and refuses the file when malloc answers NULL; the sanitizers must answer
// NULL too (not abort on the absurd size), here and in the replay of fuzz/regressions/run_file under the asan and tsan
// test presets.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
extern "C" const char* __tsan_default_options() { return "allocator_may_return_null=1"; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static insitu::fuzz::ScratchFile file(".h5");
  static const bool configured = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    // HDF5 frees blocks over 64 KiB (the metadata cache of every open file) instead of keeping them on its free
    // lists; under ASan each such block is a fresh mmap, and those page faults were half of every execution.
    H5set_free_list_limits(-1, -1, 4 << 20, 4 << 16, 16 << 20, 1 << 20);
    return true;
  }();
  (void)configured;
  const auto& path = file.write(data, size);
  read_everything(path);
  require_no_open_ids("RunFileReader");
  std::ostringstream out, err;
  (void)insitu::daemon::print_summary(path, out, err);
  require_no_open_ids("print_summary");
  return 0;
}
