#include "drivers/detector/frame_files.hpp"

#include <tiffio.h>

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <type_traits>

namespace insitu::detector {
namespace fs = std::filesystem;
namespace {

using Kind = FrameFileError::Kind;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A frame side of 0 pixels leaves nothing to analyse (and divides by zero downstream); one past 2^16 is no detector's
// and would overflow width x height x bytes.
constexpr std::size_t kMaxFrameSide = std::size_t{1} << 16;
// 8192 x 8192, several times the largest area detector's: a (compressed) TIFF of a few bytes may claim 65535 x 65535
// pixels, which would be allocated before its strips are decoded.
constexpr std::uint64_t kMaxFramePixels = std::uint64_t{1} << 26;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::uintmax_t size_of(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  // A file that is not there yet is the extreme case of "not complete yet".
  if (ec) throw FrameFileError(Kind::incomplete, path, "cannot stat: " + ec.message());
  return size;
}

std::string read_bytes(const fs::path& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FrameFileError(Kind::incomplete, path, "cannot open for reading");
  std::string bytes(max_bytes, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(max_bytes));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  return bytes;
}

template <class T>
T byte_swapped(T value) {
  static_assert(std::is_trivially_copyable_v<T>);
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  std::reverse(std::begin(bytes), std::end(bytes));
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

// ---- TIFF ---------------------------------------------------------------------------------------------

int capture_tiff_error(TIFF*, void* user, const char* module, const char* format, va_list args) {
  char text[512];
  std::vsnprintf(text, sizeof text, format, args);
  auto& message = *static_cast<std::string*>(user);
  message = module ? fmt::format("{}: {}", module, text) : std::string(text);
  return 1;  // handled: keep libtiff from printing to stderr
}

int ignore_tiff_warning(TIFF*, void*, const char*, const char*, va_list) {
  return 1;  // private tags (ADCore 65000+) warn; they are harmless
}

struct TiffCloser {
  void operator()(TIFF* tif) const { TIFFClose(tif); }
};
using TiffHandle = std::unique_ptr<TIFF, TiffCloser>;

TiffHandle open_tiff(const fs::path& path, const char* mode, std::string& error) {
  TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetErrorHandlerExtR(options, capture_tiff_error, &error);
  TIFFOpenOptionsSetWarningHandlerExtR(options, ignore_tiff_warning, nullptr);
  TiffHandle tif(TIFFOpenExt(path.c_str(), mode, options));
  TIFFOpenOptionsFree(options);
  return tif;
}

std::uint64_t read_uint(const std::string& bytes, std::size_t offset, std::size_t width, bool big_endian) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    const auto byte = static_cast<unsigned char>(bytes[offset + (big_endian ? i : width - 1 - i)]);
    value = (value << 8) | byte;
  }
  return value;
}

std::size_t tiff_type_size(std::uint64_t type) {
  switch (type) {
    case 3: case 8: return 2;                       // SHORT, SSHORT
    case 4: case 9: case 11: case 13: return 4;     // LONG, SLONG, FLOAT, IFD
    case 5: case 10: case 12: case 16: case 17: case 18: return 8;  // RATIONALs, DOUBLE, LONG8, SLONG8, IFD8
    default: return 1;                              // BYTE, ASCII, SBYTE, UNDEFINED, unknown
  }
}

// libtiff writes the directory last and tolerates a directory cut short, so check that the first
// directory and every value it points to lie inside the file: anything beyond EOF is still being written.
void check_tiff_directory(const fs::path& path, std::uintmax_t size, std::uint64_t ifd_offset, bool bigtiff,
                          bool big_endian) {
  auto beyond = [&](std::uint64_t end, const std::string& what) {
    throw FrameFileError(Kind::incomplete, path,
                         fmt::format("{} ends at byte {} but the file has {} bytes", what, end, size));
  };
  const std::size_t count_bytes = bigtiff ? 8 : 2;
  const std::size_t entry_bytes = bigtiff ? 20 : 12;
  const std::size_t inline_bytes = bigtiff ? 8 : 4;
  if (ifd_offset + count_bytes > size) beyond(ifd_offset + count_bytes, "image directory");
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(ifd_offset));
  std::string count_field(count_bytes, '\0');
  in.read(count_field.data(), static_cast<std::streamsize>(count_bytes));
  const std::uint64_t entries = read_uint(count_field, 0, count_bytes, big_endian);
  const std::uint64_t directory_end = ifd_offset + count_bytes + entries * entry_bytes + inline_bytes;
  if (entries == 0 || entries > 4096) {
    throw FrameFileError(Kind::corrupt, path, fmt::format("byte {}: directory claims {} entries", ifd_offset, entries));
  }
  if (directory_end > size) beyond(directory_end, "image directory");
  std::string table(static_cast<std::size_t>(entries * entry_bytes), '\0');
  in.read(table.data(), static_cast<std::streamsize>(table.size()));
  for (std::uint64_t i = 0; i < entries; ++i) {
    const std::size_t at = static_cast<std::size_t>(i * entry_bytes);
    const std::uint64_t type = read_uint(table, at + 2, 2, big_endian);
    const std::uint64_t count = read_uint(table, at + 4, bigtiff ? 8 : 4, big_endian);
    const std::uint64_t bytes = count * tiff_type_size(type);
    if (bytes <= inline_bytes) continue;
    const std::uint64_t value_offset = read_uint(table, at + (bigtiff ? 12 : 8), inline_bytes, big_endian);
    if (value_offset + bytes > size) {
      beyond(value_offset + bytes, fmt::format("value of tag {}", read_uint(table, at, 2, big_endian)));
    }
  }
}

// Checks the header and first directory offset by hand, so a file caught mid-write is reported as
// incomplete rather than as a libtiff error.
void check_tiff_header(const fs::path& path, std::uintmax_t size) {
  const std::string head = read_bytes(path, 16);
  const bool little = head.starts_with("II");
  const bool big = head.starts_with("MM");
  if (head.size() < 2) throw FrameFileError(Kind::incomplete, path, fmt::format("only {} bytes", head.size()));
  if (!little && !big) throw FrameFileError(Kind::corrupt, path, "byte 0: no TIFF byte-order mark (II or MM)");
  if (head.size() < 8) throw FrameFileError(Kind::incomplete, path, fmt::format("only {} bytes", head.size()));
  const auto version = read_uint(head, 2, 2, big);
  std::uint64_t ifd_offset = 0;
  if (version == 42) {
    ifd_offset = read_uint(head, 4, 4, big);
  } else if (version == 43) {
    if (head.size() < 16) throw FrameFileError(Kind::incomplete, path, "BigTIFF header shorter than 16 bytes");
    ifd_offset = read_uint(head, 8, 8, big);
  } else {
    throw FrameFileError(Kind::corrupt, path, fmt::format("byte 2: TIFF version {} is neither 42 nor 43", version));
  }
  if (ifd_offset == 0) throw FrameFileError(Kind::incomplete, path, "no image directory written yet");
  check_tiff_directory(path, size, ifd_offset, version == 43, big);
}

template <class T>
std::vector<T> read_tiff_pixels(TIFF* tif, const fs::path& path, std::uint32_t width, std::uint32_t height,
                                const std::string& error) {
  std::vector<T> out(static_cast<std::size_t>(width) * height);
  auto fail = [&](const std::string& what) {
    throw FrameFileError(Kind::corrupt, path, error.empty() ? what : what + ": " + error);
  };
  if (TIFFIsTiled(tif)) {
    std::uint32_t tile_w = 0, tile_h = 0;
    TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tile_w);
    TIFFGetField(tif, TIFFTAG_TILELENGTH, &tile_h);
    if (tile_w == 0 || tile_h == 0) fail("tile size of zero");
    // The tile buffer is allocated before any tile is decoded: a few bytes may claim a tile of gigabytes.
    if (std::uint64_t{tile_w} * tile_h > kMaxFramePixels) {
      throw FrameFileError(Kind::unsupported, path,
                           fmt::format("tiles of {}x{} pixels, more than any detector frame ({})", tile_w, tile_h,
                                       kMaxFramePixels));
    }
    std::vector<T> tile(static_cast<std::size_t>(tile_w) * tile_h);
    const auto tile_bytes = static_cast<tmsize_t>(tile.size() * sizeof(T));
    for (std::uint32_t y = 0; y < height; y += tile_h) {
      for (std::uint32_t x = 0; x < width; x += tile_w) {
        const ttile_t index = TIFFComputeTile(tif, x, y, 0, 0);
        if (TIFFReadEncodedTile(tif, index, tile.data(), tile_bytes) < 0) fail(fmt::format("tile {}", index));
        const std::uint32_t rows = std::min(tile_h, height - y);
        const std::uint32_t cols = std::min(tile_w, width - x);
        for (std::uint32_t r = 0; r < rows; ++r) {
          std::copy_n(tile.begin() + static_cast<std::ptrdiff_t>(r) * tile_w, cols,
                      out.begin() + (static_cast<std::ptrdiff_t>(y) + r) * width + x);
        }
      }
    }
    return out;
  }
  std::uint32_t rows_per_strip = 0;
  TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
  rows_per_strip = std::min(std::max<std::uint32_t>(rows_per_strip, 1), height);
  const tstrip_t strips = TIFFNumberOfStrips(tif);
  for (tstrip_t s = 0; s < strips; ++s) {
    const std::uint64_t first_row = static_cast<std::uint64_t>(s) * rows_per_strip;
    if (first_row >= height) break;
    const std::uint64_t rows = std::min<std::uint64_t>(rows_per_strip, height - first_row);
    const auto bytes = static_cast<tmsize_t>(rows * width * sizeof(T));
    if (TIFFReadEncodedStrip(tif, s, out.data() + first_row * width, bytes) != bytes) {
      fail(fmt::format("strip {} (rows {}..{})", s, first_row, first_row + rows - 1));
    }
  }
  return out;
}

// ---- EDF ----------------------------------------------------------------------------------------------

struct EdfType {
  PixelType type;
  std::size_t bytes;
};

std::optional<EdfType> edf_type(std::string_view name) {
  const std::string n = lower(name);
  if (n == "unsignedshort" || n == "unsigned16") return EdfType{PixelType::uint16, 2};
  if (n == "unsignedinteger" || n == "unsignedlong" || n == "unsigned32") return EdfType{PixelType::uint32, 4};
  if (n == "signedinteger" || n == "signedlong" || n == "signed32") return EdfType{PixelType::int32, 4};
  if (n == "floatvalue" || n == "float" || n == "float32" || n == "real") return EdfType{PixelType::float32, 4};
  return std::nullopt;
}

template <class T>
std::vector<T> decode_edf(const std::string& bytes, std::size_t offset, std::size_t count, bool swap) {
  std::vector<T> out(count);
  std::memcpy(out.data(), bytes.data() + offset, count * sizeof(T));
  if (swap) {
    for (T& v : out) v = byte_swapped(v);
  }
  return out;
}

std::size_t parse_size(const fs::path& path, std::string_view key, const std::string& value, std::size_t line) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(value.c_str(), &end, 10);
  if (value.empty() || errno != 0 || *end != '\0' || value.front() == '-') {
    throw FrameFileError(Kind::corrupt, path,
                         fmt::format("header line {}: {} = '{}' is not a non-negative integer", line, key, value));
  }
  return static_cast<std::size_t>(v);
}

std::size_t parse_frame_side(const fs::path& path, std::string_view key, const std::string& value, std::size_t line) {
  const std::size_t side = parse_size(path, key, value, line);
  if (side == 0 || side > kMaxFrameSide)
    throw FrameFileError(Kind::corrupt, path,
                         fmt::format("header line {}: {} = {} is not a frame side (1..{} pixels)", line, key, side,
                                     kMaxFrameSide));
  return side;
}

bool host_is_big_endian() { return std::endian::native == std::endian::big; }

std::string quote_ini(const std::string& value) {
  const bool plain = !value.empty() && value.find_first_of(",;=\"\\") == std::string::npos &&
                     !std::isspace(static_cast<unsigned char>(value.front())) &&
                     !std::isspace(static_cast<unsigned char>(value.back()));
  if (plain || value.empty()) return value;
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

// ---- Frame --------------------------------------------------------------------------------------------

std::string_view to_string(PixelType type) {
  switch (type) {
    case PixelType::uint16: return "uint16";
    case PixelType::uint32: return "uint32";
    case PixelType::int32: return "int32";
    case PixelType::float32: return "float32";
  }
  return "unknown";
}

PixelType Frame::pixel_type() const { return static_cast<PixelType>(pixels.index()); }

double Frame::at(std::size_t row, std::size_t column) const {
  if (row >= height || column >= width) {
    throw std::out_of_range(fmt::format("pixel ({}, {}) outside {}x{} frame", row, column, height, width));
  }
  return std::visit([&](const auto& v) { return static_cast<double>(v[row * width + column]); }, pixels);
}

double Frame::sum() const {
  return std::visit(
      [](const auto& v) {
        double total = 0.0;
        for (const auto x : v) total += static_cast<double>(x);
        return total;
      },
      pixels);
}

Frame make_frame(std::size_t height, std::size_t width, PixelData pixels) {
  if (height == 0 || width == 0) throw std::invalid_argument(fmt::format("a frame of {}x{} pixels is empty", height, width));
  const std::size_t count = std::visit([](const auto& v) { return v.size(); }, pixels);
  if (count != height * width) {
    throw std::invalid_argument(fmt::format("frame of {}x{} needs {} pixels, got {}", height, width,
                                            height * width, count));
  }
  return Frame{height, width, std::move(pixels), {}};
}

FrameFileError::FrameFileError(Kind kind, const fs::path& path, const std::string& why)
    : std::runtime_error(fmt::format("{}: {}: {}", path.string(),
                                     kind == Kind::incomplete ? "not complete yet"
                                     : kind == Kind::corrupt  ? "corrupt"
                                                              : "unsupported",
                                     why)),
      kind_(kind) {}

// ---- TIFF ---------------------------------------------------------------------------------------------

Frame read_tiff(const fs::path& path) {
  const auto size = size_of(path);
  check_tiff_header(path, size);
  std::string error;
  TiffHandle tif = open_tiff(path, "r", error);
  if (!tif) throw FrameFileError(Kind::corrupt, path, error.empty() ? "libtiff cannot open it" : error);

  std::uint32_t width = 0, height = 0;
  std::uint16_t bits = 0, samples = 0, format = 0;
  TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &width);
  TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &height);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_SAMPLESPERPIXEL, &samples);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_SAMPLEFORMAT, &format);
  if (width == 0 || height == 0) throw FrameFileError(Kind::corrupt, path, "image width or height is zero");
  if (std::uint64_t{width} * height > kMaxFramePixels) {
    throw FrameFileError(Kind::unsupported, path,
                         fmt::format("{}x{} pixels, more than any detector frame ({})", width, height, kMaxFramePixels));
  }
  if (samples != 1) {
    throw FrameFileError(Kind::unsupported, path, fmt::format("{} samples per pixel; detector frames have 1", samples));
  }
  // Data still missing at the end means the writer has not finished (or the copy was cut short).
  const std::uint32_t chunks = TIFFIsTiled(tif.get()) ? TIFFNumberOfTiles(tif.get()) : TIFFNumberOfStrips(tif.get());
  for (std::uint32_t i = 0; i < chunks; ++i) {
    const std::uint64_t end = TIFFGetStrileOffset(tif.get(), i) + TIFFGetStrileByteCount(tif.get(), i);
    if (end > size) {
      throw FrameFileError(Kind::incomplete, path,
                           fmt::format("{} {} ends at byte {} but the file has {} bytes",
                                       TIFFIsTiled(tif.get()) ? "tile" : "strip", i, end, size));
    }
  }

  Frame frame;
  frame.height = height;
  frame.width = width;
  if (format == SAMPLEFORMAT_UINT && bits == 16) {
    frame.pixels = read_tiff_pixels<std::uint16_t>(tif.get(), path, width, height, error);
  } else if (format == SAMPLEFORMAT_UINT && bits == 32) {
    frame.pixels = read_tiff_pixels<std::uint32_t>(tif.get(), path, width, height, error);
  } else if (format == SAMPLEFORMAT_INT && bits == 32) {
    frame.pixels = read_tiff_pixels<std::int32_t>(tif.get(), path, width, height, error);
  } else if (format == SAMPLEFORMAT_IEEEFP && bits == 32) {
    frame.pixels = read_tiff_pixels<float>(tif.get(), path, width, height, error);
  } else {
    throw FrameFileError(Kind::unsupported, path,
                         fmt::format("SampleFormat {} with {} bits per sample (expected uint16, uint32, int32 or "
                                     "float32)",
                                     format, bits));
  }
  for (const auto& [tag, name] : {std::pair{TIFFTAG_DOCUMENTNAME, "DocumentName"},
                                  std::pair{TIFFTAG_DATETIME, "DateTime"}, std::pair{TIFFTAG_SOFTWARE, "Software"},
                                  std::pair{TIFFTAG_IMAGEDESCRIPTION, "ImageDescription"}}) {
    const char* text = nullptr;
    if (TIFFGetField(tif.get(), tag, &text) == 1 && text) frame.metadata[name] = text;
  }
  return frame;
}

void write_qxrd_tiff(const fs::path& path, const Frame& frame, const std::string& date_time) {
  std::string error;
  // "wl": classic TIFF, little-endian, as QXRD writes on its x86 host.
  TiffHandle tif = open_tiff(path, "wl", error);
  if (!tif) throw std::runtime_error(fmt::format("{}: cannot create TIFF: {}", path.string(), error));
  const PixelType type = frame.pixel_type();
  const std::uint16_t bits = type == PixelType::uint16 ? 16 : 32;
  const std::uint16_t format = type == PixelType::float32 ? SAMPLEFORMAT_IEEEFP
                               : type == PixelType::int32 ? SAMPLEFORMAT_INT
                                                          : SAMPLEFORMAT_UINT;
  TIFF* t = tif.get();
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(frame.width));
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(frame.height));
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bits);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, std::uint16_t{1});
  TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, format);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
  TIFFSetField(t, TIFFTAG_DOCUMENTNAME, path.string().c_str());
  if (!date_time.empty()) TIFFSetField(t, TIFFTAG_DATETIME, date_time.c_str());
  std::visit(
      [&](const auto& v) {
        using T = typename std::decay_t<decltype(v)>::value_type;
        std::vector<T> row(frame.width);  // TIFFWriteScanline takes a non-const buffer
        for (std::size_t r = 0; r < frame.height; ++r) {
          std::copy_n(v.begin() + static_cast<std::ptrdiff_t>(r * frame.width), frame.width, row.begin());
          if (TIFFWriteScanline(t, row.data(), static_cast<std::uint32_t>(r), 0) < 0) {
            throw std::runtime_error(fmt::format("{}: writing row {} failed: {}", path.string(), r, error));
          }
        }
      },
      frame.pixels);
  tif.reset();  // TIFFClose writes the directory: until then the file is incomplete on disk
  if (!error.empty()) throw std::runtime_error(fmt::format("{}: closing TIFF failed: {}", path.string(), error));
}

// ---- EDF ----------------------------------------------------------------------------------------------

// Where an EDF file's header braces are and where its data start; a file still being written is incomplete.
struct EdfLayout {
  std::size_t open, close, data_offset;
};

EdfLayout edf_layout(const fs::path& path, const std::string& bytes) {
  if (bytes.empty()) throw FrameFileError(Kind::incomplete, path, "empty file");
  std::size_t open = 0;
  while (open < bytes.size() && std::isspace(static_cast<unsigned char>(bytes[open]))) ++open;
  if (open == bytes.size()) throw FrameFileError(Kind::incomplete, path, "only whitespace so far");
  if (bytes[open] != '{') throw FrameFileError(Kind::corrupt, path, fmt::format("byte {}: expected '{{'", open));
  const std::size_t close = bytes.find('}', open);
  if (close == std::string::npos) throw FrameFileError(Kind::incomplete, path, "header has no closing '}' yet");
  std::size_t data_offset = close + 1;
  if (data_offset < bytes.size() && bytes[data_offset] == '\r') ++data_offset;
  if (data_offset < bytes.size() && bytes[data_offset] == '\n') ++data_offset;
  return {open, close, data_offset};
}

Frame read_edf(const fs::path& path) {
  const auto size = size_of(path);
  const std::string bytes = read_bytes(path, static_cast<std::size_t>(size));
  const auto [open, close, data_offset] = edf_layout(path, bytes);

  Frame frame;
  std::map<std::string, std::pair<std::string, std::size_t>> keys;  // lower-case key -> (value, line)
  std::size_t line = 1;
  std::size_t pos = open + 1;
  while (pos < close) {
    const std::size_t semicolon = std::min(bytes.find(';', pos), close);
    const std::string_view entry_raw(bytes.data() + pos, semicolon - pos);
    const std::size_t lead = std::min(entry_raw.find_first_not_of(" \t\r\n"), entry_raw.size());
    const std::size_t entry_line =
        line + static_cast<std::size_t>(std::count(entry_raw.begin(), entry_raw.begin() + static_cast<std::ptrdiff_t>(lead), '\n'));
    line += static_cast<std::size_t>(std::count(entry_raw.begin(), entry_raw.end(), '\n'));
    pos = semicolon + 1;
    const std::string_view entry = trim(entry_raw);
    if (entry.empty()) continue;
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) {
      throw FrameFileError(Kind::corrupt, path,
                           fmt::format("header line {}: '{}' is not 'key = value ;'", entry_line, entry));
    }
    const std::string key(trim(entry.substr(0, eq)));
    const std::string value(trim(entry.substr(eq + 1)));
    frame.metadata[key] = value;
    keys[lower(key)] = {value, entry_line};
  }
  auto required = [&](const char* key) -> const std::pair<std::string, std::size_t>& {
    const auto it = keys.find(lower(key));
    if (it == keys.end()) throw FrameFileError(Kind::corrupt, path, fmt::format("header lacks {}", key));
    return it->second;
  };
  if (const auto it = keys.find("compression"); it != keys.end() && lower(it->second.first) != "none") {
    throw FrameFileError(Kind::unsupported, path,
                         fmt::format("header line {}: Compression = {}", it->second.second, it->second.first));
  }
  const auto& [type_name, type_line] = required("DataType");
  const auto type = edf_type(type_name);
  if (!type) {
    throw FrameFileError(Kind::unsupported, path, fmt::format("header line {}: DataType = {}", type_line, type_name));
  }
  frame.width = parse_frame_side(path, "Dim_1", required("Dim_1").first, required("Dim_1").second);
  frame.height = parse_frame_side(path, "Dim_2", required("Dim_2").first, required("Dim_2").second);
  const std::size_t expected = frame.width * frame.height * type->bytes;
  if (const auto it = keys.find("size"); it != keys.end()) {
    const std::size_t declared = parse_size(path, "Size", it->second.first, it->second.second);
    if (declared != expected) {
      throw FrameFileError(Kind::corrupt, path,
                           fmt::format("header line {}: Size = {} but Dim_1 x Dim_2 x {} bytes = {}",
                                       it->second.second, declared, type->bytes, expected));
    }
  }
  bool big_endian = false;
  if (const auto it = keys.find("byteorder"); it != keys.end()) {
    const std::string order = lower(it->second.first);
    if (order != "lowbytefirst" && order != "highbytefirst") {
      throw FrameFileError(Kind::corrupt, path,
                           fmt::format("header line {}: ByteOrder = {}", it->second.second, it->second.first));
    }
    big_endian = order == "highbytefirst";
  }
  if (data_offset + expected > bytes.size()) {
    throw FrameFileError(Kind::incomplete, path,
                         fmt::format("binary block needs bytes {}..{} but the file has {} bytes", data_offset,
                                     data_offset + expected, bytes.size()));
  }
  const bool swap = big_endian != host_is_big_endian();
  const std::size_t count = frame.width * frame.height;
  switch (type->type) {
    case PixelType::uint16: frame.pixels = decode_edf<std::uint16_t>(bytes, data_offset, count, swap); break;
    case PixelType::uint32: frame.pixels = decode_edf<std::uint32_t>(bytes, data_offset, count, swap); break;
    case PixelType::int32: frame.pixels = decode_edf<std::int32_t>(bytes, data_offset, count, swap); break;
    case PixelType::float32: frame.pixels = decode_edf<float>(bytes, data_offset, count, swap); break;
  }
  return frame;
}

void write_edf(const fs::path& path, const Frame& frame, bool big_endian) {
  static constexpr std::string_view type_names[] = {"UnsignedShort", "UnsignedInteger", "SignedInteger",
                                                    "FloatValue"};
  const PixelType type = frame.pixel_type();
  const std::size_t element = type == PixelType::uint16 ? 2 : 4;
  const std::size_t count = frame.width * frame.height;
  std::string header = "{\n";
  header += "HeaderID = EH:000001:000000:000000 ;\nImage = 1 ;\n";
  header += fmt::format("ByteOrder = {} ;\n", big_endian ? "HighByteFirst" : "LowByteFirst");
  header += fmt::format("DataType = {} ;\n", type_names[static_cast<std::size_t>(type)]);
  header += fmt::format("Dim_1 = {} ;\nDim_2 = {} ;\nSize = {} ;\n", frame.width, frame.height, count * element);
  static const std::vector<std::string> reserved = {"headerid", "image", "byteorder", "datatype",
                                                    "dim_1",    "dim_2", "size",      "compression"};
  for (const auto& [key, value] : frame.metadata) {
    if (std::find(reserved.begin(), reserved.end(), lower(key)) != reserved.end()) continue;
    if (key.find_first_of("=;{}\n") != std::string::npos || value.find_first_of(";{}\n") != std::string::npos) {
      throw std::invalid_argument(fmt::format("EDF header entry '{}' = '{}' contains a reserved character", key, value));
    }
    header += fmt::format("{} = {} ;\n", key, value);
  }
  // fabio's layout: spaces pad the header so that it, including "}\n", fills whole 512-byte blocks.
  const std::size_t total = (header.size() + 2 + 511) / 512 * 512;
  header.append(total - header.size() - 2, ' ');
  header += "}\n";

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error(fmt::format("{}: cannot create EDF file", path.string()));
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  const bool swap = big_endian != host_is_big_endian();
  std::visit(
      [&](const auto& v) {
        for (auto x : v) {
          if (swap) x = byte_swapped(x);
          out.write(reinterpret_cast<const char*>(&x), sizeof x);
        }
      },
      frame.pixels);
  if (!out.flush()) throw std::runtime_error(fmt::format("{}: writing EDF data failed", path.string()));
}

Frame read_frame(const fs::path& path) {
  const std::string head = read_bytes(path, 4);
  if (head.starts_with("II") || head.starts_with("MM")) return read_tiff(path);
  const auto first = head.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && head[first] == '{') return read_edf(path);
  if (head.size() < 2) throw FrameFileError(Kind::incomplete, path, fmt::format("only {} bytes", head.size()));
  throw FrameFileError(Kind::corrupt, path, "byte 0: neither a TIFF byte-order mark nor an EDF '{'");
}

// ---- QXRD sidecar -------------------------------------------------------------------------------------

std::optional<std::string> QxrdMetadata::text(const std::string& key) const {
  const auto it = entries.find(key);
  if (it == entries.end()) return std::nullopt;
  return it->second;
}

std::optional<double> QxrdMetadata::number(const std::string& key) const {
  const auto value = text(key);
  if (!value) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(value->c_str(), &end);
  if (value->empty() || errno != 0 || *end != '\0') {
    throw std::invalid_argument(fmt::format("QXRD metadata {} = '{}' is not a number", key, *value));
  }
  return v;
}

QxrdMetadata parse_qxrd_metadata(std::string_view text, std::string_view source) {
  QxrdMetadata metadata;
  std::string section;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    const std::string_view line = trim(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    ++line_number;
    if (line.empty() || line.front() == ';' || line.front() == '#') continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        throw std::invalid_argument(fmt::format("{}:{}: section header '{}' lacks ']'", source, line_number, line));
      }
      section = std::string(trim(line.substr(1, line.size() - 2)));
      continue;
    }
    if (section != "metadata") continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      throw std::invalid_argument(fmt::format("{}:{}: expected key=value, got '{}'", source, line_number, line));
    }
    const std::string key(trim(line.substr(0, eq)));
    std::string_view value = trim(line.substr(eq + 1));
    if (value.starts_with("@Variant(")) continue;  // binary QVariant: nothing we can read
    std::string decoded;
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      for (std::size_t i = 1; i + 1 < value.size(); ++i) {
        if (value[i] == '\\' && i + 2 < value.size()) ++i;
        decoded.push_back(value[i]);
      }
    } else {
      decoded = std::string(value);
    }
    metadata.entries[key] = std::move(decoded);
  }
  return metadata;
}

QxrdMetadata read_qxrd_metadata(const fs::path& sidecar_path) {
  std::ifstream in(sidecar_path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open QXRD metadata", sidecar_path.string()));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_qxrd_metadata(text, sidecar_path.string());
}

fs::path qxrd_sidecar_path(const fs::path& tiff_path) {
  fs::path sidecar = tiff_path;
  sidecar += ".metadata";
  return sidecar;
}

void write_qxrd_metadata(const fs::path& tiff_path, const QxrdMetadata& metadata) {
  const fs::path path = qxrd_sidecar_path(tiff_path);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error(fmt::format("{}: cannot create QXRD metadata", path.string()));
  out << "[metadata]\n";
  for (const auto& [key, value] : metadata.entries) out << key << '=' << quote_ini(value) << '\n';
  if (!out.flush()) throw std::runtime_error(fmt::format("{}: writing QXRD metadata failed", path.string()));
}

}  // namespace insitu::detector
