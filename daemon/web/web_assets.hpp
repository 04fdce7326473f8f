#pragma once
// The files of web/dist as the binaries carry them (cmake/EmbedWebAssets.cmake): insitud serves the live view from
// them and `insitu report` inlines the report's chart code, so both show the same charts.
#include <span>
#include <string_view>

namespace insitu::web {

struct Asset {
  std::string_view name;  // "index.html", "live.js", "live.css", "report.js", "report.css"
  std::string_view body;
};

std::span<const Asset> embedded_assets();

// The asset of that name; throws std::out_of_range when there is none (a build without it is broken).
std::string_view asset(std::string_view name);

// nullptr when no asset has that name.
const Asset* find_asset(std::string_view name);

// "text/html; charset=utf-8", "text/javascript; charset=utf-8", "text/css; charset=utf-8" by the name's extension.
std::string_view content_type(std::string_view name);

}  // namespace insitu::web
