// docs/openapi.json: valid OpenAPI 3.0 by the official JSON Schema, the same operations as
// ApiServer::routes(), and real answers of a running ApiServer that match its schemas. The JSON
// Schema checks run Debian's python3-jsonschema (tests/controller/openapi_check.py).
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/core.h>
#include <catch2/catch.hpp>

#include "api_fixture.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;
namespace fs = std::filesystem;

namespace {

const fs::path kRepo = fs::path(__FILE__).parent_path().parent_path().parent_path();
const fs::path kSpec = kRepo / "docs" / "openapi.json";
const fs::path kChecker = kRepo / "tests" / "controller" / "openapi_check.py";
/// Debian's package openapi-specification.
const fs::path kOfficialSchema = "/usr/share/openapi-specification/schemas/v3.0/schema.json";
/// Debian's python, whose jsonschema is the package python3-jsonschema.
const fs::path kPython = "/usr/bin/python3";

std::string quoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

nlohmann::json read_spec() {
    std::ifstream in(kSpec);
    REQUIRE(in);
    return nlohmann::json::parse(in);
}

/// The tools the checks need, or a failure that says how to get them.
void require_tools() {
    INFO(
        "install them: apt-get install -y --no-install-recommends openapi-specification "
        "python3-jsonschema (deploy/install-deps.sh)");
    REQUIRE(fs::exists(kOfficialSchema));
    int status = 0;
    capture_shell(quoted(kPython.string()) + " -c 'import jsonschema' 2>&1", &status);
    REQUIRE(status == 0);
}

/// Runs openapi_check.py with `args`; its exit status, and what it printed in `output`.
int run_checker(const std::string& args, std::string& output) {
    int status = 0;
    output = capture_shell(
        fmt::format("{} {} {} 2>&1", quoted(kPython.string()), quoted(kChecker.string()), args),
        &status);
    return status;
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

/// `node` with a $ref to a component resolved.
const nlohmann::json& resolved(const nlohmann::json& spec, const nlohmann::json& node) {
    if (!node.is_object() || !node.contains("$ref")) {
        return node;
    }
    const auto ref = node.at("$ref").get<std::string>();
    REQUIRE(ref.rfind("#/", 0) == 0);
    return spec.at(nlohmann::json::json_pointer(ref.substr(1)));
}

/// Each real answer, checked against the spec by openapi_check.py.
struct AnswerChecker {
    TempDir dir;
    int checked = 0;

    void check(const std::string& method, const std::string& target, const Answer& answer) {
        const fs::path file = dir / fmt::format("answer-{}", ++checked);
        write_file(file, answer.body);
        std::string output;
        const int status = run_checker(
            fmt::format("answer {} {} {} {} {} {}", quoted(kSpec.string()), method, quoted(target),
                        answer.status, quoted(answer.content_type), quoted(file.string())),
            output);
        INFO(method << " " << target << " → " << answer.status << "\n" << output);
        CHECK(status == 0);
    }
};

}  // namespace

TEST_CASE("OpenAPI: docs/openapi.json is valid OpenAPI 3.0 by the official JSON Schema",
          "[openapi]") {
    require_tools();
    std::string output;
    const int status = run_checker(
        fmt::format("spec {} {}", quoted(kSpec.string()), quoted(kOfficialSchema.string())),
        output);
    INFO(output);
    CHECK(status == 0);

    // The validator does see a broken spec: no info, a schema of no type there is.
    auto broken = read_spec();
    broken.erase("info");
    broken["paths"]["/api/v1/areas"]["get"]["responses"]["200"]["content"]["application/json"]
          ["schema"] = {{"type", "list"}};
    TempDir dir;
    write_file(dir / "broken.json", broken.dump());
    std::string refusal;
    CHECK(run_checker(fmt::format("spec {} {}", quoted((dir / "broken.json").string()),
                                  quoted(kOfficialSchema.string())),
                      refusal) == 1);
    CHECK(refusal.find("'info' is a required property") != std::string::npos);
}

TEST_CASE("OpenAPI: the spec has every route of ApiServer::routes() and no other", "[openapi]") {
    const auto spec = read_spec();
    REQUIRE(spec.at("openapi").get<std::string>().rfind("3.0.", 0) == 0);
    // A token is needed unless an operation says otherwise.
    REQUIRE(spec.at("security") == nlohmann::json::parse(R"([{"bearerAuth": []}])"));
    REQUIRE(spec.at("components").at("securitySchemes").at("bearerAuth").at("scheme") == "bearer");

    const auto routes = lc::ApiServer::routes();
    std::set<std::pair<std::string, std::string>> served;
    for (const auto& route : routes) {
        INFO(route.method << " " << route.path);
        served.emplace(lower(route.method), route.path);
        REQUIRE(spec.at("paths").contains(route.path));
        const auto& item = spec.at("paths").at(route.path);
        REQUIRE(item.contains(lower(route.method)));
        const auto& op = item.at(lower(route.method));
        CHECK(op.value("summary", "") == route.summary);
        CHECK_FALSE(op.value("operationId", "").empty());
        const auto& responses = op.at("responses");
        if (route.open) {
            // Open: no token needed. `[]`, or a token optional (`[{}, {"bearerAuth": []}]`).
            REQUIRE(op.contains("security"));
            const auto& security = op.at("security");
            CHECK((security.empty() || std::find(security.begin(), security.end(),
                                                 nlohmann::json::object()) != security.end()));
        } else {
            CHECK_FALSE(op.contains("security"));  // the global bearer token
            CHECK(responses.contains("401"));
        }
        // Every path parameter is declared, as a required path parameter.
        std::set<std::string> declared;
        for (const auto& p : op.value("parameters", nlohmann::json::array())) {
            const auto& param = resolved(spec, p);
            if (param.at("in") == "path") {
                CHECK(param.value("required", false));
                declared.insert(param.at("name").get<std::string>());
            }
        }
        std::set<std::string> in_path;
        for (auto open = route.path.find('{'); open != std::string::npos;
             open = route.path.find('{', open + 1)) {
            in_path.insert(route.path.substr(open + 1, route.path.find('}', open) - open - 1));
        }
        CHECK(declared == in_path);
        // Refusals answer the Error object.
        for (const auto& [status, response] : responses.items()) {
            if (status[0] == '4' || status[0] == '5') {
                const auto dump = resolved(spec, response).dump();
                INFO("response " << status);
                CHECK(dump.find("#/components/schemas/Error") != std::string::npos);
            }
        }
    }
    CHECK(served.size() == routes.size());  // no route twice

    std::set<std::string> operation_ids;
    std::size_t operations = 0;
    for (const auto& [path, item] : spec.at("paths").items()) {
        for (const auto& [method, op] : item.items()) {
            INFO("in the spec: " << method << " " << path);
            CHECK(served.contains({method, path}));
            CHECK(operation_ids.insert(op.value("operationId", "")).second);
            ++operations;
        }
    }
    CHECK(operations == routes.size());
}

TEST_CASE("OpenAPI: real answers of the API match the schemas the spec declares", "[openapi]") {
    require_tools();
    ApiFixture api;
    AnswerChecker checker;
    auto get = [&](const std::string& target, const std::string& who, int expected) {
        auto answer = api.get(target, who);
        INFO("GET " << target << ": " << answer.body);
        CHECK(answer.status == expected);
        checker.check("GET", target, answer);
        return answer;
    };
    auto post = [&](const std::string& target, const std::string& who, const nlohmann::json& body,
                    int expected) {
        auto answer = api.post(target, who, body);
        INFO("POST " << target << ": " << answer.body);
        CHECK(answer.status == expected);
        checker.check("POST", target, answer);
        return answer;
    };

    // Sign-in, and who a token stands for.
    auto login =
        post("/api/v1/login", "",
             {{"name", "operator"}, {"password", "mật-khẩu-operator"}, {"label", "cli"}}, 201);
    get("/api/v1/whoami", login.json().at("token").get<std::string>(), 200);
    post("/api/v1/login", "", {{"name", "operator"}}, 400);
    post("/api/v1/login", "", {{"name", "operator"}, {"password", "sai"}}, 403);

    // Nodes and areas.
    const nlohmann::json node = {
        {"node", "ta-van-01"}, {"kind", "speaker"}, {"area", ApiFixture::kCommune}};
    post("/api/v1/nodes", "operator", node, 201);
    post("/api/v1/nodes", "operator", node, 409);
    post("/api/v1/nodes", "approver", node, 403);
    get("/api/v1/nodes", "auditor", 200);
    get("/api/v1/nodes?format=table&lang=en", "auditor", 200);
    get("/api/v1/nodes/ta-van-01", "approver", 200);
    get("/api/v1/nodes/nowhere-01", "admin", 404);
    get("/api/v1/nodes", "", 401);
    get("/api/v1/areas", "auditor", 200);

    // Media, a campaign and its plays.
    const std::string media = api.tone(2.0);
    get("/api/v1/media", "operator", 200);
    get("/api/v1/media/" + media, "approver", 200);
    const nlohmann::json campaign = {{"campaign", "phong-chong-lu"},
                                     {"name", "Phòng chống lũ quét"},
                                     {"owner", "UBND xã Tả Van"},
                                     {"items", {media}},
                                     {"areas", {ApiFixture::kCommune}},
                                     {"start", "now+1m"},
                                     {"end", "now+2h"}};
    post("/api/v1/campaigns", "operator", campaign, 201);
    get("/api/v1/campaigns", "auditor", 200);
    get("/api/v1/campaigns/phong-chong-lu", "approver", 200);
    const nlohmann::json nothing = nlohmann::json::object();
    post("/api/v1/campaigns/phong-chong-lu/pause", "operator", nothing, 200);
    post("/api/v1/campaigns/phong-chong-lu/pause", "operator", nothing, 409);
    post("/api/v1/campaigns/phong-chong-lu/resume", "operator", nothing, 200);
    post("/api/v1/campaigns/nothing/pause", "admin", nothing, 404);
    get("/api/v1/schedules?node=ta-van-01&days=2", "auditor", 200);
    get("/api/v1/reports/airtime?campaign=phong-chong-lu&from=now-1d&to=now%2B1d", "auditor", 200);
    get("/api/v1/emergencies", "operator", 200);

    // Media records: shared with the commune, decided on there (the area named when two records
    // lie in the scope), their decisions.
    post("/api/v1/media/" + media + "/shares", "operator", {{"area", ApiFixture::kCommune}}, 201);
    post("/api/v1/media/" + media + "/shares", "operator", {{"area", ApiFixture::kCommune}}, 409);
    post("/api/v1/media/" + media + "/shares", "operator", nothing, 400);
    post("/api/v1/media/" + media + "/approve", "approver", nothing, 200);
    post("/api/v1/media/" + media + "/reject", "admin", nothing, 400);
    post("/api/v1/media/" + media + "/reject?area=" + std::string(ApiFixture::kCommune), "admin",
         {{"note", "sai"}}, 200);
    get("/api/v1/media/" + media + "/approvals", "operator", 200);
    get("/api/v1/media/" + media, "operator", 200);

    // People and the action log.
    get("/api/v1/users", "admin", 200);
    get("/api/v1/tokens", "operator", 200);
    get("/api/v1/actions?limit=5", "auditor", 200);
    post("/api/v1/users/operator/password", "operator",
         {{"current_password", "sai-mat-khau"}, {"password", "mật-khẩu-mới-đủ-dài"}}, 403);
    post("/api/v1/users/operator/password", "operator",
         {{"current_password", "mật-khẩu-operator"}, {"password", "mật-khẩu-mới-đủ-dài"}}, 200);
    post("/api/v1/users/approver/password", "admin", {{"password", "ngắn"}}, 400);
    post("/api/v1/login", "", {{"name", "Không Phải Tên"}, {"password", "mật-khẩu-dài"}}, 400);

    get("/metrics", "auditor", 200);
    CHECK(checker.checked >= 25);
}
