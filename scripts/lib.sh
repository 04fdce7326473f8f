# Shared by scripts/demo, scripts/test and scripts/bench: install what is missing, configure, build.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian packages the build, the tests and the reference comparisons need. bitshuffle puts the HDF5 filter
# plugin (32008) in Debian's default plugin folder, /usr/lib/<arch>/hdf5/serial/plugins; python3-pyfai and
# python3-fabio make the integration references and cross-read frame files at test time; python3-periodictable
# holds the X-ray form-factor table; python3-aiosmtpd is the mail server the notification tests send to;
# cppzmq-dev publishes the Bluesky documents, python3-zmq/-jsonschema/-yaml receive and check them and the recipes;
# chromium is the browser the live view's test drives (tests/web, with playwright-core from npm); libtango-dev is
# the Tango client the beamline suspenders read with, python3-tango the device server they are tested against;
# python3-silx (with its Qt) opens run files the way users' viewers do.
insitu_packages=(
  build-essential cmake ninja-build pkg-config
  libboost-dev libserialport-dev libyaml-cpp-dev libhdf5-dev hdf5-tools bitshuffle
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libcli11-dev libssl-dev
  libeigen3-dev libfftw3-dev libtiff-dev nlohmann-json3-dev
  libsqlite3-dev libsqlitecpp-dev libcurl4-openssl-dev libsystemd-dev libtango-dev
  python3-h5py python3-numpy python3-periodictable python3-pyfai python3-fabio python3-aiosmtpd python3-silx
  cppzmq-dev python3-zmq python3-jsonschema python3-yaml chromium python3-tango
)

ensure_packages() {
  local missing=()
  for p in "${insitu_packages[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "insitu: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The browser test's npm packages (tests/web/package-lock.json), from the npm registry: tests only, never the build.
ensure_test_npm_packages() {
  command -v npm >/dev/null || ensure_packages nodejs npm
  (cd "$repo_root/tests/web" && npm ci --no-audit --no-fund --silent)
}

build_preset() {
  local preset=${1:-release}
  cd "$repo_root"
  [ -f "build/$preset/build.ninja" ] || cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -- -j"$(nproc)"
}
