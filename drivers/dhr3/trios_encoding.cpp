// decode_to_utf8 (trios.hpp): TRIOS export bytes as UTF-8, from UTF-8 with or without BOM, UTF-16 with BOM, or cp1252.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "drivers/dhr3/trios.hpp"

namespace insitu::dhr3 {
namespace {

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Offset of the first invalid UTF-8 sequence, or npos.
std::size_t invalid_utf8_at(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t min_cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      min_cp = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      min_cp = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      min_cp = 0x10000;
    } else {
      return i;
    }
    std::uint32_t cp = c & (0x3F >> n);
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return i;
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += n + 1;
  }
  return std::string_view::npos;
}

std::string decode_utf16(std::string_view s, bool little_endian) {
  if (s.size() % 2 != 0)
    throw TriosError(0, "unsupported encoding: UTF-16 text with an odd byte count (" + std::to_string(s.size() + 2) +
                            " bytes incl. BOM; truncated file?)");
  std::string out;
  out.reserve(s.size());
  auto unit = [&](std::size_t i) -> std::uint32_t {
    const auto b0 = static_cast<unsigned char>(s[i]);
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    return little_endian ? (b0 | (b1 << 8)) : ((b0 << 8) | b1);
  };
  for (std::size_t i = 0; i < s.size(); i += 2) {
    std::uint32_t u = unit(i);
    if (u >= 0xD800 && u <= 0xDBFF) {
      if (i + 3 >= s.size())
        throw TriosError(0, "unsupported encoding: unpaired UTF-16 surrogate at byte offset " + std::to_string(i + 2));
      const std::uint32_t lo = unit(i + 2);
      if (lo < 0xDC00 || lo > 0xDFFF)
        throw TriosError(0, "unsupported encoding: unpaired UTF-16 surrogate at byte offset " + std::to_string(i + 2));
      u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
      i += 2;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      throw TriosError(0, "unsupported encoding: unpaired UTF-16 surrogate at byte offset " + std::to_string(i + 2));
    }
    append_utf8(out, u);
  }
  return out;
}

// Windows-1252 0x80..0x9F; 0 marks the five undefined bytes.
constexpr std::uint16_t cp1252_high[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

std::string decode_cp1252(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0xA0) {
      const std::uint16_t cp = cp1252_high[c - 0x80];
      if (cp == 0)
        throw TriosError(0, "unsupported encoding: neither UTF-8 nor cp1252 (byte 0x" +
                                std::string(1, "0123456789ABCDEF"[c >> 4]) + std::string(1, "0123456789ABCDEF"[c & 15]) +
                                " at byte offset " + std::to_string(i) + ")");
      append_utf8(out, cp);
    } else {
      append_utf8(out, c);
    }
  }
  return out;
}

}  // namespace

std::string decode_to_utf8(std::string_view bytes, SourceEncoding* detected) {
  SourceEncoding enc = SourceEncoding::utf8;
  std::string out;
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0xFF && static_cast<unsigned char>(bytes[1]) == 0xFE) {
    enc = SourceEncoding::utf16le;
    out = decode_utf16(bytes.substr(2), true);
  } else if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0xFE &&
             static_cast<unsigned char>(bytes[1]) == 0xFF) {
    enc = SourceEncoding::utf16be;
    out = decode_utf16(bytes.substr(2), false);
  } else if (bytes.substr(0, 3) == "\xEF\xBB\xBF") {
    enc = SourceEncoding::utf8_bom;
    bytes.remove_prefix(3);
    if (const auto bad = invalid_utf8_at(bytes); bad != std::string_view::npos)
      throw TriosError(0, "unsupported encoding: UTF-8 BOM but invalid UTF-8 at byte offset " + std::to_string(bad + 3));
    out = std::string(bytes);
  } else {
    if (bytes.substr(0, std::min<std::size_t>(bytes.size(), 64)).find('\0') != std::string_view::npos)
      throw TriosError(0, "unsupported encoding: NUL bytes near the start (UTF-16 without BOM?)");
    if (invalid_utf8_at(bytes) == std::string_view::npos) {
      out = std::string(bytes);
    } else {
      enc = SourceEncoding::cp1252;
      out = decode_cp1252(bytes);
    }
  }
  if (detected) *detected = enc;
  return out;
}

}  // namespace insitu::dhr3
