// The token file: made once with mode 0600 whatever the umask, reused, and refused when others could read it.
#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "daemon/api/token.hpp"

namespace insitu::api {
namespace {

std::filesystem::path temporary_directory() {
  std::string pattern = (std::filesystem::temp_directory_path() / "insitu-token-XXXXXX").string();
  return ::mkdtemp(pattern.data());
}

class TokenFile : public ::testing::Test {
 protected:
  ~TokenFile() override { std::filesystem::remove_all(dir_); }

  std::string refusal() {
    try {
      load_or_create_token(dir_);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  }

  std::filesystem::path dir_ = temporary_directory();
  std::filesystem::path file_ = dir_ / "token";
};

TEST_F(TokenFile, IsMadeOnceWithMode0600AndReused) {
  const mode_t previous = ::umask(0);
  const auto token = load_or_create_token(dir_);
  ::umask(previous);
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos);
  struct stat info {};
  ASSERT_EQ(::stat(file_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(load_or_create_token(dir_), token);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1) << "no temporary file left";

  std::filesystem::remove(file_);
  EXPECT_NE(load_or_create_token(dir_), token) << "a new token is new";
}

TEST_F(TokenFile, OneReadableByGroupOrOthersIsRefused) {
  load_or_create_token(dir_);
  std::filesystem::permissions(file_, std::filesystem::perms::group_read, std::filesystem::perm_options::add);
  EXPECT_EQ(refusal(), "token file " + file_.string() +
                           ": mode 0640 lets group or others read it; chmod 600 it or remove it");
  std::filesystem::permissions(file_, std::filesystem::perms::owner_read | std::filesystem::perms::others_read);
  EXPECT_NE(refusal().find("mode 0404"), std::string::npos);
}

TEST_F(TokenFile, AFileThatIsNotATokenIsRefused) {
  std::ofstream(file_) << "secret\n";
  std::filesystem::permissions(file_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_NE(refusal().find("does not hold a 64-digit hex token"), std::string::npos);
}

TEST_F(TokenFile, ALinkInItsPlaceIsRefused) {
  std::filesystem::create_symlink("/etc/hostname", file_);
  EXPECT_EQ(refusal(), "token file " + file_.string() + ": not a regular file");
}

TEST_F(TokenFile, AMissingStateDirectoryIsAClearError) {
  std::filesystem::remove_all(dir_);
  EXPECT_NE(refusal().find("No such file or directory"), std::string::npos);
}

TEST(Tokens, CompareWholeAndExact) {
  EXPECT_TRUE(tokens_equal("abc", "abc"));
  EXPECT_FALSE(tokens_equal("abc", "abd"));
  EXPECT_FALSE(tokens_equal("abc", "abcd"));
  EXPECT_FALSE(tokens_equal("", "a"));
}

}  // namespace
}  // namespace insitu::api
