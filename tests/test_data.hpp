#pragma once
// Where tests find reference data: tests/data/ (sources and licences in tests/data/PROVENANCE.md), and the
// Waasmaier-Kirfel form-factor table of Debian's python3-periodictable, the file the daemon reads too.
#include <string>

namespace insitu::testdata {

inline std::string path(const std::string& relative) { return INSITU_SOURCE_DIR "/tests/data/" + relative; }

inline std::string form_factor_table() { return "/usr/lib/python3/dist-packages/periodictable/xsf/f0_WaasKirf.dat"; }

}  // namespace insitu::testdata
