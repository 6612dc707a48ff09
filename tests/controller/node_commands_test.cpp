// Commands and emergencies in the store: checked before anything is queued, due until answered,
// expired instead of sent late, answers kept once, emergencies cancelled.
#include <catch2/catch.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "controller_fixture.hpp"
#include "loa/controller/audit/confirmation_ingest.hpp"
#include "loa/controller/fleet/emergencies.hpp"
#include "loa/controller/fleet/node_commands.hpp"
#include "media_fixtures.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;

namespace {

struct Commands : ControllerFixture {
    std::string audio;
    Commands() {
        node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
        node("ta-van-02", "vn/lao-cai/sa-pa/ta-van");
        REQUIRE(loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
            return lc::add_node(
                tx, {.node_id = "bang-sa-pa", .kind = "panel", .area_path = "vn/lao-cai/sa-pa"},
                kNow);
        }));
        audio = tone(2.0);
    }

    std::string picture() {
        auto file = dir / "ap-phich.png";
        make_picture(file, "192x64");
        lc::ImportOptions options;
        options.use = lc::MediaUse::panel;
        auto imported = loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
            return lc::import_media(tx, store, file, "Áp phích", kNow, options);
        });
        REQUIRE(imported.has_value());
        return approve(imported->media.media_hash);
    }

    lc::EmergencySpec emergency() {
        lc::EmergencySpec spec;
        spec.media_hash = audio;
        spec.node_ids = {"ta-van-01"};
        spec.expires_us = kNow + 3600 * kSecondUs;
        return spec;
    }

    void nothing_queued() {
        CHECK(count("emergencies") == 0);
        CHECK(count("commands") == 0);
    }
};

wire::Command volume(std::uint32_t percent) {
    wire::Command c;
    c.mutable_set_volume()->set_percent(percent);
    return c;
}

wire::CommandResult result(std::uint64_t id, bool ok, const std::string& message) {
    wire::CommandResult r;
    r.set_command_id(id);
    r.set_ok(ok);
    r.set_message(message);
    r.set_done_us(kNow + kSecondUs);
    return r;
}

}  // namespace

TEST_CASE("a command is queued for a known node with its id and time, and refused otherwise") {
    Commands f;
    auto queued = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::queue_command(tx, "ta-van-01", volume(70), kNow);
    });
    REQUIRE(queued.has_value());
    CHECK(queued->command_id >= 1);
    CHECK(queued->state == "pending");
    CHECK(queued->kind == "set-volume");
    auto stored = lc::find_command(*f.db, queued->command_id);
    REQUIRE(stored.has_value());
    CHECK(stored->command.command_id() == queued->command_id);
    CHECK(stored->command.issued_us() == kNow);
    CHECK(stored->command.set_volume().percent() == 70);
    CHECK(lc::command_summary(stored->command, lc::Language::vi) == "âm lượng 70 %");

    wire::Command log;
    std::string why;
    std::string node = "ta-van-01";
    SECTION("an unknown node") {
        log = volume(10);
        node = "ke-la";
        why = "no node 'ke-la'";
    }
    SECTION("volume out of range") {
        log = volume(101);
        why = "volume 101 % is not within 0..100";
    }
    SECTION("an empty log") {
        log.mutable_send_log()->set_max_bytes(0);
        why = "a log of 0 bytes";
    }
    SECTION("a log over 1 MiB") {
        log.mutable_send_log()->set_max_bytes(lc::kMaxLogBytes + 1);
        why = "1 MiB";
    }
    SECTION("no action") {
        why = "no action";
    }
    auto refused = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::queue_command(tx, node, log, kNow);
    });
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().message.find(why) != std::string::npos);
    CHECK(f.count("commands") == 1);
}

TEST_CASE("commands are due until answered, an answer is stored once") {
    Commands f;
    auto first = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::queue_command(tx, "ta-van-01", volume(40), kNow);
    });
    wire::Command log;
    log.mutable_send_log()->set_max_bytes(4096);
    auto second = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::queue_command(tx, "ta-van-01", log, kNow);
    });
    auto other = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::queue_command(tx, "ta-van-02", volume(90), kNow);
    });
    REQUIRE((first && second && other));

    auto due = lc::due_commands(*f.db, "ta-van-01", kNow + kSecondUs);
    REQUIRE(due.has_value());
    REQUIRE(due->due.size() == 2);
    CHECK(due->due.at(0).command_id() == first->command_id);  // oldest first
    CHECK(due->due.at(1).send_log().max_bytes() == 4096);

    auto answer = result(second->command_id, true, "4096 bytes");
    answer.set_log_tail(std::string("dòng cuối\n\xff\xfe", 15));  // logs need not be UTF-8
    CHECK(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
              return lc::record_command_result(tx, "ta-van-01", answer, kNow + 2 * kSecondUs);
          }) == true);
    CHECK(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
              return lc::record_command_result(
                  tx, "ta-van-01", result(second->command_id, false, "late"), kNow + 3 * kSecondUs);
          }) == false);
    // Another node's command, or none at all: nothing changes.
    CHECK(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
              return lc::record_command_result(tx, "ta-van-01", result(other->command_id, true, ""),
                                               kNow);
          }) == false);
    CHECK(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
              return lc::record_command_result(tx, "ta-van-01", result(777, true, ""), kNow);
          }) == false);
    CHECK_FALSE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::record_command_result(tx, "ta-van-01", result(0, true, ""), kNow);
    }));

    auto stored = lc::find_command(*f.db, second->command_id);
    REQUIRE(stored.has_value());
    CHECK(stored->state == "done");
    CHECK(stored->ok == true);
    CHECK(stored->message == "4096 bytes");
    CHECK(stored->log_tail == std::string("dòng cuối\n\xff\xfe", 15));
    CHECK(stored->done_us == kNow + kSecondUs);
    CHECK(stored->answered_us == kNow + 2 * kSecondUs);
    CHECK(lc::find_command(*f.db, other->command_id)->state == "pending");

    due = lc::due_commands(*f.db, "ta-van-01", kNow + 4 * kSecondUs);
    REQUIRE(due->due.size() == 1);
    CHECK(due->due.at(0).command_id() == first->command_id);

    auto listed = lc::list_commands(*f.db, "ta-van-01", true);
    REQUIRE(listed.has_value());
    REQUIRE(listed->size() == 1);
    CHECK(lc::list_commands(*f.db)->size() == 3);
    CHECK_FALSE(lc::list_commands(*f.db, "ke-la").has_value());
    // JSON replaces what is not UTF-8 in a node's log instead of failing.
    auto json = lc::commands_json({*stored});
    CHECK(json.dump().find("dòng cuối") != std::string::npos);
    CHECK(lc::render_commands(*lc::list_commands(*f.db), lc::Language::en)
              .find("OK: 4096 bytes (15 bytes of log)") != std::string::npos);
}

TEST_CASE("an emergency past its expiry is marked expired, never due") {
    Commands f;
    auto spec = f.emergency();
    auto sent = loa::controller::write_directly(
        *f.db, [&](loa::controller::WriteTx& tx) { return lc::send_emergency(tx, spec, kNow); });
    REQUIRE(sent.has_value());
    auto due = lc::due_commands(*f.db, "ta-van-01", spec.expires_us - 1);
    REQUIRE(due.has_value());
    REQUIRE(due->due.size() == 1);
    CHECK(due->due.at(0).emergency().expires_us() == spec.expires_us);
    due = lc::due_commands(*f.db, "ta-van-01", spec.expires_us);
    REQUIRE(due.has_value());
    CHECK(due->due.empty());
    // Reading leaves it pending: the gateway has the writer mark it expired.
    REQUIRE(due->expired.size() == 1);
    CHECK(due->expired[0].command_id == static_cast<std::int64_t>(sent->command_ids.at(0)));
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::expire_commands(tx, due->expired);
    }));
    auto stored = lc::find_command(*f.db, sent->command_ids.at(0));
    CHECK(stored->state == "expired");
    CHECK(stored->message.find("expired at") != std::string::npos);
}

TEST_CASE(
    "an emergency sent again says how many of its plays the controller already holds from the "
    "node") {
    Commands f;
    auto spec = f.emergency();
    spec.repeat = 3;
    spec.node_ids = {"ta-van-01", "ta-van-02"};
    auto sent = loa::controller::write_directly(
        *f.db, [&](loa::controller::WriteTx& tx) { return lc::send_emergency(tx, spec, kNow); });
    REQUIRE(sent.has_value());
    auto due = lc::due_commands(*f.db, "ta-van-01", kNow + kSecondUs);
    REQUIRE(due.has_value());
    REQUIRE(due->due.size() == 1);
    CHECK(due->due[0].emergency().plays_confirmed() == 0);
    // Plays 1 and 2 reported, the command's result lost; then the node's store is wiped.
    wire::PlaybackReport report;
    for (int n : {1, 2}) {
        auto* c = report.add_confirmations();
        c->set_seq(static_cast<std::uint64_t>(n));
        c->set_slot_id(fmt::format("emergency:{}:{}", sent->emergency_id, n));
        c->set_emergency_id(sent->emergency_id);
        c->set_media_hash(f.audio);
        c->set_planned_start_us(kNow + n * 10 * kSecondUs);
        c->set_actual_start_us(kNow + n * 10 * kSecondUs);
        c->set_actual_end_us(kNow + n * 10 * kSecondUs + 2 * kSecondUs);
        c->set_outcome(wire::PLAYED);
    }
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::ingest_confirmations(tx, "ta-van-01", report, kNow + 30 * kSecondUs);
    }));
    due = lc::due_commands(*f.db, "ta-van-01", kNow + 40 * kSecondUs);
    REQUIRE(due.has_value());
    REQUIRE(due->due.size() == 1);
    CHECK(due->due[0].emergency().plays_confirmed() == 2);
    CHECK(due->due[0].emergency().repeat() == 3);
    // Another node's plays are its own.
    due = lc::due_commands(*f.db, "ta-van-02", kNow + 40 * kSecondUs);
    REQUIRE(due.has_value());
    REQUIRE(due->due.size() == 1);
    CHECK(due->due[0].emergency().plays_confirmed() == 0);
}

TEST_CASE("an emergency is refused for bad input and nothing is queued") {
    Commands f;
    auto spec = f.emergency();
    std::string why;
    SECTION("an unknown node") {
        spec.node_ids = {"ta-van-01", "ke-la"};
        why = "no node 'ke-la'";
    }
    SECTION("unknown media") {
        spec.media_hash = std::string(64, 'a');
        why = "is not imported media";
    }
    SECTION("audio for a panel board") {
        spec.node_ids = {"ta-van-01", "bang-sa-pa"};
        why = "node 'bang-sa-pa' is a panel board and media";
    }
    SECTION("a picture for loudspeakers") {
        spec.media_hash = f.picture();
        why = "node 'ta-van-01' is a loudspeaker cluster";
    }
    SECTION("expiring in the past") {
        spec.expires_us = kNow - kSecondUs;
        why = "not ahead of now";
    }
    SECTION("repeat 0") {
        spec.repeat = 0;
        why = "repeat 0";
    }
    SECTION("no nodes chosen") {
        spec.node_ids.clear();
        why = "choose the nodes";
    }
    SECTION("two ways of choosing nodes") {
        spec.all = true;
        why = "choose the nodes one way";
    }
    SECTION("an area without nodes") {
        spec.node_ids.clear();
        spec.area = "vn/ha-noi";
        why = "area 'vn/ha-noi' has no node";
    }
    SECTION("an area without a node of the right kind") {
        spec.node_ids.clear();
        spec.media_hash = f.picture();
        spec.area = "vn/lao-cai/sa-pa/ta-van";
        why = "has no panel board";
    }
    SECTION("an unknown campaign") {
        spec.campaign_id = "khong-co";
        why = "no campaign 'khong-co'";
    }
    auto refused = loa::controller::write_directly(
        *f.db, [&](loa::controller::WriteTx& tx) { return lc::send_emergency(tx, spec, kNow); });
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == lc::Error::Code::invalid_input);
    INFO(refused.error().message);
    CHECK(refused.error().message.starts_with("emergency: "));
    CHECK(refused.error().message.find(why) != std::string::npos);
    f.nothing_queued();
}

TEST_CASE("an emergency to an area goes to its nodes of the right kind, one command each") {
    Commands f;
    auto spec = f.emergency();
    spec.node_ids.clear();
    spec.area = "vn/lao-cai/sa-pa";
    spec.until_expiry = true;
    spec.title = "Lũ quét";
    auto sent = loa::controller::write_directly(
        *f.db, [&](loa::controller::WriteTx& tx) { return lc::send_emergency(tx, spec, kNow); });
    REQUIRE(sent.has_value());
    CHECK(sent->emergency_id == "kc-20261124-053000");
    CHECK(sent->node_ids == std::vector<std::string>{"ta-van-01", "ta-van-02"});
    CHECK(sent->left_out == std::vector<std::string>{"bang-sa-pa"});
    CHECK(sent->command_ids.size() == 2);
    auto again = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::send_emergency(tx, spec, kNow);
    });  // the same second: another id
    REQUIRE(again.has_value());
    CHECK(again->emergency_id == "kc-20261124-053000-2");

    auto all = lc::list_emergencies(*f.db);
    REQUIRE(all.has_value());
    REQUIRE(all->size() == 2);
    const auto& e = all->at(1);
    CHECK(e.emergency_id == sent->emergency_id);
    CHECK(e.title == "Lũ quét");
    CHECK(e.until_expiry);
    CHECK(e.nodes == 2);
    CHECK(e.pending == 2);

    // A picture goes to the panels only.
    auto pictures = f.emergency();
    pictures.node_ids.clear();
    pictures.all = true;
    pictures.media_hash = f.picture();
    auto shown = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::send_emergency(tx, pictures, kNow);
    });
    REQUIRE(shown.has_value());
    CHECK(shown->node_ids == std::vector<std::string>{"bang-sa-pa"});
    auto due = lc::due_commands(*f.db, "bang-sa-pa", kNow);
    REQUIRE(due->due.size() == 1);
    CHECK(due->due.at(0).emergency().kind() == wire::SLOT_IMAGE);
    CHECK(due->due.at(0).emergency().duration_us() == 10 * kSecondUs);
}

TEST_CASE("cancelling an emergency withdraws what is unanswered and tells every node") {
    Commands f;
    auto spec = f.emergency();
    spec.node_ids = {"ta-van-01", "ta-van-02"};
    auto sent = loa::controller::write_directly(
        *f.db, [&](loa::controller::WriteTx& tx) { return lc::send_emergency(tx, spec, kNow); });
    REQUIRE(sent.has_value());
    // ta-van-01 already played it.
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::record_command_result(tx, "ta-van-01",
                                         result(sent->command_ids[0], true, "played 1 time"), kNow);
    }));

    auto cancelled = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::cancel_emergency(tx, sent->emergency_id, kNow + kSecondUs);
    });
    REQUIRE(cancelled.has_value());
    CHECK(cancelled->withdrawn == 1);
    CHECK(cancelled->node_ids == std::vector<std::string>{"ta-van-01", "ta-van-02"});
    CHECK(lc::find_command(*f.db, sent->command_ids[0])->state == "done");
    CHECK(lc::find_command(*f.db, sent->command_ids[1])->state == "cancelled");
    for (const auto& node : {"ta-van-01", "ta-van-02"}) {
        auto due = lc::due_commands(*f.db, node, kNow + 2 * kSecondUs);
        REQUIRE(due->due.size() == 1);
        CHECK(due->due.at(0).cancel_emergency().emergency_id() == sent->emergency_id);
    }
    // A cancel is pointless once the emergency has expired: it expires with it.
    CHECK(lc::due_commands(*f.db, "ta-van-02", spec.expires_us)->due.empty());

    auto listed = lc::list_emergencies(*f.db);
    REQUIRE(listed.has_value());
    CHECK(listed->at(0).cancelled_us == kNow + kSecondUs);
    CHECK(listed->at(0).done_ok == 1);
    CHECK(listed->at(0).cancelled == 1);

    auto twice = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::cancel_emergency(tx, sent->emergency_id, kNow + 2 * kSecondUs);
    });
    REQUIRE_FALSE(twice.has_value());
    CHECK(twice.error().message.find("already cancelled") != std::string::npos);
    CHECK_FALSE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
                    return lc::cancel_emergency(tx, "kc-khong-co", kNow);
                }).has_value());
    auto late = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::send_emergency(tx, f.emergency(), kNow);
    });
    REQUIRE(late.has_value());
    auto expired = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::cancel_emergency(tx, late->emergency_id, kNow + 7200 * kSecondUs);
    });
    REQUIRE_FALSE(expired.has_value());
    CHECK(expired.error().message.find("nothing left to cancel") != std::string::npos);
}
