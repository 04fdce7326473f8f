#pragma once
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace insitu::analysis::test {

inline std::string shared_pdf_path(const std::string& relative) { return INSITU_SHARED_DIR "/data/pdf/" + relative; }

inline std::string read_text(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace insitu::analysis::test
