#pragma once
// A thin RAII layer over the HDF5 C API (1.10, thread-safe build). The official C++ API has no SWMR
// or dataset flush and HighFive is not packaged, so the few calls we need are wrapped here.
// Every failing call throws h5::Error carrying the operation and the HDF5 error stack text.
#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace insitu::storage::h5 {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws Error("<operation>: <HDF5 error stack>") when `status` is negative; returns it otherwise.
hid_t check(hid_t status, const std::string& operation);

// Move-only owner of one hid_t; closes it with the H5?close that matches its identifier type.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(other.id_) { other.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& other) noexcept;
  ~Handle();

  hid_t get() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }
  // Closes now and throws on failure (the destructor cannot report errors, e.g. a failed final write).
  void close();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// ---- files ------------------------------------------------------------------------------------
// Exclusive create (an existing file is never overwritten) with libver bounds latest/latest,
// which H5Fstart_swmr_write requires.
Handle create_file(const std::filesystem::path& file);
// read_write_unlocked: HDF5's file locking off, for a writer that holds a lock of its own (RunFile's finish while
// SWMR readers keep their shared locks: file_lock.hpp).
enum class Access { read, read_write, swmr_read, read_write_unlocked };
Handle open_file(const std::filesystem::path& file, Access access);
// Read-write with the latest format, as SWMR writing (start_swmr) needs: a killed run's file taken up again.
Handle open_file_for_swmr(const std::filesystem::path& file);
// After this no group, dataset or attribute may be created (1.10.8 does not enforce it; we must).
void start_swmr(const Handle& file);
// fsync of the file descriptor: HDF5 flushes only reach the page cache (safe against a process
// crash, not against power loss or a kernel crash).
void sync_to_disk(const Handle& file);
std::string library_version();

// ---- groups, links, attributes --------------------------------------------------------------
// `nx_class` empty: a plain group without @NX_class.
Handle create_group(const Handle& parent, const std::string& name, const std::string& nx_class = {});
Handle open_group(const Handle& parent, const std::string& path);
// A soft link; an absolute `target_path` that exists gets @target=target_path (the NeXus mark of a linked object).
void soft_link(const Handle& parent, const std::string& target_path, const std::string& link_name);
// Unlinks `name` (regular mode only: SWMR forbids it).
void remove(const Handle& parent, const std::string& name);

void set_attribute(const Handle& object, const std::string& name, const std::string& value);
void set_attribute(const Handle& object, const std::string& name, const char* value);
void set_attribute(const Handle& object, const std::string& name, double value);
void set_attribute(const Handle& object, const std::string& name, std::int64_t value);
// A 1-D array of strings, e.g. NXdata @axes=["temperature", ".", "."].
void set_attribute(const Handle& object, const std::string& name, const std::vector<std::string>& values);

// ---- datasets -------------------------------------------------------------------------------
// Element type of a dataset: a native number or a fixed-length UTF-8 string of `length` bytes
// (SWMR forbids variable-length types).
struct Dtype {
  enum class Kind { f64, f32, u8, u16, u32, i32, i64, u64, string } kind = Kind::f64;
  std::size_t length = 0;  // bytes, strings only
  static Dtype fixed_string(std::size_t length) { return {Kind::string, length}; }
};
template <class T>
constexpr Dtype dtype_of();

// Scalar datasets; `units` empty: no @units.
Handle write_string(const Handle& parent, const std::string& name, const std::string& value);
Handle write_scalar(const Handle& parent, const std::string& name, double value, const std::string& units = {});
Handle write_scalar(const Handle& parent, const std::string& name, std::int64_t value,
                    const std::string& units = {});

enum class Filter { none, shuffle_deflate, bitshuffle_lz4 };
// Whether the filter (or its plugin, 32008 for bitshuffle) can encode on this machine. Check before a run.
bool filter_available(Filter filter);
// "bitshuffle+lz4", "shuffle+deflate" or "none": the name recorded in files and reports.
std::string filter_name(Filter filter);

// A chunked dataset of shape [0, tail...] growing along the first axis without limit.
struct ExtendableSpec {
  Dtype type;
  std::vector<hsize_t> tail_shape;  // empty: 1-D
  hsize_t chunk_rows = 1024;        // rows per chunk (frames: 1)
  Filter filter = Filter::none;     // none for slow 1-D logs: each SWMR flush rewrites the open chunk
  unsigned deflate_level = 1;
};
Handle create_extendable(const Handle& parent, const std::string& name, const ExtendableSpec& spec);

// A dataset of fixed `shape` stored as one chunk, so it may be filtered, and rewritten under SWMR
// (modifying existing data is allowed there). Unwritten elements read as `fill`.
struct FixedSpec {
  Dtype type;
  std::vector<hsize_t> shape;
  Filter filter = Filter::none;
  double fill = 0.0;  // converted to the element type; ignored for strings
  unsigned deflate_level = 1;
};
Handle create_fixed(const Handle& parent, const std::string& name, const FixedSpec& spec);

Handle open_dataset(const Handle& parent, const std::string& path);
// Any object (group, dataset, named type), e.g. to read its attributes.
Handle open_object(const Handle& parent, const std::string& path);
// Rows along the first axis (1 for a scalar dataset).
hsize_t rows(const Handle& dataset);
std::vector<hsize_t> shape(const Handle& dataset);
// Appends `n_rows` rows read from `data`, laid out as `memory_type` (HDF5 converts numbers to the
// dataset's type; fixed strings: `length` bytes each, NUL-padded). Prefer the typed overloads below.
// For N-D datasets `data` holds n_rows * prod(tail_shape) elements, row-major.
void append_rows(const Handle& dataset, const void* data, hsize_t n_rows, const Dtype& memory_type);
template <class T>
void append(const Handle& dataset, std::span<const T> values, hsize_t n_rows) {
  append_rows(dataset, values.data(), n_rows, dtype_of<T>());
}
template <class T>
void append(const Handle& dataset, std::span<const T> values) {  // 1-D: one value per row
  append_rows(dataset, values.data(), values.size(), dtype_of<T>());
}
// Appends to a fixed-length string dataset; longer values are cut at a UTF-8 character boundary.
void append_strings(const Handle& dataset, std::span<const std::string> values);
// Sets the number of rows along the first axis (shrinks or grows); new rows read as the fill value and
// take no space until written (how a missing frame keeps the frame index aligned).
void resize_rows(const Handle& dataset, hsize_t n_rows);
// Replaces the whole content: resizes an extendable dataset to `n_rows`, then writes every row. For a
// fixed dataset `n_rows` must equal its rows. `data` holds n_rows * prod(tail) elements of `memory_type`.
void write_rows(const Handle& dataset, const void* data, hsize_t n_rows, const Dtype& memory_type);
template <class T>
void write(const Handle& dataset, std::span<const T> values, hsize_t n_rows) {
  write_rows(dataset, values.data(), n_rows, dtype_of<T>());
}
template <class T>
void write(const Handle& dataset, std::span<const T> values) {  // 1-D
  write_rows(dataset, values.data(), values.size(), dtype_of<T>());
}
// Makes the rows written so far visible to SWMR readers (and survive a process crash).
void flush(const Handle& dataset);

// ---- readers (SWMR-read aware: they refresh the dataset before reading) ------------------------
// All elements, flattened row-major (so also N-D datasets); converted to T by HDF5.
template <class T>
std::vector<T> read_1d(const Handle& dataset);
std::vector<std::string> read_strings(const Handle& dataset);  // 1-D or scalar fixed-length strings
std::string read_string(const Handle& parent, const std::string& path);
std::string read_string_attribute(const Handle& object, const std::string& name);
std::vector<std::string> read_string_array_attribute(const Handle& object, const std::string& name);
double read_double_attribute(const Handle& object, const std::string& name);
bool has_attribute(const Handle& object, const std::string& name);
std::string object_path(const Handle& object);  // the path it was opened by, e.g. "/entry/analysis/run"
enum class ValueClass { string, integer, floating, other };
ValueClass value_class(const Handle& dataset);
// One row along the first axis of an N-D dataset (e.g. one frame of [N,H,W]), flattened, converted to T.
template <class T>
std::vector<T> read_row(const Handle& dataset, hsize_t row);
// The names of a group's links, in name order.
std::vector<std::string> link_names(const Handle& group);
// Whether `file` starts with an HDF5 signature (false for text, random bytes, a missing file).
bool is_hdf5(const std::filesystem::path& file);
bool exists(const Handle& parent, const std::string& path);

}  // namespace insitu::storage::h5

// ---- dtype_of ---------------------------------------------------------------------------------
namespace insitu::storage::h5 {
template <class T>
constexpr Dtype dtype_of() {
  using K = Dtype::Kind;
  if constexpr (std::is_same_v<T, double>) return {K::f64, 0};
  else if constexpr (std::is_same_v<T, float>) return {K::f32, 0};
  else if constexpr (std::is_same_v<T, std::uint8_t>) return {K::u8, 0};
  else if constexpr (std::is_same_v<T, std::uint16_t>) return {K::u16, 0};
  else if constexpr (std::is_same_v<T, std::uint32_t>) return {K::u32, 0};
  else if constexpr (std::is_same_v<T, std::int32_t>) return {K::i32, 0};
  else if constexpr (std::is_same_v<T, std::int64_t>) return {K::i64, 0};
  else if constexpr (std::is_same_v<T, std::uint64_t>) return {K::u64, 0};
  else static_assert(sizeof(T) == 0, "no HDF5 mapping for this element type");
}
}  // namespace insitu::storage::h5
