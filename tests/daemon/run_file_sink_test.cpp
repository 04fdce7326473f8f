// The run-file sink holds room on the disk, from the start, for what the end of the run writes: the DSC exports
// already in the recipe's folder (read only at the end, when the disk may be full).
#include "daemon/run_file_sink.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/storage/records.hpp"

namespace insitu::daemon {
namespace {

using storage::testing::ScratchDir;

void write_bytes(const std::filesystem::path& file, std::size_t bytes) {
  std::ofstream(file, std::ios::binary) << std::string(bytes, 'x');
}

TEST(RunFileSinkRoom, TheDscExportsInTheFolderAreGivenRoomForTheEndAndTheRoomIsGivenBack) {
  ScratchDir dir("sink_room");
  const auto dsc = dir.path() / "dsc", reserve = dir.path() / ".run.h5.end-reserve";
  std::filesystem::create_directories(dsc);
  write_bytes(dsc / "as-cast.txt", 300'000);
  write_bytes(dsc / "hpt.txt", 200'000);
  write_bytes(dsc / ".hidden", 5'000'000);  // not an export
  auto run = storage::RunFile::create(dir.path() / "run.h5", storage::testing::test_metadata());
  const auto start_bytes = std::filesystem::file_size(reserve);
  boost::asio::io_context loop;
  RunFileSink sink(loop.get_executor(), *run, false, [](const std::string&) {});

  sink.import_dsc_at_finish({.folder = dsc.string(), .mass_mg = 10.0},
                            std::make_shared<spdlog::logger>("dsc", std::make_shared<spdlog::sinks::null_sink_mt>()));

  EXPECT_EQ(std::filesystem::file_size(reserve), start_bytes + 3 * (300'000 + 200'000) + 2 * (64 << 10));
  sink(documents::RunStop{});
  EXPECT_FALSE(std::filesystem::exists(reserve));
}

}  // namespace
}  // namespace insitu::daemon
