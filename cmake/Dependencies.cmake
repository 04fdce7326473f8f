# Debian packages only (scripts/deps installs them); nothing is downloaded at build time.
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(GTest REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(HDF5 REQUIRED COMPONENTS C)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SERIALPORT REQUIRED IMPORTED_TARGET libserialport)
pkg_check_modules(FFTW3 REQUIRED IMPORTED_TARGET fftw3)
find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)

# Boost 1.74's Asio with C++20 coroutines; GCC 12 needs <utility> before awaitable.hpp,
# which drivers/io/asio.hpp takes care of. Everyone includes Asio through that header.
add_library(insitu_asio INTERFACE)
target_link_libraries(insitu_asio INTERFACE Boost::headers Threads::Threads)
target_compile_definitions(insitu_asio INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_DISABLE_STD_EXPERIMENTAL_STRING_VIEW)

add_library(insitu_hdf5 INTERFACE)
target_include_directories(insitu_hdf5 INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
target_link_libraries(insitu_hdf5 INTERFACE ${HDF5_C_LIBRARIES})
target_compile_definitions(insitu_hdf5 INTERFACE ${HDF5_DEFINITIONS})

# The service (insitud): the queue in SQLite, notifications through libcurl, readiness and watchdog through
# libsystemd's sd_notify, JSON for the API.
find_package(SQLiteCpp REQUIRED)
find_package(CURL REQUIRED)
find_package(nlohmann_json REQUIRED)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)

# Bluesky event-model documents published over ZeroMQ (cppzmq over libzmq).
find_package(cppzmq REQUIRED)

# The beamline's control system (Tango suspenders): the client library, linked by drivers/tango alone.
pkg_check_modules(TANGO REQUIRED IMPORTED_TARGET tango)
