// loactl node enroll/revoke/keys.
#include "loactl_enrollment_commands.hpp"

#include <fstream>
#include <iostream>

#include <sys/stat.h>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/node_enrollment.hpp"
#include "loa/controller/node_registry.hpp"
#include "loa/controller/time_text.hpp"
#include "loa/protocol/curve_keys.hpp"
#include "loactl_common.hpp"

namespace loa::loactl {

namespace lc = loa::controller;

EnrollmentCommands::EnrollmentCommands(CLI::App* node, const std::string& data) : data_(data) {
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
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "node.enroll");
    if (!who) {
        return 1;
    }
    Change change(*db, *who, "node.enroll", node_, area_.empty() ? who->area : area_);
    const std::int64_t now = lc::now_us();
    auto node = lc::find_node(*db, node_);
    if (!node) {
        if (area_.empty() || kind_.empty()) {
            return change.refused(
                {lc::Error::Code::not_found,
                 fmt::format("node '{}' is not registered: give --area and --kind to register "
                             "it with its token",
                             node_)});
        }
        if (!change.allowed(lc::Permission::manage_nodes, area_)) {
            return 1;
        }
        lc::NodeRecord record;
        record.node_id = node_;
        record.kind = kind_;
        record.area_path = area_;
        record.time_zone = time_zone_;
        auto added = lc::add_node(*db, record, now);
        if (!added) {
            return change.refused(added.error());
        }
        Change add(*db, *who, "node.add", node_, area_);
        add.done({{"kind", kind_}, {"time_zone", time_zone_}});
        node = *added;
    } else {
        change.set_area(node->area_path);
        if ((!area_.empty() && area_ != node->area_path) ||
            (!kind_.empty() && kind_ != node->kind)) {
            return change.refused(
                {lc::Error::Code::conflict,
                 fmt::format("node '{}' is already registered as a {} in {}; leave out --area and "
                             "--kind to enroll a new key for it",
                             node_, node->kind, node->area_path)});
        }
        if (!change.allowed(lc::Permission::manage_nodes)) {
            return 1;
        }
    }
    auto keys = protocol::load_or_create_key_file(lc::controller_key_file(data_));
    if (!keys) {
        return change.refused({lc::Error::Code::storage, keys.error()});
    }
    if (!public_key_.empty()) {
        if (auto enrolled = lc::enroll_key(*db, node_, public_key_, now, true); !enrolled) {
            return change.refused(enrolled.error());
        }
        change.done({{"public_key", public_key_}});
        if (json) {
            std::cout << nlohmann::json{{"node", node_},
                                        {"area", node->area_path},
                                        {"kind", node->kind},
                                        {"public_key", public_key_},
                                        {"controller_key", keys->public_key}}
                      << "\n";
        } else {
            fmt::print(
                fmt::runtime(vi ? "Đã ghi danh khóa {} cho nút {}.\nKhóa của bộ điều khiển: {}\n"
                                : "Key {} enrolled for node {}.\nController key: {}\n"),
                public_key_, node_, keys->public_key);
        }
        return 0;
    }
    auto issued = lc::issue_enrollment_token(
        *db, node_, keys->public_key, who->name, now,
        static_cast<std::int64_t>(expires_hours_ * 3600.0 * 1'000'000.0));
    if (!issued) {
        return change.refused(issued.error());
    }
    change.done({{"expires", lc::format_utc(issued->expires_us)},
                 {"to_file", !token_file_.empty()},
                 {"reinstates", node->revoked}});
    if (!token_file_.empty()) {
        const mode_t old_mask = ::umask(077);
        std::ofstream out(token_file_, std::ios::trunc);
        ::umask(old_mask);
        out << issued->token << "\n";
        if (!out) {
            return refused({lc::Error::Code::storage, token_file_ + ": cannot write the token"});
        }
    }
    const std::string endpoint =
        endpoint_hint_.empty() ? std::string("tcp://<controller>:<port>") : endpoint_hint_;
    const std::string shown = token_file_.empty() ? issued->token : "$(cat " + token_file_ + ")";
    if (json) {
        nlohmann::json out{{"node", node_},
                           {"area", node->area_path},
                           {"kind", node->kind},
                           {"expires", lc::format_utc(issued->expires_us)},
                           {"controller_key", keys->public_key}};
        if (token_file_.empty()) {
            out["token"] = issued->token;
        } else {
            out["token_file"] = token_file_;
        }
        std::cout << out << "\n";
        return 0;
    }
    fmt::print(fmt::runtime(vi ? "Mã ghi danh cho nút {} ({}, {}), dùng một lần, hết hạn lúc {}:\n"
                               : "Enrollment token for node {} ({}, {}), one use, expires {}:\n"),
               node_, node->kind, node->area_path, lc::format_local(issued->expires_us));
    fmt::print("  {}\n", token_file_.empty() ? issued->token : token_file_);
    fmt::print(
        fmt::runtime(vi ? "Trên thiết bị, chạy:\n  loa-node enroll --controller {} --token {}\n"
                        : "On the device, run:\n  loa-node enroll --controller {} --token {}\n"),
        endpoint, shown);
    return 0;
}

int EnrollmentCommands::revoke(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "node.revoke");
    if (!who) {
        return 1;
    }
    Change change(*db, *who, "node.revoke", node_, who->area);
    auto node = lc::find_node(*db, node_);
    if (!node) {
        return change.refused(node.error());
    }
    change.set_area(node->area_path);
    if (!change.allowed(lc::Permission::manage_nodes)) {
        return 1;
    }
    const std::int64_t now = lc::now_us();
    if (auto revoked = lc::revoke_node(*db, node_, reason_, now); !revoked) {
        return change.refused(revoked.error(), {{"reason", reason_}});
    }
    change.done({{"reason", reason_}});
    if (json) {
        std::cout << nlohmann::json{{"node", node_}, {"revoked", lc::format_utc(now)}} << "\n";
    } else {
        fmt::print(fmt::runtime(lang_ == "vi"
                                    ? "Đã thu hồi nút {}: bị ngắt trong vòng một nhịp tim và bị từ "
                                      "chối cho đến khi ghi danh lại.\n"
                                    : "Node {} revoked: cut off within one heartbeat and refused "
                                      "until it enrolls again.\n"),
                   node_);
    }
    return 0;
}

int EnrollmentCommands::keys(bool json) const {
    const bool vi = lang_ == "vi";
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "node.keys");
    if (!who || !may_read_node(*db, *who, node_, "node.keys")) {
        return 1;
    }
    auto keys = lc::node_keys(*db, node_);
    if (!keys) {
        return refused(keys.error());
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& key : *keys) {
        out.push_back({{"public_key", key.public_key},
                       {"enrolled", lc::format_utc(key.enrolled_us)},
                       {"retired", key.retired_us ? lc::format_utc(*key.retired_us) : ""},
                       {"retired_reason", key.retired_reason}});
    }
    return print_listing(
        json, out, keys->empty(),
        vi ? "Nút này chưa ghi danh khóa nào (loactl node enroll)."
           : "This node has enrolled no key yet (loactl node enroll).",
        [&] {
            std::string text;
            for (const auto& key : *keys) {
                text += fmt::format(
                    "{}  {}  {}\n", key.public_key, lc::format_local(key.enrolled_us),
                    key.retired_us ? (vi ? "thôi dùng: " : "retired: ") + key.retired_reason
                                   : std::string(vi ? "đang dùng" : "active"));
            }
            return text;
        });
}

}  // namespace loa::loactl
