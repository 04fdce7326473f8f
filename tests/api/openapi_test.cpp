// The served OpenAPI document and the server agree: every operation it names is served, every route is in it,
// and every reference in it resolves.
#include <gtest/gtest.h>

#include "daemon/api/routes.hpp"
#include "tests/api/api_fixture.hpp"

namespace insitu::api::test {
namespace {

const std::vector<std::string> http_methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

void collect_references(const nlohmann::json& node, std::vector<std::string>& references) {
  if (node.is_object()) {
    if (const auto it = node.find("$ref"); it != node.end()) references.push_back(*it);
    for (const auto& [name, child] : node.items()) collect_references(child, references);
  } else if (node.is_array()) {
    for (const auto& child : node) collect_references(child, references);
  }
}

class OpenApi : public ApiTest {
 protected:
  OpenApi() {
    start();
    HttpClient client(tcp());
    const auto reply = client.call(http::verb::get, "/api/v1/openapi.json");
    EXPECT_EQ(reply.result_int(), 200u);
    document_ = json_of(reply);
  }
  nlohmann::json document_;
};

TEST_F(OpenApi, IsAnOpenApi3DocumentOfTheApi) {
  EXPECT_EQ(document_["openapi"], "3.0.3");
  EXPECT_EQ(document_["info"]["title"], "insitud control API");
  EXPECT_TRUE(document_["paths"].is_object());
}

TEST_F(OpenApi, EveryOperationInItIsServed) {
  HttpClient client(tcp());
  int operations = 0;
  for (const auto& [path, item] : document_["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      ASSERT_NE(std::find(http_methods.begin(), http_methods.end(), method), http_methods.end()) << method;
      std::string target = path;
      if (const auto at = target.find("{id}"); at != std::string::npos) target.replace(at, 4, "1");
      const auto verb = http::string_to_verb(upper(method));
      ASSERT_NE(verb, http::verb::unknown) << method;
      http::request<http::string_body> request{verb, target, 11};
      request.set(http::field::authorization, "Bearer " + test_token);
      const auto status = client.send(request).result_int();
      EXPECT_NE(status, 404u) << method << " " << path;
      EXPECT_NE(status, 405u) << method << " " << path;
      ++operations;
    }
  }
  EXPECT_EQ(operations, static_cast<int>(routes().size()));
}

TEST_F(OpenApi, EveryRouteIsInIt) {
  for (const Route& route : routes()) {
    const std::string path(route.path);
    const auto method = lower(std::string_view(to_string(route.method).data(), to_string(route.method).size()));
    ASSERT_TRUE(document_["paths"].contains(path)) << path;
    EXPECT_TRUE(document_["paths"][path].contains(method)) << method << " " << path;
    const auto& operation = document_["paths"][path][method];
    EXPECT_TRUE(operation.contains("responses"));
    const auto& security = operation["security"];
    if (route.endpoint == api::Endpoint::page) {
      EXPECT_EQ(security, nlohmann::json::array({nlohmann::json::object()})) << "the live view's files: " << path;
    } else {
      EXPECT_EQ(security.size(), route.mutates ? 1u : 2u) << "reads may go without the token: " << path;
    }
  }
}

TEST_F(OpenApi, EveryReferenceResolves) {
  std::vector<std::string> references;
  collect_references(document_, references);
  EXPECT_GT(references.size(), 20u);
  for (const auto& reference : references) {
    ASSERT_TRUE(reference.starts_with("#/")) << reference;
    EXPECT_TRUE(document_.contains(nlohmann::json::json_pointer(reference.substr(1)))) << reference;
  }
}

}  // namespace
}  // namespace insitu::api::test
