// POST /api/v1/users/{name}/password over real loopback HTTP: a person changes their own with the
// current password, an admin of the scope sets another's without it; the person's other tokens are
// revoked in the same change; refusals change nothing and are logged; no password is ever logged.
#include <fmt/core.h>
#include <catch2/catch.hpp>

#include "api_fixture.hpp"
#include "loa/controller/people/action_log.hpp"
#include "loa/controller/people/people.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;
using Catch::Matchers::Contains;

namespace {

/// A fresh token for `who` by logging in with `password`; empty when refused.
std::string sign_in(const ApiFixture& api, const std::string& who, const std::string& password) {
    auto in = api.post("/api/v1/login", "", {{"name", who}, {"password", password}});
    return in.status == 201 ? in.json().at("token").get<std::string>() : std::string();
}

/// Every row's text in the action log, to look for passwords.
std::string whole_log(ApiFixture& api) {
    std::string text;
    const auto rows = lc::list_actions(*api.db, {});
    REQUIRE(rows);
    for (const auto& row : *rows) {
        text += row.actor + row.target + row.detail.dump() + "\n";
    }
    return text;
}

}  // namespace

TEST_CASE("password API: people change their own with the current password, other tokens revoked",
          "[api][people][password]") {
    ApiFixture api;
    const std::string second = sign_in(api, "operator", "mật-khẩu-operator");
    REQUIRE_FALSE(second.empty());
    const std::string path = "/api/v1/users/operator/password";

    // Without the current password, with a wrong one, or a new one too short: refused, logged.
    auto without = api.post(path, "operator", {{"password", "mật-khẩu-mới-dài"}});
    CHECK(without.status == 400);
    CHECK_THAT(without.error(), Contains("current_password"));
    auto wrong = api.post(path, "operator",
                          {{"current_password", "đoán-sai-rồi"}, {"password", "mật-khẩu-mới-dài"}});
    CHECK(wrong.status == 403);
    CHECK_THAT(wrong.error(), Contains("wrong") && Contains("current password"));
    auto short_one = api.post(path, "operator",
                              {{"current_password", "mật-khẩu-operator"}, {"password", "ngắn"}});
    CHECK(short_one.status == 400);
    CHECK_THAT(short_one.error(), Contains("at least 8 characters"));
    auto refused = api.logged("user.password");
    REQUIRE(refused.size() == 3);
    for (const auto& row : refused) {
        CHECK(row.outcome == lc::Outcome::refused);
    }
    CHECK_FALSE(sign_in(api, "operator", "mật-khẩu-operator").empty());  // unchanged

    auto changed =
        api.post(path, "operator",
                 {{"current_password", "mật-khẩu-operator"}, {"password", "mật-khẩu-mới-dài"}});
    REQUIRE(changed.status == 200);
    CHECK(changed.json().at("user") == "operator");
    // The fixture's token made the change and stays; the two logins' tokens are revoked.
    CHECK(changed.json().at("revoked_tokens") == 2);
    CHECK(changed.json().at("kept_token_id") ==
          lc::authenticate_token(*api.db, api.tokens["operator"], lc::now_us())->token_id);
    CHECK(api.get("/api/v1/whoami", "operator").status == 200);
    CHECK(api.get("/api/v1/whoami", second).status == 401);
    CHECK(sign_in(api, "operator", "mật-khẩu-operator").empty());
    CHECK_FALSE(sign_in(api, "operator", "mật-khẩu-mới-dài").empty());

    auto done = api.logged("user.password");
    REQUIRE(done.size() == 4);
    CHECK(done.back().outcome == lc::Outcome::done);
    CHECK(done.back().actor == "operator");
    CHECK(done.back().target == "operator");
    CHECK(done.back().area == ApiFixture::kCommune);
    CHECK(done.back().detail.at("revoked_tokens") == 2);
    CHECK(done.back().detail.at("own") == true);
    const std::string log = whole_log(api);
    for (const char* secret : {"mật-khẩu-mới-dài", "đoán-sai-rồi", "ngắn\""}) {
        CHECK(log.find(secret) == std::string::npos);
    }
    CHECK(changed.body.find("mật-khẩu-mới-dài") == std::string::npos);
}

TEST_CASE("password API: an admin of the scope sets another's without it, others may not",
          "[api][people][password]") {
    ApiFixture api;
    const std::string path = "/api/v1/users/approver/password";
    const nlohmann::json body = {{"password", "mật-khẩu-admin-đặt"}};

    // Not managing people: refused before the name is even looked up.
    for (const char* who : {"operator", "auditor", "other-operator"}) {
        INFO(who);
        auto refused = api.post(path, who, body);
        CHECK(refused.status == 403);
        CHECK_THAT(refused.error(), Contains("manage people"));
    }
    CHECK(api.post("/api/v1/users/nobody/password", "operator", body).status == 403);
    CHECK(api.post("/api/v1/users/nobody/password", "admin", body).status == 404);
    CHECK(api.post(path, "", body).status == 401);
    CHECK(api.logged("user.password").size() == 5);  // the 401 is access.refused
    CHECK(api.get("/api/v1/whoami", "approver").status == 200);

    auto set = api.post(path, "admin", body);
    REQUIRE(set.status == 200);
    CHECK(set.json().at("revoked_tokens") == 1);  // every token of the approver's
    CHECK(set.json().at("kept_token_id").is_null());
    CHECK(api.get("/api/v1/whoami", "approver").status == 401);
    CHECK(api.get("/api/v1/whoami", "admin").status == 200);
    CHECK_FALSE(sign_in(api, "approver", "mật-khẩu-admin-đặt").empty());
    auto row = api.logged("user.password").back();
    CHECK(row.outcome == lc::Outcome::done);
    CHECK(row.actor == "admin");
    CHECK(row.target == "approver");
    CHECK(row.detail.at("own") == false);

    // As a table, as loactl prints it.
    auto table = api.post("/api/v1/users/approver/password?format=table&lang=en", "admin",
                          {{"password", "mật-khẩu-lần-hai"}});
    REQUIRE(table.status == 200);
    CHECK_THAT(table.body, Contains("Đã đổi mật khẩu của 'approver'") &&
                               Contains("password of 'approver' changed"));
}

TEST_CASE("password API: a body nested deep or cut inside the password is refused without quoting",
          "[api][people][password]") {
    ApiFixture api;
    auto nested = api.post_raw("/api/v1/users/operator/password", "operator",
                               std::string(100'000, '['), "application/json");
    CHECK(nested.status == 400);
    CHECK_THAT(nested.error(), Contains("64"));
    auto cut = api.post_raw("/api/v1/users/operator/password", "operator",
                            R"({"current_password": "mật-khẩu-operator", "password": "bí-mật-)",
                            "application/json");
    CHECK(cut.status == 400);
    CHECK(cut.body.find("bí-mật") == std::string::npos);
}
