// The live view's files: served to any peer without the token (code, no data), with their content types.
#include <gtest/gtest.h>

#include "tests/api/api_fixture.hpp"

namespace insitu::api::test {
namespace {

class Page : public ApiTest {
 protected:
  Page() { start(); }
};

TEST_F(Page, TheLiveViewIsServedWithoutTheToken) {
  HttpClient client(tcp());
  const auto page = client.call(http::verb::get, "/", "");
  EXPECT_EQ(page.result_int(), 200u);
  EXPECT_EQ(page[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_NE(page.body().find("<script src=\"/live.js\">"), std::string::npos) << page.body();
  const auto script = client.call(http::verb::get, "/live.js", "");
  EXPECT_EQ(script.result_int(), 200u);
  EXPECT_EQ(script[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_NE(script.body().find("/api/v1/ws"), std::string::npos);
  const auto style = client.call(http::verb::get, "/live.css", "");
  EXPECT_EQ(style[http::field::content_type], "text/css; charset=utf-8");
  EXPECT_NE(style.body().find(".uplot"), std::string::npos);
  EXPECT_EQ(client.call(http::verb::post, "/", "").result_int(), 405u);
  EXPECT_EQ(client.call(http::verb::get, "/report.js", "").result_int(), 404u);
  EXPECT_TRUE(control_.calls().empty());
}

}  // namespace
}  // namespace insitu::api::test
