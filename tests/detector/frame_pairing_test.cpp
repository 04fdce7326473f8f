#include "drivers/detector/frame_pairing.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace insitu::detector {
namespace {

TEST(FrameName, QxrdPatterns) {
  const auto plain = parse_frame_name("ramp-00012.tif", "ramp");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->index, 12);
  EXPECT_FALSE(plain->phase.has_value());
  EXPECT_FALSE(plain->dark);
  EXPECT_FALSE(plain->uniquified);

  const auto phase = parse_frame_name("ramp-00012-003.tif", "ramp");
  ASSERT_TRUE(phase.has_value());
  EXPECT_EQ(phase->phase, 3);

  const auto dark = parse_frame_name("ramp-00007.dark.tif", "ramp");
  ASSERT_TRUE(dark.has_value());
  EXPECT_TRUE(dark->dark);
  EXPECT_EQ(dark->index, 7);

  const auto again = parse_frame_name("ramp-00012-00001.tif", "ramp");
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->uniquified);
  EXPECT_EQ(again->index, 12);

  EXPECT_EQ(parse_frame_name("ramp-00012.edf", "ramp")->index, 12);
  EXPECT_EQ(parse_frame_name("my-ramp-00002.tiff", "my-ramp")->index, 2);
}

TEST(FrameName, RejectsOtherFiles) {
  EXPECT_FALSE(parse_frame_name("other-00012.tif", "ramp"));
  EXPECT_FALSE(parse_frame_name("ramp-00012.txt", "ramp"));
  EXPECT_FALSE(parse_frame_name("ramp-00012.tif.metadata", "ramp"));
  EXPECT_FALSE(parse_frame_name("ramp-abc.tif", "ramp"));
  EXPECT_FALSE(parse_frame_name("ramp-.tif", "ramp"));
  EXPECT_FALSE(parse_frame_name("ramp00012.tif", "ramp"));
  EXPECT_FALSE(parse_frame_name("ramp-00012-12.tif", "ramp"));
}

FileArrival arrival(std::int64_t index, double at_s, std::string path = {}) {
  if (path.empty()) path = "ramp-" + std::to_string(index) + ".tif";
  return FileArrival{path, index, at_s, true, std::nullopt};
}

PairingConfig config() {
  PairingConfig c;
  c.first_file_index = 100;
  c.file_deadline_after_boundary_s = 5.0;
  return c;
}

TEST(FramePairer, FrameKIntegratesBetweenBoundariesAndFirstIsPreTrigger) {
  FramePairer pairer(config());
  for (int k = 0; k <= 3; ++k) {
    pairer.boundary(12.0 * k);
    pairer.file(arrival(100 + k, 12.0 * k + 1.0));
  }
  pairer.advance(100.0);
  const auto& records = pairer.records();
  ASSERT_EQ(records.size(), 4u);  // 3 frames need 4 pulses
  EXPECT_EQ(records[0].flags, static_cast<unsigned>(FrameFlag::pre_trigger));
  EXPECT_TRUE(std::isnan(records[0].start_s));
  for (int k = 1; k <= 3; ++k) {
    EXPECT_EQ(records[k].flags, 0u) << k;
    EXPECT_EQ(records[k].file_index, 100 + k);
    EXPECT_DOUBLE_EQ(records[k].start_s, 12.0 * (k - 1));
    EXPECT_DOUBLE_EQ(records[k].end_s, 12.0 * k);
    ASSERT_TRUE(records[k].file.has_value());
    EXPECT_EQ(records[k].file->index, 100 + k);
  }
  EXPECT_TRUE(pairer.orphans().empty());
}

TEST(FramePairer, MissingAfterDeadlineThenLate) {
  FramePairer pairer(config());
  pairer.boundary(0.0);
  pairer.boundary(12.0);
  pairer.boundary(24.0);
  pairer.file(arrival(100, 1.0));
  pairer.file(arrival(102, 25.0));
  pairer.advance(16.9);
  EXPECT_FALSE(pairer.records()[1].has(FrameFlag::missing));  // deadline 17 s not passed
  pairer.advance(17.1);
  EXPECT_TRUE(pairer.records()[1].has(FrameFlag::missing));
  EXPECT_FALSE(pairer.records()[2].has(FrameFlag::missing));

  pairer.file(arrival(101, 40.0));
  const FrameRecord& late = pairer.records()[1];
  EXPECT_TRUE(late.has(FrameFlag::late));
  EXPECT_FALSE(late.has(FrameFlag::missing));
  ASSERT_TRUE(late.file.has_value());
}

TEST(FramePairer, LateEvenIfAdvanceNeverRan) {
  FramePairer pairer(config());
  pairer.boundary(0.0);
  pairer.file(arrival(100, 5.5));
  EXPECT_TRUE(pairer.records()[0].has(FrameFlag::late));
}

TEST(FramePairer, DuplicateIndexKeepsFirstAndListsTheOther) {
  FramePairer pairer(config());
  pairer.boundary(0.0);
  pairer.boundary(12.0);
  pairer.file(arrival(101, 13.0, "ramp-00101.tif"));
  pairer.file(arrival(101, 13.5, "ramp-00101-00001.tif"));
  const FrameRecord& r = pairer.records()[1];
  EXPECT_TRUE(r.has(FrameFlag::duplicate));
  EXPECT_EQ(r.file->path, "ramp-00101.tif");
  ASSERT_EQ(r.duplicates.size(), 1u);
  EXPECT_EQ(r.duplicates[0].path, "ramp-00101-00001.tif");
}

TEST(FramePairer, TruncatedUntilTheSameFileReadsComplete) {
  FramePairer pairer(config());
  pairer.boundary(0.0);
  FileArrival partial = arrival(100, 1.0);
  partial.complete = false;
  pairer.file(partial);
  EXPECT_TRUE(pairer.records()[0].has(FrameFlag::truncated));
  EXPECT_FALSE(pairer.records()[0].has(FrameFlag::duplicate));
  pairer.file(arrival(100, 1.5));  // next poll: same path, now complete
  EXPECT_FALSE(pairer.records()[0].has(FrameFlag::truncated));
  EXPECT_FALSE(pairer.records()[0].has(FrameFlag::duplicate));
}

TEST(FramePairer, OrphansAreKeptAndEarlyFilesClaimed) {
  FramePairer pairer(config());
  pairer.boundary(0.0);
  pairer.file(FileArrival{"notes.txt", std::nullopt, 1.0, true, std::nullopt});
  pairer.file(arrival(99, 1.0));   // before the run's first index
  pairer.file(arrival(101, 2.0));  // its boundary is not recorded yet
  EXPECT_EQ(pairer.orphans().size(), 3u);
  pairer.boundary(12.0);
  EXPECT_EQ(pairer.orphans().size(), 2u);
  ASSERT_TRUE(pairer.records()[1].file.has_value());
  EXPECT_EQ(pairer.records()[1].file->index, 101);
}

TEST(FramePairer, UncertainTriggerFlagsBothAdjacentFrames) {
  FramePairer pairer(config());
  pairer.boundary(0.0);
  pairer.boundary(12.0);
  pairer.boundary(24.0, true);
  pairer.boundary(36.0);
  pairer.boundary(48.0);
  EXPECT_FALSE(pairer.records()[1].has(FrameFlag::trigger_uncertain));
  EXPECT_TRUE(pairer.records()[2].has(FrameFlag::trigger_uncertain));
  EXPECT_TRUE(pairer.records()[3].has(FrameFlag::trigger_uncertain));
  EXPECT_FALSE(pairer.records()[4].has(FrameFlag::trigger_uncertain));
}

TEST(FramePairer, ClockSkewAgainstDetectorTimeStamp) {
  FramePairer pairer(config());
  pairer.boundary(0.0);
  pairer.boundary(12.0);
  FileArrival good = arrival(100, 0.5);
  good.detector_time_s = 1.5;
  pairer.file(good);
  FileArrival skewed = arrival(101, 13.0);
  skewed.detector_time_s = 14.5;
  pairer.file(skewed);
  EXPECT_FALSE(pairer.records()[0].has(FrameFlag::clock_skew));
  EXPECT_TRUE(pairer.records()[1].has(FrameFlag::clock_skew));
}

TEST(FramePairer, ChangedRecordsAreReportedOnce) {
  FramePairer pairer(config());
  pairer.boundary(0.0);
  pairer.boundary(12.0);
  EXPECT_EQ(pairer.take_changed().size(), 2u);
  EXPECT_TRUE(pairer.take_changed().empty());
  pairer.advance(30.0);
  const auto missing = pairer.take_changed();
  ASSERT_EQ(missing.size(), 2u);
  EXPECT_TRUE(missing[1].has(FrameFlag::missing));
  pairer.advance(31.0);
  EXPECT_TRUE(pairer.take_changed().empty());
}

TEST(FramePairer, DescribesFlags) {
  EXPECT_EQ(describe_flags(0), "ok");
  EXPECT_EQ(describe_flags(static_cast<unsigned>(FrameFlag::late) | static_cast<unsigned>(FrameFlag::clock_skew)),
            "late,clock_skew");
  EXPECT_EQ(describe_flags(static_cast<unsigned>(FrameFlag::missing) | 0x100u), "missing,unknown(0x100)");
}

TEST(FramePairer, RejectsNonIncreasingBoundariesAndBadConfig) {
  FramePairer pairer(config());
  pairer.boundary(10.0);
  EXPECT_THROW(pairer.boundary(10.0), std::invalid_argument);
  PairingConfig bad = config();
  bad.file_deadline_after_boundary_s = 0.0;
  EXPECT_THROW(FramePairer{bad}, std::invalid_argument);
}

}  // namespace
}  // namespace insitu::detector
