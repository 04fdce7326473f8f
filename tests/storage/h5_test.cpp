#include "daemon/storage/h5.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>

#include "tests/storage/records.hpp"

namespace insitu::storage::h5 {
namespace {

using ::testing::HasSubstr;
using insitu::storage::testing::ScratchDir;

TEST(H5, ErrorsNameTheOperationAndCarryTheHdf5Stack) {
  ScratchDir dir("h5_error");
  const auto missing = dir.path() / "missing.h5";
  try {
    open_file(missing, Access::read);
    FAIL() << "opening a missing file must throw";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("H5Fopen " + missing.string()));
    EXPECT_THAT(e.what(), HasSubstr("unable to open file"));  // text from the HDF5 error stack
  }
  Handle file = create_file(dir.path() / "f.h5");
  EXPECT_THROW(create_file(dir.path() / "f.h5"), Error);  // never overwrites
  EXPECT_THROW(open_group(file, "nope"), Error);
  EXPECT_THROW(create_extendable(file, "bad", {.type = dtype_of<double>(), .tail_shape = {}, .chunk_rows = 0}), Error);
}

TEST(H5, HandleIsMoveOnlyAndClosesOnce) {
  ScratchDir dir("h5_handle");
  Handle file = create_file(dir.path() / "f.h5");
  Handle group = create_group(file, "g", "NXcollection");
  const hid_t id = group.get();
  Handle moved = std::move(group);
  EXPECT_FALSE(group);
  EXPECT_EQ(moved.get(), id);
  EXPECT_GT(H5Iis_valid(id), 0);
  moved.close();
  EXPECT_FALSE(moved);
  EXPECT_LE(H5Iis_valid(id), 0);
  moved.close();  // closing an empty handle is a no-op
}

TEST(H5, AttributesScalarsAndStringsRoundTrip) {
  ScratchDir dir("h5_attr");
  const auto path = dir.path() / "f.h5";
  {
    Handle file = create_file(path);
    Handle group = create_group(file, "entry", "NXentry");
    set_attribute(group, "default", "data");
    set_attribute(group, "rate_K_per_min", 10.0);
    set_attribute(group, "count", std::int64_t{42});
    set_attribute(group, "empty", "");
    set_attribute(group, "default", "replaced");  // attributes are replaced, not duplicated
    write_string(group, "title", "Ce\xE2\x82\x82O ramp");  // UTF-8
    write_scalar(group, "duration", 7200.5, "s");
    write_scalar(group, "frames", std::int64_t{600});
  }
  Handle file = open_file(path, Access::read);
  Handle group = open_group(file, "entry");
  EXPECT_EQ(read_string_attribute(group, "NX_class"), "NXentry");
  EXPECT_EQ(read_string_attribute(group, "default"), "replaced");
  EXPECT_EQ(read_string_attribute(group, "empty"), "");
  EXPECT_DOUBLE_EQ(read_double_attribute(group, "rate_K_per_min"), 10.0);
  EXPECT_DOUBLE_EQ(read_double_attribute(group, "count"), 42.0);
  EXPECT_EQ(read_string(group, "title"), "Ce\xE2\x82\x82O ramp");
  Handle duration = open_dataset(group, "duration");
  EXPECT_EQ(read_1d<double>(duration), std::vector<double>{7200.5});
  EXPECT_EQ(read_string_attribute(duration, "units"), "s");
  EXPECT_FALSE(has_attribute(open_dataset(group, "frames"), "units"));
  EXPECT_EQ(read_1d<std::int64_t>(open_dataset(group, "frames")), std::vector<std::int64_t>{600});
  EXPECT_TRUE(exists(file, "/entry/title"));
  EXPECT_FALSE(exists(file, "/entry/nothing/deeper"));
}

TEST(H5, ExtendableOneDimensionalDatasetsAppendInOrder) {
  ScratchDir dir("h5_1d");
  const auto path = dir.path() / "f.h5";
  {
    Handle file = create_file(path);
    Handle d = create_extendable(file, "d", {.type = dtype_of<double>(), .tail_shape = {}, .chunk_rows = 4});
    Handle u = create_extendable(file, "u", {.type = dtype_of<std::uint8_t>(), .tail_shape = {}, .chunk_rows = 4});
    Handle i = create_extendable(file, "i", {.type = dtype_of<std::int64_t>(), .tail_shape = {}, .chunk_rows = 4});
    const std::array<double, 3> d1{1.5, 2.5, 3.5};
    const std::array<double, 4> d2{4.5, 5.5, 6.5, 7.5};
    append<double>(d, d1);
    append<double>(d, d2);  // crosses a chunk boundary
    append<std::uint8_t>(u, std::array<std::uint8_t, 2>{0x81, 0xff});
    append<std::int64_t>(i, std::array<std::int64_t, 1>{-5'000'000'000});
    EXPECT_EQ(rows(d), 7u);
    soft_link(file, "/d", "link_to_d");
    flush(d);
    sync_to_disk(file);
  }
  Handle file = open_file(path, Access::read);
  EXPECT_EQ(read_1d<double>(open_dataset(file, "d")), (std::vector<double>{1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5}));
  EXPECT_EQ(read_1d<double>(open_dataset(file, "link_to_d")).size(), 7u);
  EXPECT_EQ(read_1d<std::uint8_t>(open_dataset(file, "u")), (std::vector<std::uint8_t>{0x81, 0xff}));
  EXPECT_EQ(read_1d<std::int64_t>(open_dataset(file, "i")), (std::vector<std::int64_t>{-5'000'000'000}));
}

TEST(H5, FixedStringsAreCutAtAUtf8Boundary) {
  ScratchDir dir("h5_str");
  Handle file = create_file(dir.path() / "f.h5");
  Handle s = create_extendable(file, "s", {.type = Dtype::fixed_string(4), .tail_shape = {}, .chunk_rows = 8});
  // "aé€": 'a' (1 byte) + 'é' (2) + '€' (3): 4 bytes would split the euro sign.
  const std::vector<std::string> values{"ok", "abcd", "abcdef", "a\xC3\xA9\xE2\x82\xAC", ""};
  append_strings(s, values);
  EXPECT_EQ(read_strings(s), (std::vector<std::string>{"ok", "abcd", "abcd", "a\xC3\xA9", ""}));
  Handle d = create_extendable(file, "d", {.type = dtype_of<double>(), .tail_shape = {}});
  EXPECT_THROW(append_strings(d, values), Error);
}

void expect_frames_round_trip(Filter filter, const std::string& name) {
  ScratchDir dir("h5_nd_" + name);
  const auto path = dir.path() / "f.h5";
  constexpr hsize_t height = 16, width = 24;
  std::vector<std::uint16_t> frames(3 * height * width);
  for (std::size_t k = 0; k < frames.size(); ++k) frames[k] = static_cast<std::uint16_t>((k * 2654435761u) >> 20);
  {
    Handle file = create_file(path);
    Handle d = create_extendable(
        file, "frames", {.type = dtype_of<std::uint16_t>(), .tail_shape = {height, width}, .chunk_rows = 1, .filter = filter});
    append<std::uint16_t>(d, std::span(frames).first(height * width), 1);
    append<std::uint16_t>(d, std::span(frames).subspan(height * width), 2);
    EXPECT_EQ(rows(d), 3u);
  }
  Handle file = open_file(path, Access::read);
  Handle d = open_dataset(file, "frames");
  EXPECT_EQ(read_1d<std::uint16_t>(d), frames);
  Handle dcpl(H5Dget_create_plist(d.get()));
  EXPECT_EQ(H5Pget_nfilters(dcpl.get()), filter == Filter::none ? 0 : filter == Filter::shuffle_deflate ? 2 : 1);
}

TEST(H5, ExtendableFramesWithFixedTailShape) { expect_frames_round_trip(Filter::none, "plain"); }

TEST(H5, ShuffleDeflateFramesRoundTrip) {
  ASSERT_TRUE(filter_available(Filter::shuffle_deflate));
  expect_frames_round_trip(Filter::shuffle_deflate, "deflate");
}

TEST(H5, BitshuffleLz4FramesRoundTrip) {
  ASSERT_TRUE(filter_available(Filter::bitshuffle_lz4)) << "no HDF5 plugin 32008: install Debian's bitshuffle";
  expect_frames_round_trip(Filter::bitshuffle_lz4, "bitshuffle");
}

}  // namespace
}  // namespace insitu::storage::h5
