// Detector frames and exposure records in the run file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/storage/h5.hpp"
#include "daemon/storage/run_file.hpp"
#include "tests/storage/child.hpp"
#include "tests/storage/records.hpp"

namespace insitu::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;
using testing::as_bytes;
using testing::Child;
using testing::exposure_at;
using testing::frame_height;
using testing::frame_width;
using testing::pixels_at;
using testing::ScratchDir;
using testing::small_detector;
using testing::test_metadata;
using testing::wait_until;

std::string attr(const h5::Handle& file, const std::string& path, const std::string& name) {
  return h5::read_string_attribute(h5::open_object(file, path), name);
}

// The filter ids in the dataset's creation property list, as HDF5 will apply them.
std::vector<H5Z_filter_t> filters_of(const h5::Handle& dataset) {
  h5::Handle dcpl(H5Dget_create_plist(dataset.get()));
  std::vector<H5Z_filter_t> ids;
  const int n = H5Pget_nfilters(dcpl.get());
  for (int i = 0; i < n; ++i) {
    unsigned flags = 0, config = 0;
    std::size_t n_values = 0;
    ids.push_back(H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &n_values, nullptr, 0, nullptr, &config));
  }
  return ids;
}

TEST(RunFileFrames, DetectorLayoutHasClassesUnitsAndDefaultPlot) {
  ScratchDir dir("det_layout");
  const auto path = dir.path() / "run.nxs";
  const auto metadata = test_metadata();
  RunFile::create(path, metadata, {}, {.detector = small_detector()})->finish(0.0, "completed");

  const h5::Handle f = h5::open_file(path, h5::Access::read);
  EXPECT_EQ(attr(f, "/entry/instrument/detector", "NX_class"), "NXdetector");
  EXPECT_EQ(attr(f, "/entry/instrument/detector/frame_temperature", "NX_class"), "NXcollection");
  EXPECT_EQ(attr(f, "/entry/data", "NX_class"), "NXdata");
  EXPECT_EQ(attr(f, "/entry", "default"), "data");
  EXPECT_EQ(attr(f, "/entry/data", "signal"), "data");
  EXPECT_EQ(h5::read_string_array_attribute(h5::open_object(f, "/entry/data"), "axes"),
            (std::vector<std::string>{"frame", ".", "."}));  // monotonic; the temperature rides along
  EXPECT_EQ(attr(f, "/entry/instrument/detector/data", "interpretation"), "image");  // viewers load one frame
  EXPECT_EQ(attr(f, "/entry/instrument/detector/saturation_value", "units"), "counts");
  EXPECT_EQ(attr(f, "/entry/instrument/detector/detector_readout_time", "units"), "s");
  EXPECT_EQ(h5::shape(h5::open_dataset(f, "/entry/data/data")),
            (std::vector<hsize_t>{0, frame_height, frame_width}));
  EXPECT_EQ(attr(f, "/entry/data/temperature", "units"), "K");  // -> frame_temperature/T_mean
  EXPECT_EQ(attr(f, "/entry/sample/temperature", "units"), "K");

  const std::string det = "/entry/instrument/detector/";
  EXPECT_EQ(h5::read_string(f, det + "description"), "Perkin Elmer XRD1621");
  EXPECT_EQ(h5::read_string(f, det + "settings_key"), "gain=0.25pF binning=1x1");
  for (const char* name : {"x_pixel_size", "y_pixel_size", "distance"}) EXPECT_EQ(attr(f, det + name, "units"), "m");
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(f, det + "distance")), std::vector<double>{0.2});
  for (const char* name : {"start_time", "stop_time"}) EXPECT_EQ(attr(f, det + name, "start"), metadata.start_time_iso);
  for (const char* name : {"start_time", "stop_time", "count_time", "start_uncertainty", "stop_uncertainty"})
    EXPECT_EQ(attr(f, det + name, "units"), "s") << name;
  for (const char* name : {"T_start", "T_end", "T_mean", "T_mean_uncertainty", "T_min", "T_max", "setpoint_mid"})
    EXPECT_EQ(attr(f, det + "frame_temperature/" + name, "units"), "K") << name;
  EXPECT_THAT(attr(f, det + "flags", "description"), HasSubstr("0x40 no_temperature"));
  EXPECT_EQ(h5::shape(h5::open_dataset(f, det + "pixel_mask")), (std::vector<hsize_t>{frame_height, frame_width}));
  EXPECT_EQ(h5::shape(h5::open_dataset(f, det + "dark_median")), (std::vector<hsize_t>{frame_height, frame_width}));
  EXPECT_EQ(h5::read_1d<std::uint32_t>(h5::open_dataset(f, det + "pixel_mask")),
            std::vector<std::uint32_t>(frame_height * frame_width, 0));  // not yet known: the fill value
}

// Frames keep the sensor's statistics and gain the sample's beside them; NXsample/temperature and the default
// plot follow the sample. Without a calibration nothing of it is written.
TEST(RunFileFrames, SampleCalibrationWritesSensorAndSampleTemperatures) {
  ScratchDir dir("sample_calibration");
  const recipe::SampleCalibration calibration({{90.0, 91.0}, {100.0, 100.5}, {110.0, 109.0}}, "In/Sn melting");
  auto layout = small_detector();
  layout.sample_calibration = calibration;
  std::vector<detector::ExposureRecord> records;
  auto run = RunFile::create(dir.path() / "run.nxs", test_metadata(), {}, {.detector = layout});
  for (std::size_t k = 0; k < 6; ++k) {  // 94.1 .. 104.1 K: frame 3 straddles the 100 K point
    records.push_back(exposure_at(k));
    records.back().temperature.mean_uncertainty_K = 0.01;
    run->append(records.back(), as_bytes(pixels_at(k)));
  }
  run->finish(80.0, "completed");

  const h5::Handle f = h5::open_file(dir.path() / "run.nxs", h5::Access::read);
  const std::string ft = "/entry/instrument/detector/frame_temperature/";
  const auto column = [&](const std::string& name) { return h5::read_1d<double>(h5::open_dataset(f, ft + name)); };
  const auto sensor_mean = column("T_mean"), sample_mean = column("T_sample_mean");
  const auto sample_uncertainty = column("T_sample_mean_uncertainty");
  const auto sensor_start = column("T_start"), sample_start = column("T_sample_start");
  const auto sensor_end = column("T_end"), sample_end = column("T_sample_end");
  const auto sample_min = column("T_sample_min"), sample_max = column("T_sample_max");
  const auto setpoint = column("setpoint_mid");
  ASSERT_EQ(sample_mean.size(), records.size());
  for (std::size_t k = 0; k < records.size(); ++k) {
    const auto& t = records[k].temperature;
    EXPECT_EQ(sensor_mean[k], t.mean_K) << k;  // the sensor's values as they were
    EXPECT_EQ(sensor_start[k], t.start_K) << k;
    EXPECT_EQ(sensor_end[k], t.end_K) << k;
    EXPECT_EQ(setpoint[k], t.setpoint_mid_K) << k;  // the program is in sensor terms
    EXPECT_EQ(sample_mean[k], calibration.sample_K(t.mean_K)) << k;
    EXPECT_EQ(sample_start[k], calibration.sample_K(t.start_K)) << k;
    EXPECT_EQ(sample_end[k], calibration.sample_K(t.end_K)) << k;
    EXPECT_EQ(sample_min[k], calibration.sample_K(t.min_K)) << k;
    EXPECT_EQ(sample_max[k], calibration.sample_K(t.max_K)) << k;
    EXPECT_EQ(sample_uncertainty[k], calibration.mean_uncertainty_K(t.mean_K, 0.01, t.min_K, t.max_K)) << k;
    EXPECT_NE(sample_mean[k], sensor_mean[k]) << k;
  }
  EXPECT_NEAR(sample_mean[0], 91.0 + 0.95 * 4.1, 1e-12);               // 94.1 K on the 0.95 K/K segment
  // Frame 3 (99.15 .. 101.05 K) holds the 100 K point: the 0.85 K/K slope at its mean, plus the kink's term.
  EXPECT_NEAR(sample_uncertainty[3], 0.01 * 0.85 + (0.95 - 0.85) * 1.9 / 4, 1e-12);
  for (const char* name : {"T_sample_start", "T_sample_end", "T_sample_mean", "T_sample_mean_uncertainty",
                           "T_sample_min", "T_sample_max"})
    EXPECT_EQ(attr(f, ft + name, "units"), "K") << name;
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(f, "/entry/sample/temperature")), sample_mean);
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(f, "/entry/data/temperature")), sample_mean);

  const std::string cal = "/entry/sample/temperature_calibration/";
  EXPECT_EQ(attr(f, "/entry/sample/temperature_calibration", "NX_class"), "NXcollection");
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(f, cal + "sensor")), (std::vector<double>{90.0, 100.0, 110.0}));
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(f, cal + "sample")), (std::vector<double>{91.0, 100.5, 109.0}));
  EXPECT_EQ(attr(f, cal + "sensor", "units"), "K");
  EXPECT_EQ(h5::read_string(f, cal + "source"), "In/Sn melting");

  // No calibration: sensor values only, and NXsample/temperature is the sensor's mean.
  auto plain = RunFile::create(dir.path() / "plain.nxs", test_metadata(), {}, {.detector = small_detector()});
  plain->append(exposure_at(0), as_bytes(pixels_at(0)));
  plain->finish(12.0, "completed");
  const h5::Handle p = h5::open_file(dir.path() / "plain.nxs", h5::Access::read);
  EXPECT_FALSE(h5::exists(p, ft + "T_sample_mean"));
  EXPECT_FALSE(h5::exists(p, "/entry/sample/temperature_calibration"));
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(p, "/entry/sample/temperature")), (std::vector<double>{94.1}));
}

class FrameFilters : public ::testing::TestWithParam<h5::Filter> {};

TEST_P(FrameFilters, FramesAndRecordsRoundTripAndTheFilterIsRecorded) {
  const h5::Filter filter = GetParam();
  ASSERT_TRUE(h5::filter_available(filter)) << h5::filter_name(filter) << ": no HDF5 plugin (Debian's bitshuffle)";
  ScratchDir dir("frames_" + h5::filter_name(filter).substr(0, 3));
  const auto path = dir.path() / "run.nxs";
  auto run = RunFile::create(path, test_metadata(), {}, {.detector = small_detector(filter)});
  EXPECT_EQ(run->frame_filter(), filter);
  for (std::size_t k = 0; k < 6; ++k) {
    auto record = exposure_at(k);
    if (k == 3) {
      record.flags |= detector::exposure_flag::missing;
      record.file_name.clear();
      run->append(record, {});  // no file arrived: a record without pixels
    } else {
      run->append(record, as_bytes(pixels_at(k)));
    }
  }
  run->finish(80.0, "completed");
  EXPECT_EQ(run->error(), std::nullopt);
  EXPECT_EQ(run->stats().frames_committed, 6u);

  const h5::Handle f = h5::open_file(path, h5::Access::read);
  const std::string det = "/entry/instrument/detector/";
  const auto names = h5::read_strings(h5::open_dataset(f, det + "file_name"));
  EXPECT_EQ(names[3], "");
  EXPECT_EQ(names[4], "frame_4.tif");
  const auto data = h5::read_1d<std::uint16_t>(h5::open_dataset(f, det + "data"));
  ASSERT_EQ(data.size(), 6 * frame_height * frame_width);
  for (std::size_t k : {0u, 1u, 2u, 4u, 5u}) {
    const auto expected = pixels_at(k);
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), data.begin() + k * expected.size())) << k;
  }
  EXPECT_TRUE(std::all_of(data.begin() + 3 * frame_height * frame_width, data.begin() + 4 * frame_height * frame_width,
                          [](std::uint16_t v) { return v == 0; }));
  EXPECT_THAT(h5::read_1d<std::uint32_t>(h5::open_dataset(f, det + "flags")),
              ElementsAre(0u, 0u, detector::exposure_flag::late, detector::exposure_flag::missing, 0u,
                          detector::exposure_flag::late));
  EXPECT_THAT(h5::read_1d<std::int32_t>(h5::open_dataset(f, det + "image_key")), ElementsAre(2, 2, 0, 0, 0, 0));
  EXPECT_THAT(h5::read_1d<std::uint64_t>(h5::open_dataset(f, det + "sequence_number")), ElementsAre(0, 1, 2, 3, 4, 5));
  const auto count = h5::read_1d<double>(h5::open_dataset(f, det + "count_time"));
  EXPECT_DOUBLE_EQ(count[5], 11.5);
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(f, det + "stop_uncertainty"))[1], exposure_at(1).stop_uncertainty_s);
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(f, det + "frame_temperature/T_max"))[4],
            exposure_at(4).temperature.max_K);
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(f, det + "frame_temperature/setpoint_mid"))[2],
            exposure_at(2).temperature.setpoint_mid_K);
  EXPECT_EQ(h5::read_1d<double>(h5::open_dataset(f, "/entry/sample/temperature")),
            h5::read_1d<double>(h5::open_dataset(f, det + "frame_temperature/T_mean")));

  EXPECT_EQ(h5::read_string(f, det + "compression"), h5::filter_name(filter));
  // 12-bit pixels in 16-bit words: both filters must really compress (not only shuffle).
  const h5::Handle data_set = h5::open_dataset(f, det + "data");
  EXPECT_LT(H5Dget_storage_size(data_set.get()), 5 * frame_height * frame_width * 2 * 9 / 10);
  const auto ids = filters_of(data_set);
  if (filter == h5::Filter::bitshuffle_lz4)
    EXPECT_THAT(ids, ElementsAre(32008));
  else
    EXPECT_THAT(ids, ElementsAre(H5Z_FILTER_SHUFFLE, H5Z_FILTER_DEFLATE));
}

INSTANTIATE_TEST_SUITE_P(Filters, FrameFilters,
                         ::testing::Values(h5::Filter::bitshuffle_lz4, h5::Filter::shuffle_deflate),
                         [](const auto& p) { return p.param == h5::Filter::bitshuffle_lz4 ? "bitshuffle_lz4"
                                                                                                 : "shuffle_deflate"; });

TEST(RunFileFrames, Uint32FramesRoundTrip) {
  ScratchDir dir("frames_u32");
  const auto path = dir.path() / "run.nxs";
  auto layout = small_detector();
  layout.pixel_type = PixelType::u32;
  auto run = RunFile::create(path, test_metadata(), {}, {.detector = layout});
  std::vector<std::uint32_t> pixels(frame_height * frame_width);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = 70000u + static_cast<std::uint32_t>(i) * 977u;
  std::vector<std::uint8_t> bytes(pixels.size() * 4);
  std::memcpy(bytes.data(), pixels.data(), bytes.size());
  EXPECT_THROW(run->append(exposure_at(0), as_bytes(pixels_at(0))), std::invalid_argument);  // uint16-sized
  run->append(exposure_at(0), bytes);
  run->finish(12.0, "completed");
  const h5::Handle f = h5::open_file(path, h5::Access::read);
  EXPECT_EQ(h5::read_1d<std::uint32_t>(h5::open_dataset(f, "/entry/instrument/detector/data")), pixels);
}

TEST(RunFileFrames, WithFramesOffRecordsAreStoredWithoutData) {
  ScratchDir dir("frames_off");
  const auto path = dir.path() / "run.nxs";
  auto layout = small_detector();
  layout.store_frames = false;
  auto run = RunFile::create(path, test_metadata(), {}, {.detector = layout});
  for (std::size_t k = 0; k < 3; ++k) run->append(exposure_at(k), {});
  EXPECT_THROW(run->append(exposure_at(3), as_bytes(pixels_at(3, 10))), std::invalid_argument);
  run->finish(40.0, "completed");
  EXPECT_EQ(run->stats().frames_committed, 3u);

  const h5::Handle f = h5::open_file(path, h5::Access::read);
  EXPECT_FALSE(h5::exists(f, "/entry/instrument/detector/data"));
  EXPECT_FALSE(h5::exists(f, "/entry/data"));
  EXPECT_EQ(attr(f, "/entry", "default"), "temperature");
  EXPECT_EQ(h5::read_1d<std::int64_t>(h5::open_dataset(f, "/entry/instrument/detector/frames_stored")),
            std::vector<std::int64_t>{0});
  EXPECT_THAT(h5::read_1d<std::uint64_t>(h5::open_dataset(f, "/entry/instrument/detector/sequence_number")),
              ElementsAre(0, 1, 2));
  EXPECT_THAT(h5::read_strings(h5::open_dataset(f, "/entry/instrument/detector/file_name")),
              ElementsAre("frame_0.tif", "frame_1.tif", "frame_2.tif"));
}

TEST(RunFileFrames, PixelMaskAndDarkMedianAreWrittenWhenKnown) {
  ScratchDir dir("mask");
  const auto path = dir.path() / "run.nxs";
  auto run = RunFile::create(path, test_metadata(), {}, {.detector = small_detector()});
  std::vector<std::uint32_t> mask(frame_height * frame_width, 0);
  mask[17] = 2;  // dead
  mask[100] = 8;
  std::vector<float> dark(frame_height * frame_width);
  for (std::size_t i = 0; i < dark.size(); ++i) dark[i] = 100.5f + static_cast<float>(i % 7);
  EXPECT_THROW(run->set_pixel_mask(std::vector<std::uint32_t>(5)), std::invalid_argument);
  run->set_pixel_mask(mask);
  run->set_dark_median(dark);
  run->finish(0.0, "completed");
  EXPECT_EQ(run->error(), std::nullopt);
  const h5::Handle f = h5::open_file(path, h5::Access::read);
  EXPECT_EQ(h5::read_1d<std::uint32_t>(h5::open_dataset(f, "/entry/instrument/detector/pixel_mask")), mask);
  EXPECT_EQ(h5::read_1d<float>(h5::open_dataset(f, "/entry/instrument/detector/dark_median")), dark);
}

TEST(RunFileFrames, RecordsNeedADetectorLayout) {
  ScratchDir dir("no_detector");
  auto run = RunFile::create(dir.path() / "run.nxs", test_metadata());
  EXPECT_EQ(run->frame_filter(), std::nullopt);
  EXPECT_THROW(run->append(exposure_at(0), {}), std::logic_error);
  EXPECT_THROW(run->set_dark_median({}), std::logic_error);
  EXPECT_THROW(run->append_orphan_file("/data/frame-00005-test-shot.tif"), std::logic_error);
  run->finish(0.0, "completed");
}

TEST(RunFileFrames, OrphanFilesAreListedWithTheirWholePaths) {
  ScratchDir dir("orphans");
  const auto path = dir.path() / "run.nxs", none_path = dir.path() / "none.nxs";
  const std::string dataset = "/entry/instrument/detector/orphan_files";
  RunFile::create(none_path, test_metadata(), {}, {.detector = small_detector()})->finish(0.0, "completed");
  {
    const h5::Handle f = h5::open_file(none_path, h5::Access::read);
    EXPECT_EQ(h5::shape(h5::open_dataset(f, dataset)), (std::vector<hsize_t>{0})) << "there, and empty: none found";
    EXPECT_THAT(attr(f, dataset, "description"), HasSubstr("belong to no frame"));
  }

  // Deep folders on the detector computer's share: longer than a frame's file_name column holds.
  const std::string deep = "/mnt/xrd1621/" + std::string(300, 'd') + "/frame-00007-test-shot.tif";
  auto run = RunFile::create(path, test_metadata(), {}, {.detector = small_detector()});
  run->append_orphan_file("/mnt/xrd1621/incoming/frame-00005-test-shot.tif");
  run->append_orphan_file(deep);
  run->finish(0.0, "completed");
  EXPECT_EQ(run->error(), std::nullopt);
  const h5::Handle f = h5::open_file(path, h5::Access::read);
  EXPECT_THAT(h5::read_strings(h5::open_dataset(f, dataset)),
              ElementsAre("/mnt/xrd1621/incoming/frame-00005-test-shot.tif", deep));
}

TEST(RunFileFrames, SwmrReaderSeesWholeFramesUpToTheSequenceNumber) {
  ScratchDir dir("frames_swmr");
  const auto path = dir.path() / "run.nxs";
  auto run = RunFile::create(path, test_metadata(), {}, {.detector = small_detector()});
  for (std::size_t k = 0; k < 2; ++k) run->append(exposure_at(k), as_bytes(pixels_at(k)));
  ASSERT_TRUE(wait_until([&] { return run->stats().frames_committed == 2; }));

  Child reader({STORAGE_PROBE, "frames", path.string(), "5"});
  EXPECT_THAT(reader.read_line(), Optional(std::string("frames 2")));
  for (std::size_t k = 2; k < 5; ++k) {
    run->append(exposure_at(k), as_bytes(pixels_at(k)));
    ASSERT_TRUE(wait_until([&] { return run->stats().frames_committed == k + 1; }));
    // Frames are committed one by one, and the reader sees each (checked pixel by pixel) before the next exists.
    EXPECT_THAT(reader.read_line(), Optional("frames " + std::to_string(k + 1)));
  }
  EXPECT_EQ(reader.wait(), 0);
  run->finish(60.0, "completed");
}

}  // namespace
}  // namespace insitu::storage
