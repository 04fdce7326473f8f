#include "drivers/detector/frame_files.hpp"

#include <gtest/gtest.h>
#include <tiffio.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace insitu::detector {
namespace {
namespace fs = std::filesystem;

class FrameFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("insitu_frames_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path file(const std::string& name) const { return dir_ / name; }

  fs::path dir_;
};

// A w x h frame whose pixel values are distinct, so transposed or shifted reads show up.
template <class T>
Frame pattern_frame(std::size_t height, std::size_t width, double scale = 1.0) {
  std::vector<T> pixels(height * width);
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    const std::size_t r = i / width, c = i % width;
    pixels[i] = static_cast<T>((1000 + 37 * r + c) * scale);
  }
  return make_frame(height, width, std::move(pixels));
}

void expect_same_pixels(const Frame& a, const Frame& b) {
  ASSERT_EQ(a.height, b.height);
  ASSERT_EQ(a.width, b.width);
  ASSERT_EQ(a.pixel_type(), b.pixel_type());
  EXPECT_TRUE(a.pixels == b.pixels);
}

FrameFileError::Kind error_kind(const fs::path& path, std::string* message = nullptr) {
  try {
    read_frame(path);
  } catch (const FrameFileError& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  ADD_FAILURE() << path << " read without error";
  return FrameFileError::Kind::unsupported;
}

void copy_prefix(const fs::path& from, const fs::path& to, std::size_t bytes) {
  std::ifstream in(from, std::ios::binary);
  std::string data(bytes, '\0');
  in.read(data.data(), static_cast<std::streamsize>(bytes));
  ASSERT_EQ(static_cast<std::size_t>(in.gcount()), bytes);
  std::ofstream(to, std::ios::binary).write(data.data(), static_cast<std::streamsize>(bytes));
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// ---- TIFF written by libtiff in every layout --------------------------------------------------------

enum class Layout { strips, tiles };

struct TiffCase {
  PixelType type;
  Layout layout;
  bool big_endian;
  bool bigtiff;
};

std::string case_name(const TiffCase& c) {
  return std::string(to_string(c.type)) + (c.layout == Layout::tiles ? "_tiles" : "_strips") +
         (c.big_endian ? "_be" : "_le") + (c.bigtiff ? "_bigtiff" : "");
}

template <class T>
void write_with_libtiff(const fs::path& path, const std::vector<T>& pixels, std::uint32_t width,
                        std::uint32_t height, std::uint16_t format, const TiffCase& c) {
  std::string mode = "w";
  mode += c.big_endian ? "b" : "l";
  if (c.bigtiff) mode += "8";
  TIFF* tif = TIFFOpen(path.c_str(), mode.c_str());
  ASSERT_NE(tif, nullptr);
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, width);
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, height);
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, static_cast<std::uint16_t>(8 * sizeof(T)));
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, std::uint16_t{1});
  TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, format);
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
  if (c.layout == Layout::tiles) {
    const std::uint32_t tile = 16;
    TIFFSetField(tif, TIFFTAG_TILEWIDTH, tile);
    TIFFSetField(tif, TIFFTAG_TILELENGTH, tile);
    std::vector<T> buffer(tile * tile);
    for (std::uint32_t y = 0; y < height; y += tile) {
      for (std::uint32_t x = 0; x < width; x += tile) {
        std::fill(buffer.begin(), buffer.end(), T{});
        for (std::uint32_t r = 0; r < tile && y + r < height; ++r) {
          for (std::uint32_t col = 0; col < tile && x + col < width; ++col) {
            buffer[r * tile + col] = pixels[(y + r) * width + x + col];
          }
        }
        ASSERT_GE(TIFFWriteTile(tif, buffer.data(), x, y, 0, 0), 0);
      }
    }
  } else {
    const std::uint32_t rows_per_strip = 3;
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, rows_per_strip);
    for (std::uint32_t s = 0; s * rows_per_strip < height; ++s) {
      const std::uint32_t rows = std::min(rows_per_strip, height - s * rows_per_strip);
      // libtiff byte-swaps the buffer in place for a foreign byte order, so hand it a copy.
      std::vector<T> strip(pixels.begin() + s * rows_per_strip * width,
                           pixels.begin() + (s * rows_per_strip + rows) * width);
      ASSERT_GE(TIFFWriteEncodedStrip(tif, s, strip.data(), static_cast<tmsize_t>(strip.size() * sizeof(T))), 0);
    }
  }
  TIFFClose(tif);
}

class TiffLayouts : public FrameFiles, public ::testing::WithParamInterface<TiffCase> {};

TEST_P(TiffLayouts, RoundTrip) {
  const TiffCase c = GetParam();
  const std::uint32_t width = 37, height = 23;  // not multiples of the tile or strip size
  const fs::path path = file(case_name(c) + ".tif");
  Frame expected;
  switch (c.type) {
    case PixelType::uint16: {
      expected = pattern_frame<std::uint16_t>(height, width);
      write_with_libtiff(path, std::get<0>(expected.pixels), width, height, SAMPLEFORMAT_UINT, c);
      break;
    }
    case PixelType::uint32: {
      expected = pattern_frame<std::uint32_t>(height, width, 70000.0);
      write_with_libtiff(path, std::get<1>(expected.pixels), width, height, SAMPLEFORMAT_UINT, c);
      break;
    }
    case PixelType::int32: {
      expected = pattern_frame<std::int32_t>(height, width, -3.0);
      write_with_libtiff(path, std::get<2>(expected.pixels), width, height, SAMPLEFORMAT_INT, c);
      break;
    }
    case PixelType::float32: {
      expected = pattern_frame<float>(height, width, 0.25);
      write_with_libtiff(path, std::get<3>(expected.pixels), width, height, SAMPLEFORMAT_IEEEFP, c);
      break;
    }
  }
  if (HasFatalFailure()) return;
  const std::string head = slurp(path).substr(0, 4);
  EXPECT_EQ(head.substr(0, 2), c.big_endian ? "MM" : "II");
  EXPECT_EQ(static_cast<int>(head[c.big_endian ? 3 : 2]), c.bigtiff ? 43 : 42);
  expect_same_pixels(read_frame(path), expected);
}

std::vector<TiffCase> all_tiff_cases() {
  std::vector<TiffCase> cases;
  for (const PixelType type : {PixelType::uint16, PixelType::uint32, PixelType::int32, PixelType::float32}) {
    for (const Layout layout : {Layout::strips, Layout::tiles}) {
      for (const bool big_endian : {false, true}) {
        for (const bool bigtiff : {false, true}) cases.push_back({type, layout, big_endian, bigtiff});
      }
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllPixelTypesAndLayouts, TiffLayouts, ::testing::ValuesIn(all_tiff_cases()),
                         [](const auto& param_info) { return case_name(param_info.param); });

// ---- QXRD writer --------------------------------------------------------------------------------------

TEST_F(FrameFiles, QxrdTiffRoundTripWithTags) {
  const Frame u16 = pattern_frame<std::uint16_t>(16, 24);
  const Frame u32 = pattern_frame<std::uint32_t>(16, 24, 100000.0);
  const Frame f32 = pattern_frame<float>(16, 24, 0.5);
  for (const Frame* frame : {&u16, &u32, &f32}) {
    const fs::path path = file(std::string("scan-") + std::string(to_string(frame->pixel_type())) + ".tif");
    write_qxrd_tiff(path, *frame, "2026:11:24 18:00:12");
    const Frame back = read_tiff(path);
    expect_same_pixels(back, *frame);
    EXPECT_EQ(back.metadata.at("DocumentName"), path.string());
    EXPECT_EQ(back.metadata.at("DateTime"), "2026:11:24 18:00:12");
    EXPECT_EQ(slurp(path).substr(0, 4), std::string("II*\0", 4));
  }
}

TEST_F(FrameFiles, ReadsSignedPilatusTiffWrittenByFabio) {
  // A Pilatus frame is int32 with module gaps at -1 and dead pixels at -2; fabio writes such a TIFF as an
  // independent writer would, with its own tag layout.
  const fs::path path = file("pilatus.tif");
  const std::string command = "/usr/bin/python3 -c 'import sys, numpy, fabio\n"
                              "r, c = numpy.indices((43, 31))\nd = (1000 + 37 * r + c).astype(numpy.int32)\n"
                              "d[17:20, :] = -1\nd[5, 7] = -2\nfabio.tifimage.TifImage(data=d).write(sys.argv[1])' '" +
                              path.string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << "needs python3-fabio: " << command;
  const Frame frame = read_tiff(path);
  EXPECT_EQ(frame.pixel_type(), PixelType::int32);
  ASSERT_EQ(frame.height, 43u);
  ASSERT_EQ(frame.width, 31u);
  for (std::size_t r = 0; r < frame.height; ++r)
    for (std::size_t c = 0; c < frame.width; ++c) {
      const double expected = r >= 17 && r < 20 ? -1.0 : (r == 5 && c == 7 ? -2.0 : 1000.0 + 37.0 * r + c);
      ASSERT_EQ(frame.at(r, c), expected) << r << "," << c;
    }
}

// ---- Truncated and corrupt TIFF ------------------------------------------------------------------------

// A hand-made classic TIFF whose directory precedes the pixel data (as a sequential copy delivers it):
// 2 x 2 uint16 at byte 200.
std::string tiny_tiff(std::uint16_t compression = 1) {
  std::string b(208, '\0');
  auto put16 = [&](std::size_t at, std::uint16_t v) { std::memcpy(&b[at], &v, 2); };
  auto put32 = [&](std::size_t at, std::uint32_t v) { std::memcpy(&b[at], &v, 4); };
  b[0] = 'I';
  b[1] = 'I';
  put16(2, 42);
  put32(4, 8);
  const std::uint16_t entries[][3] = {{256, 3, 2}, {257, 3, 2}, {258, 3, 16}, {259, 3, compression},
                                      {262, 3, 1}, {273, 4, 200}, {278, 3, 2}, {279, 4, 8}};
  put16(8, 8);
  std::size_t at = 10;
  for (const auto& e : entries) {
    put16(at, e[0]);
    put16(at + 2, e[1]);
    put32(at + 4, 1);
    if (e[1] == 3) put16(at + 8, e[2]); else put32(at + 8, e[2]);
    at += 12;
  }
  put32(at, 0);  // no further directory
  for (std::uint16_t i = 0; i < 4; ++i) put16(200 + 2 * i, static_cast<std::uint16_t>(10 + i));
  return b;
}

TEST_F(FrameFiles, HandMadeTiffReadsAndTruncationIsIncomplete) {
  const fs::path whole = file("tiny.tif");
  std::ofstream(whole, std::ios::binary) << tiny_tiff();
  const Frame frame = read_tiff(whole);
  EXPECT_EQ(frame.at(0, 0), 10.0);
  EXPECT_EQ(frame.at(1, 1), 13.0);

  const fs::path cut = file("tiny-cut.tif");
  copy_prefix(whole, cut, 204);
  std::string message;
  EXPECT_EQ(error_kind(cut, &message), FrameFileError::Kind::incomplete);
  EXPECT_NE(message.find("not complete yet: strip 0 ends at byte 208 but the file has 204 bytes"),
            std::string::npos) << message;
}

TEST_F(FrameFiles, TruncatedQxrdTiffIsIncompleteAtEveryLength) {
  // Every prefix of a file written in place, as a poller may see it mid-write.
  const fs::path whole = file("scan-00001.tif");
  write_qxrd_tiff(whole, pattern_frame<std::uint16_t>(8, 8), "2026:11:24 18:00:12");
  const auto size = static_cast<std::size_t>(fs::file_size(whole));
  const fs::path cut = file("cut.tif");
  fs::copy_file(whole, cut);
  for (std::size_t bytes = size; bytes-- > 0;) {
    fs::resize_file(cut, bytes);
    std::string message;
    ASSERT_EQ(error_kind(cut, &message), FrameFileError::Kind::incomplete) << bytes << " bytes: " << message;
    ASSERT_NE(message.find(cut.string()), std::string::npos);
  }
  // A file that vanished between listing and reading counts as not there yet.
  EXPECT_EQ(error_kind(file("absent.tif")), FrameFileError::Kind::incomplete);
}

TEST_F(FrameFiles, CorruptAndUnsupportedTiff) {
  std::string message;
  const fs::path not_tiff = file("junk.tif");
  std::ofstream(not_tiff, std::ios::binary) << "GIF89a not a tiff at all";
  EXPECT_EQ(error_kind(not_tiff, &message), FrameFileError::Kind::corrupt);
  EXPECT_NE(message.find("byte 0"), std::string::npos) << message;

  const fs::path bad_version = file("version.tif");
  std::string v = tiny_tiff();
  v[2] = 44;
  std::ofstream(bad_version, std::ios::binary) << v;
  EXPECT_EQ(error_kind(bad_version, &message), FrameFileError::Kind::corrupt);
  EXPECT_NE(message.find("TIFF version 44"), std::string::npos) << message;

  // LZW-coded strip holding bytes that are not LZW: libtiff's decoder error is reported as corrupt.
  const fs::path bad_data = file("lzw.tif");
  std::string lzw = tiny_tiff(5);
  for (std::size_t i = 200; i < 208; ++i) lzw[i] = static_cast<char>(0xff);
  std::ofstream(bad_data, std::ios::binary) << lzw;
  EXPECT_EQ(error_kind(bad_data, &message), FrameFileError::Kind::corrupt);
  EXPECT_NE(message.find("strip 0"), std::string::npos) << message;

  const fs::path rgb = file("rgb.tif");
  TIFF* tif = TIFFOpen(rgb.c_str(), "w");
  ASSERT_NE(tif, nullptr);
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, 2u);
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, 1u);
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, std::uint16_t{8});
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, std::uint16_t{3});
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
  unsigned char row[6] = {1, 2, 3, 4, 5, 6};
  TIFFWriteScanline(tif, row, 0, 0);
  TIFFClose(tif);
  EXPECT_EQ(error_kind(rgb, &message), FrameFileError::Kind::unsupported);
  EXPECT_NE(message.find("3 samples per pixel"), std::string::npos) << message;

  // A 16 x 16 image in one tile that claims 32768 x 32768 pixels (4 GiB as float32, found by fuzz_frame_file).
  const fs::path huge_tile = file("huge-tile.tif");
  tif = TIFFOpen(huge_tile.c_str(), "w");
  ASSERT_NE(tif, nullptr);
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, 16u);
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, 16u);
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, std::uint16_t{32});
  TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, std::uint16_t{SAMPLEFORMAT_IEEEFP});
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField(tif, TIFFTAG_TILEWIDTH, 32768u);
  TIFFSetField(tif, TIFFTAG_TILELENGTH, 32768u);
  unsigned char raw[16] = {};
  TIFFWriteRawTile(tif, 0, raw, sizeof raw);
  TIFFClose(tif);
  EXPECT_EQ(error_kind(huge_tile, &message), FrameFileError::Kind::unsupported);
  EXPECT_NE(message.find("tiles of 32768x32768 pixels"), std::string::npos) << message;
}

// ---- EDF ----------------------------------------------------------------------------------------------

TEST_F(FrameFiles, EdfRoundTripAllTypesBothByteOrders) {
  const Frame frames[] = {pattern_frame<std::uint16_t>(5, 7), pattern_frame<std::uint32_t>(5, 7, 90000.0),
                          pattern_frame<std::int32_t>(5, 7, -2.0), pattern_frame<float>(5, 7, 0.125)};
  for (const Frame& frame : frames) {
    for (const bool big_endian : {false, true}) {
      Frame with_key = frame;
      with_key.metadata["count_time"] = "12.0";
      const fs::path path = file(std::string(to_string(frame.pixel_type())) + (big_endian ? "_be" : "_le") + ".edf");
      write_edf(path, with_key, big_endian);
      const std::string bytes = slurp(path);
      const std::size_t header_end = bytes.find("}\n") + 2;
      EXPECT_EQ(header_end % 512, 0u);
      EXPECT_EQ(bytes.size() - header_end, frame.height * frame.width * (frame.pixel_type() == PixelType::uint16 ? 2 : 4));
      const Frame back = read_frame(path);
      expect_same_pixels(back, frame);
      EXPECT_EQ(back.metadata.at("count_time"), "12.0");
      EXPECT_EQ(back.metadata.at("ByteOrder"), big_endian ? "HighByteFirst" : "LowByteFirst");
    }
  }
}

TEST_F(FrameFiles, EdfHeaderKeysAreCaseInsensitiveAndDataTypeAliasesWork) {
  std::string header = "{\nheaderid = EH:000001:000000:000000 ;\nBYTEORDER = LowByteFirst ;\n"
                       "datatype = Unsigned16 ;\ndim_1 = 2 ;\nDIM_2 = 1 ;\nsize = 4 ;\n";
  header.append(510 - header.size(), ' ');
  header += "}\n";
  const std::uint16_t data[] = {7, 9};
  const fs::path path = file("aliases.edf");
  std::ofstream out(path, std::ios::binary);
  out << header;
  out.write(reinterpret_cast<const char*>(data), sizeof data);
  out.close();
  const Frame frame = read_edf(path);
  EXPECT_EQ(frame.pixel_type(), PixelType::uint16);
  EXPECT_EQ(frame.width, 2u);
  EXPECT_EQ(frame.at(0, 1), 9.0);
}

TEST_F(FrameFiles, EdfTruncatedIsIncompleteBadHeaderIsCorrupt) {
  const fs::path whole = file("whole.edf");
  write_edf(whole, pattern_frame<std::uint16_t>(8, 8));
  const auto size = static_cast<std::size_t>(fs::file_size(whole));
  const fs::path cut = file("cut.edf");
  fs::copy_file(whole, cut);
  for (std::size_t bytes = size; bytes-- > 0;) {
    fs::resize_file(cut, bytes);
    std::string message;
    ASSERT_EQ(error_kind(cut, &message), FrameFileError::Kind::incomplete) << bytes << ": " << message;
  }

  auto write_header = [&](const std::string& name, const std::string& body) {
    const fs::path path = file(name);
    std::string header = "{\n" + body;
    header.append(510 - header.size(), ' ');
    std::ofstream(path, std::ios::binary) << header << "}\n" << std::string(64, '\0');
    return path;
  };
  std::string message;
  EXPECT_EQ(error_kind(write_header("nodim.edf", "DataType = UnsignedShort ;\nDim_2 = 2 ;\n"), &message),
            FrameFileError::Kind::corrupt);
  EXPECT_NE(message.find("header lacks Dim_1"), std::string::npos) << message;
  EXPECT_EQ(error_kind(write_header("size.edf", "DataType = UnsignedShort ;\nDim_1 = 2 ;\nDim_2 = 2 ;\nSize = 9 ;\n"),
                       &message),
            FrameFileError::Kind::corrupt);
  EXPECT_NE(message.find("header line 5: Size = 9 but Dim_1 x Dim_2 x 2 bytes = 8"), std::string::npos) << message;
  EXPECT_EQ(error_kind(write_header("garbled.edf", "DataType = UnsignedShort ;\nthis is not a pair ;\n"), &message),
            FrameFileError::Kind::corrupt);
  EXPECT_NE(message.find("header line 3"), std::string::npos) << message;
  EXPECT_EQ(error_kind(write_header("neg.edf", "DataType = UnsignedShort ;\nDim_1 = -2 ;\nDim_2 = 2 ;\n"), &message),
            FrameFileError::Kind::corrupt);
  // A side of 0 pixels (a SIGFPE downstream once) is corrupt too, said in one line with the header line.
  for (const auto& [name, body, said] :
       {std::tuple{"zero1.edf", "DataType = UnsignedShort ;\nDim_1 = 0 ;\nDim_2 = 2 ;\n", "line 3: Dim_1 = 0"},
        std::tuple{"zero2.edf", "DataType = UnsignedShort ;\nDim_1 = 2 ;\nDim_2 = 0 ;\n", "line 4: Dim_2 = 0"}}) {
    EXPECT_EQ(error_kind(write_header(name, body), &message), FrameFileError::Kind::corrupt) << name;
    EXPECT_NE(message.find(said), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  EXPECT_EQ(error_kind(write_header("zip.edf", "DataType = UnsignedShort ;\nDim_1 = 2 ;\nDim_2 = 2 ;\n"
                                               "Compression = GzipCompression ;\n"),
                       &message),
            FrameFileError::Kind::unsupported);
  EXPECT_EQ(error_kind(write_header("double.edf", "DataType = DoubleValue ;\nDim_1 = 2 ;\nDim_2 = 2 ;\n"), &message),
            FrameFileError::Kind::unsupported);
  EXPECT_NE(message.find("DataType = DoubleValue"), std::string::npos) << message;
}

// ---- QXRD sidecar -------------------------------------------------------------------------------------

constexpr const char* qxrd_sidecar_text =
    "[metadata]\n"
    "width=2048\n"
    "height=2048\n"
    "dataTypeName=Raw Data\n"
    "exposureTime=1\n"
    "summedExposures=5\n"
    "imageNumber=1\n"
    "dateString=\"2014.07.01 : 15:26:10.599\"\n"
    "timeStamp=1404246370.599\n"
    "userComment1=\"say \\\"hi\\\", twice\"\n"
    "userData=@Variant(\\0\\0\\0\\x7f\\0\\0\\0)\n"
    "\n"
    "[integrator]\n"
    "exposureTime=999\n";

TEST(QxrdMetadata, ParsesMetadataSectionOnly) {
  const QxrdMetadata m = parse_qxrd_metadata(qxrd_sidecar_text, "x.tif.metadata");
  EXPECT_EQ(m.exposure_time_s(), 1.0);
  EXPECT_EQ(m.summed_exposures(), 5.0);
  EXPECT_EQ(m.image_number(), 1.0);
  EXPECT_DOUBLE_EQ(*m.time_stamp_s(), 1404246370.599);
  EXPECT_EQ(m.text("dateString"), "2014.07.01 : 15:26:10.599");
  EXPECT_EQ(m.text("dataTypeName"), "Raw Data");
  EXPECT_EQ(m.text("userComment1"), "say \"hi\", twice");
  EXPECT_FALSE(m.text("userData").has_value());
  EXPECT_THROW(m.number("dataTypeName"), std::invalid_argument);
}

TEST(QxrdMetadata, MalformedLineNamesFileAndLine) {
  try {
    parse_qxrd_metadata("[metadata]\nwidth=2\nno equals here\n", "scan-00003.tif.metadata");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("scan-00003.tif.metadata:3: expected key=value"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(parse_qxrd_metadata("[metadata\n", "f"), std::invalid_argument);
}

TEST_F(FrameFiles, QxrdSidecarRoundTrip) {
  const fs::path tiff = file("scan-00004.tif");
  QxrdMetadata m;
  m.entries = {{"exposureTime", "4"}, {"summedExposures", "3"}, {"timeStamp", "1790000000.125"},
               {"title", "ramp, 10 K/min"}, {"fileName", tiff.string()}};
  write_qxrd_metadata(tiff, m);
  EXPECT_EQ(qxrd_sidecar_path(tiff), file("scan-00004.tif.metadata"));
  const QxrdMetadata back = read_qxrd_metadata(qxrd_sidecar_path(tiff));
  EXPECT_EQ(back.entries, m.entries);
}

// ---- Cross-check with python3-fabio -------------------------------------------------------------------

TEST_F(FrameFiles, FabioReadsOurFilesIdentically) {
  struct Written {
    fs::path path;
    Frame frame;
  };
  std::vector<Written> written;
  written.push_back({file("qxrd-u16.tif"), pattern_frame<std::uint16_t>(21, 33)});
  written.push_back({file("qxrd-u32.tif"), pattern_frame<std::uint32_t>(21, 33, 80000.0)});
  written.push_back({file("qxrd-f32.tif"), pattern_frame<float>(21, 33, 0.75)});
  for (const auto& w : written) write_qxrd_tiff(w.path, w.frame);
  written.push_back({file("le-u32.edf"), pattern_frame<std::uint32_t>(9, 11, 70000.0)});
  write_edf(written.back().path, written.back().frame, false);
  written.push_back({file("be-u16.edf"), pattern_frame<std::uint16_t>(9, 11)});
  write_edf(written.back().path, written.back().frame, true);
  written.push_back({file("be-f32.edf"), pattern_frame<float>(9, 11, 0.5)});
  write_edf(written.back().path, written.back().frame, true);

  // fabio logs a warning for QXRD's omitted RowsPerStrip (it reads the single strip all the same).
  std::string command = "/usr/bin/python3 -c 'import sys, logging, fabio\n"
                        "logging.getLogger(\"fabio\").setLevel(logging.ERROR)\nfor p in sys.argv[1:]:\n"
                        "    d = fabio.open(p).data\n"
                        "    print(d.shape[0], d.shape[1], repr(float(d.astype(\"float64\").sum())), d[1, 2])'";
  for (const auto& w : written) command += " '" + w.path.string() + "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  ASSERT_EQ(::pclose(pipe), 0) << "needs python3-fabio\n" << output;

  std::istringstream lines(output);
  for (const auto& w : written) {
    std::size_t rows = 0, cols = 0;
    double sum = 0.0, pixel = 0.0;
    ASSERT_TRUE(lines >> rows >> cols >> sum >> pixel) << w.path << "\n" << output;
    EXPECT_EQ(rows, w.frame.height) << w.path;
    EXPECT_EQ(cols, w.frame.width) << w.path;
    EXPECT_DOUBLE_EQ(sum, w.frame.sum()) << w.path;
    EXPECT_DOUBLE_EQ(pixel, w.frame.at(1, 2)) << w.path;
  }
}

TEST(Frame, MakeFrameChecksPixelCount) {
  EXPECT_THROW(make_frame(2, 3, std::vector<float>(5)), std::invalid_argument);
  const Frame f = make_frame(2, 3, std::vector<std::uint16_t>{1, 2, 3, 4, 5, 6});
  EXPECT_EQ(f.sum(), 21.0);
  EXPECT_EQ(f.at(1, 0), 4.0);
  EXPECT_THROW(f.at(2, 0), std::out_of_range);
}

}  // namespace
}  // namespace insitu::detector
