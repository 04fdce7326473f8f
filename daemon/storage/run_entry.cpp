#include "daemon/storage/run_entry.hpp"

#include <openssl/evp.h>

#include <cctype>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "daemon/storage/schema.hpp"
#include "drivers/io/clock.hpp"

namespace insitu::storage {
namespace {

namespace s = schema;

std::string sha256_hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("sha256 of the recipe text failed (OpenSSL EVP_Digest)");
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

void write_recipe(const h5::Handle& entry, const RunMetadata& m) {
  h5::Handle recipe = h5::create_group(entry, s::recipe::group, s::nx::note);
  h5::write_string(recipe, s::note::type, "application/yaml");
  h5::write_string(recipe, s::note::data, m.recipe_text);
  h5::write_string(recipe, s::recipe::checksum, sha256_hex(m.recipe_text));
  h5::write_string(recipe, "algorithm", "sha256");
  h5::write_string(recipe, s::note::file_name, m.recipe_path);
  h5::write_string(recipe, s::note::description, m.recipe_name);
}

void write_stage(const h5::Handle& entry, const RunMetadata& m) {
  h5::Handle instrument = h5::open_group(entry, s::instrument::group);
  h5::Handle controller = h5::create_group(instrument, s::instrument::controller, s::nx::environment);
  h5::write_string(controller, "name", m.stage_model);
  h5::write_string(controller, "model", m.stage_model);
  h5::write_string(controller, "connection", m.stage_connection);
  h5::write_scalar(controller, "clock_speed", m.clock_speed, s::unit::dimensionless);
  h5::write_scalar(controller, "simulated", std::int64_t{m.simulated ? 1 : 0});
}

void write_sample_state(const h5::Handle& sample, const SampleStateRecord& state) {
  h5::Handle g = h5::create_group(sample, s::sample::state, s::nx::collection);
  h5::write_string(g, s::sample::state_label, state.label);
  h5::write_string(g, s::sample::deformation, state.deformation);
  h5::write_scalar(g, s::sample::rotations, state.rotations);
  h5::write_scalar(g, s::sample::deformation_temperature, state.deformation_temperature_K, s::unit::kelvin);
  h5::write_scalar(g, s::sample::storage_temperature, state.storage_temperature_K, s::unit::kelvin);
}

}  // namespace

std::chrono::system_clock::time_point parse_iso8601_utc(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6)
    throw std::runtime_error("start_time_iso '" + text + "': expected YYYY-MM-DDTHH:MM:SS[.fff]Z");
  std::size_t at = static_cast<std::size_t>(consumed);
  double fraction_s = 0;
  if (at < text.size() && text[at] == '.') {
    double scale = 0.1;
    for (++at; at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])); ++at, scale /= 10)
      fraction_s += (text[at] - '0') * scale;
  }
  const std::string zone = text.substr(at);
  if (zone != "Z" && zone != "+00:00")
    throw std::runtime_error("start_time_iso '" + text + "': at character " + std::to_string(at + 1) +
                             ": expected UTC ('Z' or '+00:00')");
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t whole = timegm(&tm);
  return std::chrono::system_clock::from_time_t(whole) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(fraction_s));
}

h5::Handle write_run_entry(const h5::Handle& file, const std::filesystem::path& path, const RunMetadata& m,
                           RunEntryParts parts) {
  using h5::set_attribute;
  h5::Handle root = h5::open_group(file, "/");
  set_attribute(root, s::attr::nx_class, s::nx::root);
  set_attribute(root, s::attr::default_, std::string(s::entry).substr(1));
  set_attribute(root, "creator", m.program_name + " " + m.program_version);
  set_attribute(root, "file_name", path.filename().string());
  set_attribute(root, "file_time", io::iso8601_utc(std::chrono::system_clock::now()));
  set_attribute(root, "HDF5_Version", h5::library_version());

  h5::Handle entry = h5::create_group(file, s::entry, s::nx::entry);
  h5::write_string(entry, s::entry_field::title, m.recipe_name + " on " + m.sample_name);
  h5::write_string(entry, s::entry_field::start_time, m.start_time_iso);
  set_attribute(h5::write_string(entry, s::entry_field::program_name, m.program_name), "version", m.program_version);
  if (parts.recipe) write_recipe(entry, m);

  h5::Handle sample = h5::create_group(entry, s::sample::group, s::nx::sample);
  h5::write_string(sample, s::sample::name, m.sample_name);
  h5::write_string(sample, s::sample::chemical_formula, m.sample_composition);
  h5::write_string(sample, s::sample::description, m.sample_description);
  h5::write_string(sample, s::sample::treatment, m.sample_treatment);
  if (m.sample_state) write_sample_state(sample, *m.sample_state);
  h5::create_group(entry, s::instrument::group, s::nx::instrument);
  if (parts.stage) write_stage(entry, m);
  return entry;
}

void write_end_of_run(const h5::Handle& entry, const std::string& start_time_iso, double end_time_s,
                      const std::string& exit_status) {
  const auto end = parse_iso8601_utc(start_time_iso) + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                                            std::chrono::duration<double>(end_time_s));
  h5::write_string(entry, s::entry_field::end_time, io::iso8601_utc(end));
  h5::write_scalar(entry, s::entry_field::duration, end_time_s, s::unit::second);
  h5::write_string(entry, s::entry_field::exit_status, exit_status);
}

}  // namespace insitu::storage
