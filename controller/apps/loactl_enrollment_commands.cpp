// loactl node enroll/revoke/keys, as requests to the API.
#include "loactl_enrollment_commands.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>

#include <sys/stat.h>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/common/time_text.hpp"
#include "loactl_api.hpp"
#include "loactl_common.hpp"
#include "loactl_media_output.hpp"

namespace loa::loactl {

namespace lc = loa::controller;

namespace {

/// "/api/v1/nodes/{node}" and what follows it.
std::string node_path(const std::string& node, std::string_view rest) {
    return "/api/v1/nodes/" + path_segment(node) + std::string(rest);
}

/// An instant of an answer in UTC ("2026-11-23T22:30:00.250Z", as format_utc writes it) in
/// UTC+7, as people read it; as given if it does not parse.
std::string local_text(const std::string& instant) {
    // parse_instant reads whole seconds: the milliseconds are added back.
    std::string seconds = instant;
    std::int64_t ms_us = 0;
    if (const auto dot = seconds.find('.'); dot != std::string::npos && seconds.ends_with("Z")) {
        const std::string ms = seconds.substr(dot + 1, seconds.size() - dot - 2);
        if (ms.size() == 3 && std::all_of(ms.begin(), ms.end(), ::isdigit)) {
            ms_us = std::stoll(ms) * 1000;
        }
        seconds = seconds.substr(0, dot) + "Z";
    }
    auto at = lc::parse_instant(seconds, lc::now_us());
    return at ? lc::format_local(*at + ms_us) : instant;
}

}  // namespace

EnrollmentCommands::EnrollmentCommands(CLI::App* node, const std::string& /*data*/) {
    enroll_ = node->add_subcommand(
        "enroll",
        "issue a one-time token with which a device registers its key as this node "
        "(registering the node first when --area and --kind are given)");
    enroll_->add_option("node", node_, "node id, e.g. ta-van-01")->required();
    enroll_->add_option("--area", area_, "area path, for a node not registered yet");
    enroll_->add_option("--kind", kind_, "speaker or panel, for a node not registered yet")
        ->check(CLI::IsMember({"speaker", "panel"}));
    enroll_->add_option("--tz", time_zone_, "IANA time zone, for a node not registered yet")
        ->capture_default_str();
    enroll_->add_option("--expires-hours", expires_hours_, "the token works this long")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    enroll_->add_option("--token-file", token_file_,
                        "write the token to this file (mode 0600) instead of printing it");
    enroll_->add_option("--public-key", public_key_,
                        "register this device key (Z85) directly instead of issuing a token: "
                        "for devices whose keys were made at the workshop");
    enroll_->add_option("--endpoint", endpoint_hint_,
                        "the enrollment endpoint devices reach, for the printed instruction "
                        "(e.g. tcp://loa.example.vn:5600)");
    revoke_ = node->add_subcommand(
        "revoke",
        "cut a node off now and refuse it until it enrolls again (lost or stolen "
        "device); its history stays");
    revoke_->add_option("node", node_, "node id")->required();
    revoke_->add_option("--reason", reason_, "why, for the action log");
    keys_ = node->add_subcommand("keys", "the keys a node has enrolled, and which are retired");
    keys_->add_option("node", node_, "node id")->required();
    for (CLI::App* cmd : {enroll_, revoke_, keys_}) {
        cmd->add_option("--lang", lang_, "vi or en")
            ->check(CLI::IsMember({"vi", "en"}))
            ->capture_default_str();
    }
}

bool EnrollmentCommands::parsed() const {
    return enroll_->parsed() || revoke_->parsed() || keys_->parsed();
}

int EnrollmentCommands::run(bool json) const {
    if (enroll_->parsed()) {
        return enroll(json);
    }
    if (revoke_->parsed()) {
        return revoke(json);
    }
    return keys(json);
}

int EnrollmentCommands::enroll(bool json) const {
    const bool vi = lang_ == "vi";
    nlohmann::json order = {{"expires_hours", expires_hours_}};
    if (!area_.empty()) {
        order["area"] = area_;
    }
    if (!kind_.empty()) {
        order["kind"] = kind_;
        order["time_zone"] = time_zone_;  // only for a node registered with its token
    }
    if (!public_key_.empty()) {
        order["public_key"] = public_key_;
    }
    if (!token_file_.empty()) {
        order["to_file"] = true;
    }
    // JSON always: the token goes to a file or into the instruction printed here.
    auto answer = send(with_json({"POST", node_path(node_, "/enrollment")}, order));
    if (!answer) {
        return 1;
    }
    if (!answer->ok()) {
        return print_refusal(*answer);
    }
    auto out = nlohmann::json::parse(answer->body, nullptr, false);
    if (!out.is_object()) {
        return refused(
            {lc::Error::Code::storage,
             "câu trả lời của bộ điều khiển không phải JSON / the controller's answer is "
             "not JSON"});
    }
    const std::string kind = out.value("kind", "");
    const std::string area = out.value("area", "");
    const std::string controller_key = out.value("controller_key", "");
    if (!public_key_.empty()) {
        if (json) {
            std::cout << answer->body;
        } else {
            fmt::print(
                fmt::runtime(vi ? "Đã ghi danh khóa {} cho nút {}.\nKhóa của bộ điều khiển: {}\n"
                                : "Key {} enrolled for node {}.\nController key: {}\n"),
                public_key_, node_, controller_key);
        }
        return 0;
    }
    const std::string token = out.value("token", "");
    if (!token_file_.empty()) {
        const mode_t old_mask = ::umask(077);
        std::ofstream file(token_file_, std::ios::trunc);
        ::umask(old_mask);
        file << token << "\n";
        if (!file) {
            return refused({lc::Error::Code::storage,
                            token_file_ + ": không ghi được mã / cannot write the token"});
        }
    }
    const std::string endpoint =
        endpoint_hint_.empty() ? std::string("tcp://<controller>:<port>") : endpoint_hint_;
    const std::string shown = token_file_.empty() ? token : "$(cat " + token_file_ + ")";
    if (json) {
        if (!token_file_.empty()) {
            out.erase("token");  // it is in the file, not on the screen
            out["token_file"] = token_file_;
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    fmt::print(fmt::runtime(vi ? "Mã ghi danh cho nút {} ({}, {}), dùng một lần, hết hạn lúc {}:\n"
                               : "Enrollment token for node {} ({}, {}), one use, expires {}:\n"),
               node_, kind, area, local_text(out.value("expires", "")));
    fmt::print("  {}\n", token_file_.empty() ? token : token_file_);
    fmt::print(
        fmt::runtime(vi ? "Trên thiết bị, chạy:\n  loa-node enroll --controller {} --token {}\n"
                        : "On the device, run:\n  loa-node enroll --controller {} --token {}\n"),
        endpoint, shown);
    return 0;
}

int EnrollmentCommands::revoke(bool json) const {
    nlohmann::json body = nlohmann::json::object();
    if (!reason_.empty()) {
        body["reason"] = reason_;
    }
    return loactl::run(with_json({"POST", node_path(node_, "/revoke")}, body), json, lang_);
}

int EnrollmentCommands::keys(bool json) const {
    return loactl::run({"GET", node_path(node_, "/keys")}, json, lang_);
}

}  // namespace loa::loactl
