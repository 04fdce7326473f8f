#include "daemon/storage/h5.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <numeric>

namespace insitu::storage::h5 {
namespace {

constexpr H5Z_filter_t bitshuffle_filter_id = 32008;
// User cd_values of the bitshuffle plugin are (block size, compression): its set_local moves them behind the
// three it fills in (version major, minor, element size), so the stored values read {0, 3, esize, 0, 2}. Passing
// five values would leave compression at 0 (bitshuffle only, no LZ4); h5py's compression_opts=(0, 2) agrees.
constexpr unsigned bitshuffle_lz4 = 2;

// HDF5 prints its error stack to stderr by default; we capture it into the exception instead.
// The setting lives on the calling thread's error stack (thread-safe build), hence per thread.
void silence() {
  thread_local bool silenced = false;
  if (!silenced) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    silenced = true;
  }
}

herr_t collect_error(unsigned depth, const H5E_error2_t* e, void* out) {
  auto& text = *static_cast<std::string*>(out);
  if (depth > 0) text += "; ";
  text += e->func_name ? e->func_name : "?";
  text += ": ";
  std::string description = e->desc ? e->desc : "(no description)";
  for (char& c : description)
    if (c == '\n') c = ' ';  // the sec2 driver's messages span lines; keep one line per error
  text += description;
  return 0;
}


Handle make_type(const Dtype& t, bool file) {
  using K = Dtype::Kind;
  silence();
  hid_t base = H5I_INVALID_HID;
  switch (t.kind) {
    case K::f64: base = file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE; break;
    case K::f32: base = file ? H5T_IEEE_F32LE : H5T_NATIVE_FLOAT; break;
    case K::u8: base = file ? H5T_STD_U8LE : H5T_NATIVE_UINT8; break;
    case K::u16: base = file ? H5T_STD_U16LE : H5T_NATIVE_UINT16; break;
    case K::u32: base = file ? H5T_STD_U32LE : H5T_NATIVE_UINT32; break;
    case K::i32: base = file ? H5T_STD_I32LE : H5T_NATIVE_INT32; break;
    case K::i64: base = file ? H5T_STD_I64LE : H5T_NATIVE_INT64; break;
    case K::u64: base = file ? H5T_STD_U64LE : H5T_NATIVE_UINT64; break;
    case K::string: {
      if (t.length == 0) throw Error("fixed-length string type needs a length > 0");
      Handle s(check(H5Tcopy(H5T_C_S1), "H5Tcopy"));
      check(H5Tset_size(s.get(), t.length), "H5Tset_size");
      check(H5Tset_cset(s.get(), H5T_CSET_UTF8), "H5Tset_cset");
      check(H5Tset_strpad(s.get(), H5T_STR_NULLPAD), "H5Tset_strpad");
      return s;
    }
  }
  return Handle(check(H5Tcopy(base), "H5Tcopy"));
}

Handle string_type(const std::string& value) { return make_type(Dtype::fixed_string(std::max<std::size_t>(1, value.size())), true); }

Handle scalar_space() { return Handle(check(H5Screate(H5S_SCALAR), "H5Screate(scalar)")); }

std::vector<hsize_t> extent(const Handle& space) {
  const int rank = check(H5Sget_simple_extent_ndims(space.get()), "H5Sget_simple_extent_ndims");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), "H5Sget_simple_extent_dims");
  return dims;
}

std::string object_name(hid_t id) {
  std::array<char, 512> name{};
  if (H5Iget_name(id, name.data(), name.size()) < 0) return "?";
  return name.data();
}

// Refresh so that an SWMR reader sees the writer's latest flushed extent.
void refresh_if_swmr(const Handle& dataset) {
  Handle file(check(H5Iget_file_id(dataset.get()), "H5Iget_file_id"));
  unsigned intent = 0;
  check(H5Fget_intent(file.get(), &intent), "H5Fget_intent");
  if (intent & H5F_ACC_SWMR_READ) check(H5Drefresh(dataset.get()), "H5Drefresh " + object_name(dataset.get()));
}

std::vector<std::string> split_nul_padded(const std::vector<char>& buffer, std::size_t length) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at + length <= buffer.size(); at += length) {
    const char* begin = buffer.data() + at;
    out.emplace_back(begin, strnlen(begin, length));
  }
  return out;
}

std::size_t fixed_string_size(const Handle& type, const std::string& what) {
  if (H5Tget_class(type.get()) != H5T_STRING) throw Error(what + ": not a string");
  if (check(H5Tis_variable_str(type.get()), "H5Tis_variable_str") > 0)
    throw Error(what + ": variable-length strings are not supported");
  return H5Tget_size(type.get());
}

}  // namespace

hid_t check(hid_t status, const std::string& operation) {
  if (status >= 0) return status;
  std::string stack;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &stack);
  H5Eclear2(H5E_DEFAULT);
  throw Error("HDF5 " + operation + " failed" + (stack.empty() ? "" : ": " + stack));
}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    if (id_ >= 0) {
      try {
        close();
      } catch (const Error&) {  // nothing to report to from a move; the id is released either way
      }
    }
    id_ = other.id_;
    other.id_ = H5I_INVALID_HID;
  }
  return *this;
}

Handle::~Handle() {
  if (id_ < 0) return;
  try {
    close();
  } catch (const Error&) {  // destructors cannot throw; callers that care call close() themselves
  }
}

void Handle::close() {
  if (id_ < 0) return;
  silence();
  const hid_t id = id_;
  id_ = H5I_INVALID_HID;
  herr_t status = -1;
  switch (H5Iget_type(id)) {
    case H5I_FILE: status = H5Fclose(id); break;
    case H5I_GROUP: status = H5Gclose(id); break;
    case H5I_DATASET: status = H5Dclose(id); break;
    case H5I_DATASPACE: status = H5Sclose(id); break;
    case H5I_DATATYPE: status = H5Tclose(id); break;
    case H5I_ATTR: status = H5Aclose(id); break;
    case H5I_GENPROP_LST: status = H5Pclose(id); break;
    default: status = H5Idec_ref(id) < 0 ? -1 : 0; break;
  }
  check(status, "close");
}

// ---- files ------------------------------------------------------------------------------------
Handle create_file(const std::filesystem::path& file) {
  silence();
  Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate(fapl)"));
  check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), "H5Pset_libver_bounds");
  return Handle(check(H5Fcreate(file.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get()), "H5Fcreate " + file.string()));
}

Handle open_file(const std::filesystem::path& file, Access access) {
  silence();
  Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate(fapl)"));
  unsigned flags = H5F_ACC_RDONLY;
  if (access == Access::read_write) flags = H5F_ACC_RDWR;
  if (access == Access::read_write_unlocked) {
    flags = H5F_ACC_RDWR;
    check(H5Pset_file_locking(fapl.get(), false, true), "H5Pset_file_locking");
  }
  if (access == Access::swmr_read) {
    flags = H5F_ACC_RDONLY | H5F_ACC_SWMR_READ;
    check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), "H5Pset_libver_bounds");
  }
  return Handle(check(H5Fopen(file.c_str(), flags, fapl.get()), "H5Fopen " + file.string()));
}

Handle open_file_for_swmr(const std::filesystem::path& file) {
  silence();
  Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate(fapl)"));
  check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), "H5Pset_libver_bounds");
  return Handle(check(H5Fopen(file.c_str(), H5F_ACC_RDWR, fapl.get()), "H5Fopen " + file.string()));
}

void start_swmr(const Handle& file) { check(H5Fstart_swmr_write(file.get()), "H5Fstart_swmr_write"); }

void sync_to_disk(const Handle& file) {
  silence();
  void* vfd_handle = nullptr;
  check(H5Fget_vfd_handle(file.get(), H5P_DEFAULT, &vfd_handle), "H5Fget_vfd_handle");
  const int fd = *static_cast<int*>(vfd_handle);  // the sec2 (default) driver's handle is an int fd
  if (::fsync(fd) != 0) throw Error("fsync of the HDF5 file failed: " + std::string(std::strerror(errno)));
}

std::string library_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

// ---- groups, links, attributes --------------------------------------------------------------
Handle create_group(const Handle& parent, const std::string& name, const std::string& nx_class) {
  silence();
  Handle group(check(H5Gcreate2(parent.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                     "H5Gcreate2 " + name));
  if (!nx_class.empty()) set_attribute(group, "NX_class", nx_class);
  return group;
}

Handle open_group(const Handle& parent, const std::string& path) {
  silence();
  return Handle(check(H5Gopen2(parent.get(), path.c_str(), H5P_DEFAULT), "H5Gopen2 " + path));
}

void soft_link(const Handle& parent, const std::string& target_path, const std::string& link_name) {
  silence();
  check(H5Lcreate_soft(target_path.c_str(), parent.get(), link_name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
        "H5Lcreate_soft " + link_name + " -> " + target_path);
  // NeXus marks a linked object with its own path (@target), so readers know the link from the original.
  if (target_path.starts_with("/") && exists(parent, target_path))
    set_attribute(open_object(parent, target_path), "target", target_path);
}

void remove(const Handle& parent, const std::string& name) {
  silence();
  check(H5Ldelete(parent.get(), name.c_str(), H5P_DEFAULT), "H5Ldelete " + name);
}

namespace {
// Attributes are replaced when they exist, so a finished file can be amended in regular mode.
void write_attribute(const Handle& object, const std::string& name, const Handle& file_type,
                     hid_t memory_type, const void* value) {
  silence();
  if (check(H5Aexists(object.get(), name.c_str()), "H5Aexists " + name) > 0)
    check(H5Adelete(object.get(), name.c_str()), "H5Adelete " + name);
  Handle attribute(check(H5Acreate2(object.get(), name.c_str(), file_type.get(), scalar_space().get(),
                                    H5P_DEFAULT, H5P_DEFAULT),
                         "H5Acreate2 @" + name));
  check(H5Awrite(attribute.get(), memory_type, value), "H5Awrite @" + name);
}
}  // namespace

void set_attribute(const Handle& object, const std::string& name, const std::string& value) {
  Handle type = string_type(value);
  const std::string padded = value.empty() ? std::string(1, '\0') : value;
  write_attribute(object, name, type, type.get(), padded.data());
}

void set_attribute(const Handle& object, const std::string& name, const std::vector<std::string>& values) {
  silence();
  if (values.empty()) throw Error("attribute @" + name + ": needs at least one string");
  std::size_t length = 1;
  for (const auto& v : values) length = std::max(length, v.size());
  Handle type = make_type(Dtype::fixed_string(length), true);
  std::vector<char> buffer(values.size() * length, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) std::memcpy(buffer.data() + i * length, values[i].data(), values[i].size());
  if (check(H5Aexists(object.get(), name.c_str()), "H5Aexists " + name) > 0)
    check(H5Adelete(object.get(), name.c_str()), "H5Adelete " + name);
  const hsize_t n = values.size();
  Handle space(check(H5Screate_simple(1, &n, nullptr), "H5Screate_simple"));
  Handle attribute(check(H5Acreate2(object.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                         "H5Acreate2 @" + name));
  check(H5Awrite(attribute.get(), type.get(), buffer.data()), "H5Awrite @" + name);
}

void set_attribute(const Handle& object, const std::string& name, const char* value) {
  set_attribute(object, name, std::string(value));
}

void set_attribute(const Handle& object, const std::string& name, double value) {
  write_attribute(object, name, make_type(dtype_of<double>(), true), H5T_NATIVE_DOUBLE, &value);
}

void set_attribute(const Handle& object, const std::string& name, std::int64_t value) {
  write_attribute(object, name, make_type(dtype_of<std::int64_t>(), true), H5T_NATIVE_INT64, &value);
}

// ---- datasets -------------------------------------------------------------------------------
namespace {
Handle write_scalar_dataset(const Handle& parent, const std::string& name, const Handle& file_type,
                            hid_t memory_type, const void* value, const std::string& units) {
  silence();
  Handle dataset(check(H5Dcreate2(parent.get(), name.c_str(), file_type.get(), scalar_space().get(), H5P_DEFAULT,
                                  H5P_DEFAULT, H5P_DEFAULT),
                       "H5Dcreate2 " + name));
  check(H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, value), "H5Dwrite " + name);
  if (!units.empty()) set_attribute(dataset, "units", units);
  return dataset;
}
}  // namespace

Handle write_string(const Handle& parent, const std::string& name, const std::string& value) {
  Handle type = string_type(value);
  const std::string padded = value.empty() ? std::string(1, '\0') : value;
  return write_scalar_dataset(parent, name, type, type.get(), padded.data(), {});
}

Handle write_scalar(const Handle& parent, const std::string& name, double value, const std::string& units) {
  return write_scalar_dataset(parent, name, make_type(dtype_of<double>(), true), H5T_NATIVE_DOUBLE, &value, units);
}

Handle write_scalar(const Handle& parent, const std::string& name, std::int64_t value, const std::string& units) {
  return write_scalar_dataset(parent, name, make_type(dtype_of<std::int64_t>(), true), H5T_NATIVE_INT64, &value,
                              units);
}

bool filter_available(Filter filter) {
  silence();
  auto can_encode = [](H5Z_filter_t id) {
    if (H5Zfilter_avail(id) <= 0) {
      H5Eclear2(H5E_DEFAULT);  // a missing plugin leaves an error stack behind
      return false;
    }
    unsigned config = 0;
    return H5Zget_filter_info(id, &config) >= 0 && (config & H5Z_FILTER_CONFIG_ENCODE_ENABLED) != 0;
  };
  switch (filter) {
    case Filter::none: return true;
    case Filter::shuffle_deflate: return can_encode(H5Z_FILTER_SHUFFLE) && can_encode(H5Z_FILTER_DEFLATE);
    case Filter::bitshuffle_lz4: return can_encode(bitshuffle_filter_id);
  }
  return false;
}

namespace {
void set_filter(const Handle& dcpl, Filter filter, unsigned deflate_level, const std::string& what) {
  if (filter != Filter::none && !filter_available(filter))
    throw Error(what + ": compression filter " + filter_name(filter) + " is not available");
  if (filter == Filter::shuffle_deflate) {
    check(H5Pset_shuffle(dcpl.get()), "H5Pset_shuffle " + what);
    check(H5Pset_deflate(dcpl.get(), deflate_level), "H5Pset_deflate " + what);
  } else if (filter == Filter::bitshuffle_lz4) {
    const std::array<unsigned, 2> cd{0, bitshuffle_lz4};  // block size 0 = automatic
    check(H5Pset_filter(dcpl.get(), bitshuffle_filter_id, H5Z_FLAG_MANDATORY, cd.size(), cd.data()),
          "H5Pset_filter(bitshuffle) " + what);
  }
}
}  // namespace

std::string filter_name(Filter filter) {
  switch (filter) {
    case Filter::none: return "none";
    case Filter::shuffle_deflate: return "shuffle+deflate";
    case Filter::bitshuffle_lz4: return "bitshuffle+lz4";
  }
  return "?";
}

Handle create_fixed(const Handle& parent, const std::string& name, const FixedSpec& spec) {
  silence();
  if (spec.shape.empty()) throw Error("create_fixed " + name + ": needs at least one dimension");
  for (hsize_t n : spec.shape)
    if (n == 0) throw Error("create_fixed " + name + ": dimensions must be > 0");
  const int rank = static_cast<int>(spec.shape.size());
  Handle space(check(H5Screate_simple(rank, spec.shape.data(), nullptr), "H5Screate_simple " + name));
  Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate(dcpl)"));
  check(H5Pset_chunk(dcpl.get(), rank, spec.shape.data()), "H5Pset_chunk " + name);
  set_filter(dcpl, spec.filter, spec.deflate_level, "create_fixed " + name);
  if (spec.type.kind != Dtype::Kind::string)
    check(H5Pset_fill_value(dcpl.get(), H5T_NATIVE_DOUBLE, &spec.fill), "H5Pset_fill_value " + name);
  Handle type = make_type(spec.type, true);
  return Handle(check(H5Dcreate2(parent.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, dcpl.get(),
                                 H5P_DEFAULT),
                      "H5Dcreate2 " + name));
}

Handle create_extendable(const Handle& parent, const std::string& name, const ExtendableSpec& spec) {
  silence();
  if (spec.chunk_rows == 0) throw Error("create_extendable " + name + ": chunk_rows must be > 0");
  std::vector<hsize_t> dims{0}, max_dims{H5S_UNLIMITED}, chunk{spec.chunk_rows};
  for (hsize_t n : spec.tail_shape) {
    if (n == 0) throw Error("create_extendable " + name + ": tail dimensions must be > 0");
    dims.push_back(n);
    max_dims.push_back(n);
    chunk.push_back(n);
  }
  const int rank = static_cast<int>(dims.size());
  Handle space(check(H5Screate_simple(rank, dims.data(), max_dims.data()), "H5Screate_simple " + name));
  Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate(dcpl)"));
  check(H5Pset_chunk(dcpl.get(), rank, chunk.data()), "H5Pset_chunk " + name);
  set_filter(dcpl, spec.filter, spec.deflate_level, "create_extendable " + name);
  Handle type = make_type(spec.type, true);
  return Handle(check(H5Dcreate2(parent.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, dcpl.get(),
                                 H5P_DEFAULT),
                      "H5Dcreate2 " + name));
}

Handle open_dataset(const Handle& parent, const std::string& path) {
  silence();
  return Handle(check(H5Dopen2(parent.get(), path.c_str(), H5P_DEFAULT), "H5Dopen2 " + path));
}

Handle open_object(const Handle& parent, const std::string& path) {
  silence();
  return Handle(check(H5Oopen(parent.get(), path.c_str(), H5P_DEFAULT), "H5Oopen " + path));
}

hsize_t rows(const Handle& dataset) {
  silence();
  refresh_if_swmr(dataset);
  Handle space(check(H5Dget_space(dataset.get()), "H5Dget_space"));
  const auto dims = extent(space);
  return dims.empty() ? 1 : dims[0];
}

void append_rows(const Handle& dataset, const void* data, hsize_t n_rows, const Dtype& memory_type) {
  if (n_rows == 0) return;
  silence();
  const std::string name = object_name(dataset.get());
  Handle old_space(check(H5Dget_space(dataset.get()), "H5Dget_space " + name));
  auto dims = extent(old_space);
  if (dims.empty()) throw Error("append to " + name + ": dataset is scalar");
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  start[0] = dims[0];
  count[0] = n_rows;
  dims[0] += n_rows;
  check(H5Dset_extent(dataset.get(), dims.data()), "H5Dset_extent " + name);
  Handle file_space(check(H5Dget_space(dataset.get()), "H5Dget_space " + name));
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
        "H5Sselect_hyperslab " + name);
  Handle memory_space(check(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), "H5Screate_simple"));
  Handle type = make_type(memory_type, false);
  check(H5Dwrite(dataset.get(), type.get(), memory_space.get(), file_space.get(), H5P_DEFAULT, data),
        "H5Dwrite " + name);
}

std::vector<hsize_t> shape(const Handle& dataset) {
  silence();
  refresh_if_swmr(dataset);
  Handle space(check(H5Dget_space(dataset.get()), "H5Dget_space"));
  return extent(space);
}

void resize_rows(const Handle& dataset, hsize_t n_rows) {
  silence();
  const std::string name = object_name(dataset.get());
  Handle space(check(H5Dget_space(dataset.get()), "H5Dget_space " + name));
  auto dims = extent(space);
  if (dims.empty()) throw Error("resize " + name + ": dataset is scalar");
  dims[0] = n_rows;
  check(H5Dset_extent(dataset.get(), dims.data()), "H5Dset_extent " + name);
}

void write_rows(const Handle& dataset, const void* data, hsize_t n_rows, const Dtype& memory_type) {
  silence();
  const std::string name = object_name(dataset.get());
  Handle old_space(check(H5Dget_space(dataset.get()), "H5Dget_space " + name));
  auto dims = extent(old_space);
  if (dims.empty()) throw Error("write " + name + ": dataset is scalar");
  if (dims[0] != n_rows) {
    std::vector<hsize_t> max_dims(dims.size());
    check(H5Sget_simple_extent_dims(old_space.get(), nullptr, max_dims.data()), "H5Sget_simple_extent_dims");
    if (max_dims[0] != H5S_UNLIMITED)
      throw Error("write " + name + ": " + std::to_string(n_rows) + " rows for a fixed dataset of " +
                  std::to_string(dims[0]));
    resize_rows(dataset, n_rows);
    dims[0] = n_rows;
  }
  if (n_rows == 0) return;
  Handle memory_space(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "H5Screate_simple"));
  Handle type = make_type(memory_type, false);
  check(H5Dwrite(dataset.get(), type.get(), memory_space.get(), H5S_ALL, H5P_DEFAULT, data), "H5Dwrite " + name);
}

void append_strings(const Handle& dataset, std::span<const std::string> values) {
  silence();
  Handle type(check(H5Dget_type(dataset.get()), "H5Dget_type"));
  const std::size_t length = fixed_string_size(type, "append_strings " + object_name(dataset.get()));
  std::vector<char> buffer(values.size() * length, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::string& v = values[i];
    std::size_t n = v.size();
    if (n > length) {
      n = length;
      while (n > 0 && (static_cast<unsigned char>(v[n]) & 0xC0) == 0x80) --n;  // don't split a UTF-8 sequence
    }
    std::memcpy(buffer.data() + i * length, v.data(), n);
  }
  append_rows(dataset, buffer.data(), values.size(), Dtype::fixed_string(length));
}

void flush(const Handle& dataset) {
  silence();
  check(H5Dflush(dataset.get()), "H5Dflush " + object_name(dataset.get()));
}

// ---- readers --------------------------------------------------------------------------------
template <class T>
std::vector<T> read_1d(const Handle& dataset) {
  silence();
  refresh_if_swmr(dataset);
  Handle space(check(H5Dget_space(dataset.get()), "H5Dget_space"));
  const auto dims = extent(space);
  const auto n = std::accumulate(dims.begin(), dims.end(), hsize_t{1}, std::multiplies<>());
  std::vector<T> out(n);
  if (n == 0) return out;
  Handle type = make_type(dtype_of<T>(), false);
  check(H5Dread(dataset.get(), type.get(), H5S_ALL, space.get(), H5P_DEFAULT, out.data()),
        "H5Dread " + object_name(dataset.get()));
  return out;
}
template std::vector<double> read_1d<double>(const Handle&);
template std::vector<float> read_1d<float>(const Handle&);
template std::vector<std::uint8_t> read_1d<std::uint8_t>(const Handle&);
template std::vector<std::uint16_t> read_1d<std::uint16_t>(const Handle&);
template std::vector<std::uint32_t> read_1d<std::uint32_t>(const Handle&);
template std::vector<std::int32_t> read_1d<std::int32_t>(const Handle&);
template std::vector<std::int64_t> read_1d<std::int64_t>(const Handle&);
template std::vector<std::uint64_t> read_1d<std::uint64_t>(const Handle&);

template <class T>
std::vector<T> read_row(const Handle& dataset, hsize_t row) {
  silence();
  refresh_if_swmr(dataset);
  const std::string name = object_name(dataset.get());
  Handle file_space(check(H5Dget_space(dataset.get()), "H5Dget_space " + name));
  auto count = extent(file_space);
  if (count.empty() || row >= count[0]) throw Error("read_row " + name + ": no row " + std::to_string(row));
  std::vector<hsize_t> start(count.size(), 0);
  start[0] = row;
  count[0] = 1;
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
        "H5Sselect_hyperslab " + name);
  Handle memory_space(check(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), "H5Screate_simple"));
  std::vector<T> out(std::accumulate(count.begin(), count.end(), hsize_t{1}, std::multiplies<>()));
  Handle type = make_type(dtype_of<T>(), false);
  check(H5Dread(dataset.get(), type.get(), memory_space.get(), file_space.get(), H5P_DEFAULT, out.data()),
        "H5Dread " + name + " row " + std::to_string(row));
  return out;
}
template std::vector<float> read_row<float>(const Handle&, hsize_t);
template std::vector<double> read_row<double>(const Handle&, hsize_t);

std::vector<std::string> link_names(const Handle& group) {
  silence();
  H5G_info_t info;
  check(H5Gget_info(group.get(), &info), "H5Gget_info " + object_name(group.get()));
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const auto name_of = [&](char* buffer, std::size_t size) {
      return check(H5Lget_name_by_idx(group.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, buffer, size, H5P_DEFAULT),
                   "H5Lget_name_by_idx " + object_name(group.get()));
    };
    std::vector<char> name(static_cast<std::size_t>(name_of(nullptr, 0)) + 1);
    name_of(name.data(), name.size());
    names.emplace_back(name.data());
  }
  return names;
}

bool is_hdf5(const std::filesystem::path& file) {
  silence();
  return H5Fis_hdf5(file.c_str()) > 0;
}

std::vector<std::string> read_strings(const Handle& dataset) {
  silence();
  refresh_if_swmr(dataset);
  const std::string name = object_name(dataset.get());
  Handle type(check(H5Dget_type(dataset.get()), "H5Dget_type " + name));
  const std::size_t length = fixed_string_size(type, "read_strings " + name);
  Handle space(check(H5Dget_space(dataset.get()), "H5Dget_space " + name));
  const auto n = static_cast<std::size_t>(check(H5Sget_simple_extent_npoints(space.get()), "npoints"));
  std::vector<char> buffer(n * length);
  if (n > 0)
    check(H5Dread(dataset.get(), type.get(), H5S_ALL, space.get(), H5P_DEFAULT, buffer.data()), "H5Dread " + name);
  return split_nul_padded(buffer, length);
}

std::string read_string(const Handle& parent, const std::string& path) {
  const auto values = read_strings(open_dataset(parent, path));
  if (values.size() != 1) throw Error("read_string " + path + ": expected one string, found " + std::to_string(values.size()));
  return values.front();
}

std::string read_string_attribute(const Handle& object, const std::string& name) {
  silence();
  Handle attribute(check(H5Aopen(object.get(), name.c_str(), H5P_DEFAULT), "H5Aopen @" + name));
  Handle type(check(H5Aget_type(attribute.get()), "H5Aget_type @" + name));
  const std::size_t length = fixed_string_size(type, "@" + name);
  std::vector<char> buffer(length);
  check(H5Aread(attribute.get(), type.get(), buffer.data()), "H5Aread @" + name);
  return split_nul_padded(buffer, length).front();
}

std::vector<std::string> read_string_array_attribute(const Handle& object, const std::string& name) {
  silence();
  Handle attribute(check(H5Aopen(object.get(), name.c_str(), H5P_DEFAULT), "H5Aopen @" + name));
  Handle type(check(H5Aget_type(attribute.get()), "H5Aget_type @" + name));
  const std::size_t length = fixed_string_size(type, "@" + name);
  Handle space(check(H5Aget_space(attribute.get()), "H5Aget_space @" + name));
  const auto n = static_cast<std::size_t>(check(H5Sget_simple_extent_npoints(space.get()), "npoints"));
  std::vector<char> buffer(n * length);
  check(H5Aread(attribute.get(), type.get(), buffer.data()), "H5Aread @" + name);
  return split_nul_padded(buffer, length);
}

double read_double_attribute(const Handle& object, const std::string& name) {
  silence();
  Handle attribute(check(H5Aopen(object.get(), name.c_str(), H5P_DEFAULT), "H5Aopen @" + name));
  double value = 0;
  check(H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, &value), "H5Aread @" + name);
  return value;
}

std::string object_path(const Handle& object) {
  std::array<char, 1024> name{};
  check(H5Iget_name(object.get(), name.data(), name.size()), "H5Iget_name");
  return name.data();
}

ValueClass value_class(const Handle& dataset) {
  silence();
  const Handle type(check(H5Dget_type(dataset.get()), "H5Dget_type " + object_name(dataset.get())));
  switch (H5Tget_class(type.get())) {
    case H5T_STRING: return ValueClass::string;
    case H5T_INTEGER: return ValueClass::integer;
    case H5T_FLOAT: return ValueClass::floating;
    default: return ValueClass::other;
  }
}

bool has_attribute(const Handle& object, const std::string& name) {
  silence();
  return check(H5Aexists(object.get(), name.c_str()), "H5Aexists @" + name) > 0;
}

bool exists(const Handle& parent, const std::string& path) {
  silence();
  // H5Lexists fails (rather than returning false) when an intermediate group is missing.
  std::string prefix;
  std::size_t at = 0;
  while (at <= path.size()) {
    const std::size_t slash = path.find('/', at);
    const std::size_t end = slash == std::string::npos ? path.size() : slash;
    prefix = path.substr(0, end);
    if (end > at && check(H5Lexists(parent.get(), prefix.c_str(), H5P_DEFAULT), "H5Lexists " + prefix) <= 0)
      return false;
    at = end + 1;
  }
  return true;
}

}  // namespace insitu::storage::h5
