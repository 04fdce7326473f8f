// A simulated run's Bluesky event-model documents (`insitu run --simulate --zmq ipc://...`, the binary): the JSON
// lines beside run.h5 validate against the event-model schemas and follow the ordering rules (check_documents.py,
// which also opens the frames the stream datums point at with h5py), and a Python ZeroMQ subscriber connected
// before the run receives the same documents in the same order, start to stop.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include "tests/daemon/run_file_reader.hpp"
#include "tests/daemon/short_recipe.hpp"
#include "tests/stage/sim_fixture.hpp"
#include "tests/storage/child.hpp"

namespace insitu::testing {
namespace {

namespace fs = std::filesystem;
using storage::testing::Child;

std::vector<std::string> lines_of(Child& child) {
  std::vector<std::string> lines;
  while (auto line = child.read_line(std::chrono::seconds(60))) lines.push_back(*line);
  return lines;
}

TEST(BlueskyDocuments, SimulatedRunValidatesAndArrivesOverZeroMq) {
  const auto dir = fresh_temp_dir("bluesky-documents");
  const auto output = dir / "out", received = dir / "received.jsonl";
  const std::string address = "ipc://" + (dir / "documents.ipc").string();
  Child subscriber({"/usr/bin/python3", INSITU_SOURCE_DIR "/tests/bluesky/zmq_subscriber.py", address,
                    received.string(), "60"});
  ASSERT_EQ(subscriber.read_line(), "connected");
  Child run({INSITU_BINARY_DIR "/daemon/insitu", "run", insitu::testing::short_cryo_recipe(dir).string(), "--simulate", "--speed", "50",
             "--output", output.string(), "--zmq", address});
  lines_of(run);
  const int status = run.wait();
  ASSERT_TRUE(WIFEXITED(status));
  // 4: completed with deviations, when a loaded machine keeps the stage emulator off the accelerated programme.
  EXPECT_THAT(WEXITSTATUS(status), ::testing::AnyOf(0, 4));
  EXPECT_THAT(subscriber.read_line(), ::testing::Optional(::testing::StartsWith("received ")));
  EXPECT_EQ(WEXITSTATUS(subscriber.wait()), 0);

  const auto run_file = only_run_file(output);
  const auto jsonl = run_file.parent_path() / "run.documents.jsonl";
  ASSERT_TRUE(fs::exists(jsonl));
  Child check({"/usr/bin/python3", INSITU_SOURCE_DIR "/tests/bluesky/check_documents.py", jsonl.string(),
               INSITU_SOURCE_DIR "/tests/data/event-model", received.string()});
  const auto report = lines_of(check);
  const int check_status = check.wait();
  std::string text;
  for (const auto& line : report) text += line + "\n";
  ASSERT_TRUE(WIFEXITED(check_status) && WEXITSTATUS(check_status) == 0) << text;
  RecordProperty("documents", text);
  std::cout << text;
  // Every stream of the run has its events (how many depends on the machine's load at 50x: about 10 frames, 2 darks,
  // the analysis of each with a run analysis after it, the stage readings, the simulated DHR-3's export), and every
  // stored frame's datum resolves to a frame in run.h5.
  EXPECT_THAT(text, ::testing::ContainsRegex("events dma=[1-9][0-9]* events=[1-9][0-9]* frame_analysis=[1-9][0-9]* "
                                             "frames=[1-9][0-9]* run_analysis=[1-9][0-9]* stage=[1-9][0-9]*"));
  EXPECT_THAT(text, ::testing::ContainsRegex("frames resolved [1-9][0-9]*"));
  EXPECT_THAT(text, ::testing::ContainsRegex("exit_status success \\(completed"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace insitu::testing
