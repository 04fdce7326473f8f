#pragma once
// Detector frame files (research/trigger.md §3): TIFF via libtiff (uint16 single exposures, uint32 sums,
// int32 from Pilatus/ADCore, float32 processed; strips or tiles; either byte order; BigTIFF), ESRF EDF
// (hand-written parser) and QXRD's `<file>.tif.metadata` INI sidecar, plus the writers the detector
// simulator uses. Errors say whether a file is merely not complete yet or is corrupt.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace insitu::detector {

enum class PixelType { uint16, uint32, int32, float32 };
std::string_view to_string(PixelType type);

using PixelData =
    std::variant<std::vector<std::uint16_t>, std::vector<std::uint32_t>, std::vector<std::int32_t>, std::vector<float>>;

// Row-major image; row 0 is the first row in the file (EDF Dim_1 = width is the fast axis).
struct Frame {
  std::size_t height = 0;
  std::size_t width = 0;
  PixelData pixels;
  std::map<std::string, std::string> metadata;  // TIFF text tags or EDF header keys

  PixelType pixel_type() const;
  double at(std::size_t row, std::size_t column) const;
  double sum() const;
};

// Builds a frame, checking that the pixel count matches height * width.
Frame make_frame(std::size_t height, std::size_t width, PixelData pixels);

class FrameFileError : public std::runtime_error {
 public:
  enum class Kind {
    incomplete,   // still being written (short file, directory or data beyond EOF): poll again
    corrupt,      // will never parse
    unsupported,  // a valid file in a layout or pixel type this reader does not take
  };
  FrameFileError(Kind kind, const std::filesystem::path& path, const std::string& why);
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

Frame read_tiff(const std::filesystem::path& path);
// First image block of an EDF file.
Frame read_edf(const std::filesystem::path& path);
// Chooses the reader by the file's magic bytes (II*, MM*, BigTIFF, '{').
Frame read_frame(const std::filesystem::path& path);

// The [metadata] section of a QXRD sidecar; binary @Variant(...) values are skipped.
struct QxrdMetadata {
  std::map<std::string, std::string> entries;

  std::optional<std::string> text(const std::string& key) const;
  // Throws std::invalid_argument naming the key if the value is present but not a number.
  std::optional<double> number(const std::string& key) const;
  std::optional<double> exposure_time_s() const { return number("exposureTime"); }
  std::optional<double> summed_exposures() const { return number("summedExposures"); }
  std::optional<double> image_number() const { return number("imageNumber"); }
  std::optional<double> time_stamp_s() const { return number("timeStamp"); }  // Unix epoch, detector clock
};

// Parses Qt INI text; `source` names the file in error messages ("file:line: why").
QxrdMetadata parse_qxrd_metadata(std::string_view text, std::string_view source);
QxrdMetadata read_qxrd_metadata(const std::filesystem::path& sidecar_path);
// "<dir>/x-00001.tif" -> "<dir>/x-00001.tif.metadata"
std::filesystem::path qxrd_sidecar_path(const std::filesystem::path& tiff_path);

// QXRD-style TIFF written in place: classic little-endian, no compression, one strip written by scanline,
// DocumentName = the full path, DateTime (`yyyy:MM:dd hh:mm:ss`) when given. Any pixel type.
void write_qxrd_tiff(const std::filesystem::path& path, const Frame& frame, const std::string& date_time = {});
// Writes `<tiff>.metadata` ([metadata] section, keys in map order); QXRD does this after closing the TIFF.
void write_qxrd_metadata(const std::filesystem::path& tiff_path, const QxrdMetadata& metadata);
// Single-block EDF, header padded to a multiple of 512 bytes, extra keys from frame.metadata.
void write_edf(const std::filesystem::path& path, const Frame& frame, bool big_endian = false);

}  // namespace insitu::detector
