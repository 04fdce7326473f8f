#include "daemon/api/token.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace insitu::api {
namespace {

constexpr std::size_t token_bytes = 32;

std::runtime_error failure(const std::filesystem::path& path, std::string_view what) {
  return std::runtime_error(fmt::format("token file {}: {}", path.string(), what));
}

std::string random_token() {
  std::array<unsigned char, token_bytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("token: the system's random generator failed");
  }
  std::string hex;
  for (const unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}

bool is_token(std::string_view text) {
  return text.size() == 2 * token_bytes &&
         text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

void write_all(int fd, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw failure(path, std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// O_EXCL so that nothing already there (a link planted by someone else included) is written through.
int create_exclusive(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 && errno == EEXIST) {  // left by a start that died here with the same pid
    ::unlink(path.c_str());
    fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  }
  if (fd < 0) throw failure(path, std::strerror(errno));
  return fd;
}

// Written whole under a temporary name and renamed: a reader never sees half a token.
std::string create_token(const std::filesystem::path& path) {
  const std::string token = random_token();
  const auto temporary = std::filesystem::path(path).concat(fmt::format(".new.{}", ::getpid()));
  const int fd = create_exclusive(temporary);
  try {
    if (::fchmod(fd, 0600) != 0) throw failure(temporary, std::strerror(errno));  // whatever the umask
    write_all(fd, token + "\n", temporary);
    if (::fsync(fd) != 0) throw failure(temporary, std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(temporary.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    throw failure(path, std::strerror(error));
  }
  return token;
}

std::string read_token(const std::filesystem::path& path, const struct stat& info) {
  if (!S_ISREG(info.st_mode)) throw failure(path, "not a regular file");
  if ((info.st_mode & 077) != 0) {
    throw failure(path, fmt::format("mode {:04o} lets group or others read it; chmod 600 it or remove it",
                                    info.st_mode & 07777));
  }
  std::ifstream in(path);
  std::string token;
  if (!(in >> token)) throw failure(path, "cannot be read");
  if (!is_token(token)) throw failure(path, "does not hold a 64-digit hex token; remove it to make a new one");
  return token;
}

}  // namespace

std::string load_or_create_token(const std::filesystem::path& state_dir) {
  const auto path = state_dir / "token";
  struct stat info {};
  if (::lstat(path.c_str(), &info) == 0) return read_token(path, info);
  if (errno != ENOENT) throw failure(path, std::strerror(errno));
  return create_token(path);
}

bool tokens_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace insitu::api
