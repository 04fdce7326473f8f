#pragma once
// Small 1-D datasets of the analysis entries (DMA, DSC, compare): written once, whole, uncompressed; extendable
// because that is what h5.hpp offers for arrays.
#include <algorithm>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "daemon/storage/h5.hpp"
#include "daemon/storage/schema.hpp"

namespace insitu::storage {

// "export_01" for prefix "export" and index 0.
inline std::string numbered(const char* prefix, std::size_t index) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s_%02zu", prefix, index + 1);
  return buf;
}

// `units` null: a dimensionless count or label.
template <class T>
h5::Handle write_column(const h5::Handle& parent, const std::string& name, const std::vector<T>& values,
                        const char* units) {
  h5::Handle d = h5::create_extendable(parent, name,
                                       {.type = h5::dtype_of<T>(),
                                        .tail_shape = {},
                                        .chunk_rows = std::clamp<hsize_t>(values.size(), 1, 4096),
                                        .filter = h5::Filter::none});
  if (!values.empty()) h5::append(d, std::span<const T>(values));
  if (units) h5::set_attribute(d, schema::attr::units, units);
  return d;
}

inline void write_strings(const h5::Handle& parent, const std::string& name, const std::vector<std::string>& values) {
  std::size_t length = 1;
  for (const auto& v : values) length = std::max(length, v.size());
  auto d = h5::create_extendable(parent, name,
                                 {.type = h5::Dtype::fixed_string(length),
                                  .tail_shape = {},
                                  .chunk_rows = std::clamp<hsize_t>(values.size(), 1, 4096),
                                  .filter = h5::Filter::none});
  if (!values.empty()) h5::append_strings(d, values);
}

}  // namespace insitu::storage
