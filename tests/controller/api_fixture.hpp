// The HTTP API served on a loopback port over a scratch controller, with one signed-in person
// of each role and a real HTTP client.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "controller_fixture.hpp"
#include "loa/controller/api/http_api.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/people/action_log.hpp"
#include "loa/controller/people/people.hpp"

namespace loa::test {

/// What came back from one request.
struct Answer {
    int status = 0;
    std::string body;
    std::string content_type;
    httplib::Headers headers;

    nlohmann::json json() const { return nlohmann::json::parse(body); }
    /// The error's message of a refusal ("" if the body holds none).
    std::string error() const {
        auto j = nlohmann::json::parse(body, nullptr, false);
        return j.is_object() && j.contains("error") ? j["error"].value("message", "") : "";
    }
};

struct ApiFixture : ControllerFixture {
    /// People, by role: admin (every area), operator and approver of the commune Tả Van,
    /// auditor of the province Lào Cai, and an operator of another commune (Bản Hồ).
    static constexpr const char* kCommune = "vn/lao-cai/sa-pa/ta-van";
    static constexpr const char* kOtherCommune = "vn/lao-cai/sa-pa/ban-ho";
    std::map<std::string, std::string> tokens;
    std::unique_ptr<controller::ApiServer> server;

    explicit ApiFixture(controller::ApiOptions options = {}) {
        person("admin", controller::Role::admin, "/");
        person("operator", controller::Role::operator_, kCommune);
        person("approver", controller::Role::approver, kCommune);
        person("auditor", controller::Role::auditor, "vn/lao-cai");
        person("other-operator", controller::Role::operator_, kOtherCommune);
        options.port = 0;
        options.data_dir = dir.path();
        server = std::make_unique<controller::ApiServer>(options);
        auto started = server->start();
        REQUIRE(started.has_value());
    }

    void person(const std::string& name, controller::Role role, const std::string& area) {
        auto user = loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
            return controller::add_user(tx, {name, "", role, area, "mật-khẩu-" + name},
                                        controller::now_us());
        });
        REQUIRE(user.has_value());
        auto token = loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
            return controller::issue_token(tx, user->user_id, "test", std::nullopt,
                                           controller::now_us());
        });
        REQUIRE(token.has_value());
        tokens[name] = token->secret;
    }

    httplib::Client client() const {
        httplib::Client c("127.0.0.1", server->port());
        c.set_read_timeout(30, 0);
        return c;
    }

    static Answer answer(const httplib::Result& r) {
        REQUIRE(r);  // the server answered at all
        return {r->status, r->body, r->get_header_value("Content-Type"), r->headers};
    }

    httplib::Headers auth(const std::string& who) const {
        if (who.empty()) {
            return {};
        }
        auto it = tokens.find(who);
        return {{"Authorization", "Bearer " + (it == tokens.end() ? who : it->second)}};
    }

    /// GET `path` as `who` (a role's person, "" for no token, or a raw token).
    Answer get(const std::string& path, const std::string& who) const {
        return answer(client().Get(path.c_str(), auth(who)));
    }

    Answer post(const std::string& path, const std::string& who, const nlohmann::json& body) const {
        return answer(client().Post(path.c_str(), auth(who), body.dump(), "application/json"));
    }

    Answer post_raw(const std::string& path, const std::string& who, const std::string& body,
                    const std::string& content_type = "application/octet-stream") const {
        return answer(client().Post(path.c_str(), auth(who), body, content_type.c_str()));
    }

    Answer del(const std::string& path, const std::string& who) const {
        return answer(client().Delete(path.c_str(), auth(who)));
    }

    /// Rows of the action log with `action`, oldest first.
    std::vector<controller::LoggedAction> logged(const std::string& action) {
        controller::ActionFilter filter;
        filter.action = action;
        auto rows = controller::list_actions(*db, filter);
        REQUIRE(rows.has_value());
        return *rows;
    }
};

}  // namespace loa::test
