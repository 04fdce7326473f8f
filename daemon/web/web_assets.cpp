#include "daemon/web/web_assets.hpp"

#include <stdexcept>
#include <string>

namespace insitu::web {

const Asset* find_asset(std::string_view name) {
  for (const Asset& a : embedded_assets())
    if (a.name == name) return &a;
  return nullptr;
}

std::string_view asset(std::string_view name) {
  if (const Asset* a = find_asset(name)) return a->body;
  throw std::out_of_range("no embedded web asset " + std::string(name));
}

std::string_view content_type(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace insitu::web
