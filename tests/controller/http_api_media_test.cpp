// The media routes of the HTTP API over real loopback HTTP, for every role and for no token:
// uploads and speech imported, listed and shown within scope, approved and rejected by approvers,
// what nodes miss; refusals change nothing and every change and refusal is in the action log.
#include <catch2/catch.hpp>

#include <filesystem>

#include <fmt/core.h>

#include "api_fixture.hpp"
#include "loa/controller/fleet/node_media.hpp"
#include "loa/controller/people/action_log.hpp"
#include "media_fixtures.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;
namespace fs = std::filesystem;

namespace {

/// Every person of the fixture, and no token ("").
const std::vector<std::string> kEveryone = {"admin",   "operator",       "approver",
                                            "auditor", "other-operator", ""};

/// Files under `dir` and its subdirectories (0 when it does not exist).
std::size_t files_under(const fs::path& dir) {
    if (!fs::exists(dir)) {
        return 0;
    }
    std::size_t n = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        n += entry.is_regular_file() ? 1 : 0;
    }
    return n;
}

/// The entries of the action log with `action`, counted by outcome and actor.
std::size_t count(const std::vector<lc::LoggedAction>& log, lc::Outcome outcome,
                  const std::string& actor = {}) {
    return static_cast<std::size_t>(std::count_if(log.begin(), log.end(), [&](const auto& row) {
        return row.outcome == outcome && (actor.empty() || row.actor == actor);
    }));
}

/// The approval recorded for `hash` (which has one record), straight from the database.
std::string approval_of(ApiFixture& api, const std::string& hash) {
    SQLite::Statement q(*api.db, "SELECT approval FROM media_areas WHERE media_hash = ?");
    q.bind(1, hash);
    REQUIRE(q.executeStep());
    return q.getColumn(0).getString();
}

/// A 2 s tone uploaded by `who` (the operator of Tả Van unless said); its hash.
std::string uploaded_tone(ApiFixture& api, const std::string& who = "operator",
                          double frequency = 550.0) {
    const auto file = api.dir / fmt::format("ban-tin-{}.wav", frequency);
    make_tone(file, 2.0, 22050, frequency);
    auto up = api.post_raw("/api/v1/media?name=ban-tin.wav&title=B%E1%BA%A3n%20tin", who,
                           read_file(file), "audio/wav");
    INFO(up.body);
    REQUIRE(up.status == 201);
    return up.json().at("media_hash");
}

}  // namespace

TEST_CASE("API media: uploads are imported by those who import media, within their scope",
          "[api][media]") {
    ApiFixture api;
    const auto file = api.dir / "ban-tin.wav";
    make_tone(file, 2.0);
    const std::string bytes = read_file(file);
    const std::string path = "/api/v1/media?name=ban-tin.wav&title=B%E1%BA%A3n%20tin%20x%C3%A3";

    // Neither approvers nor auditors import; without a token nobody does. Nothing is stored.
    CHECK(api.post_raw(path, "approver", bytes).status == 403);
    auto by_auditor = api.post_raw(path, "auditor", bytes);
    CHECK(by_auditor.status == 403);
    CHECK(by_auditor.error().find("import media") != std::string::npos);
    CHECK(api.post_raw(path, "", bytes).status == 401);
    CHECK(api.count("media") == 0);
    CHECK(files_under(api.dir / "media") == 0);

    auto imported = api.post_raw(path, "operator", bytes, "audio/wav");
    INFO(imported.body);
    REQUIRE(imported.status == 201);
    const auto media = imported.json();
    CHECK(media.at("media_hash").get<std::string>().size() == 64);
    CHECK(media.at("title") == "Bản tin xã");
    CHECK(media.at("kind") == "audio");
    CHECK(media.at("codec") == "opus");
    CHECK(media.at("loudness_after_lufs").get<double>() == Approx(-23).margin(1.0));
    CHECK(media.at("approval") == "pending");
    CHECK(media.at("area") == ApiFixture::kCommune);  // the importer's scope
    CHECK(media.at("already_present") == false);
    CHECK(api.count("media") == 1);
    const std::string hash = media.at("media_hash");

    // The same content from the other commune: a record of its own there, pending; nobody's
    // record widens (http_api_media_scope_test.cpp).
    auto again = api.post_raw(path, "other-operator", bytes);
    REQUIRE(again.status == 201);
    CHECK(again.json().at("already_present") == false);
    CHECK(again.json().at("media_hash") == hash);
    CHECK(again.json().at("area") == ApiFixture::kOtherCommune);
    CHECK(again.json().at("approval") == "pending");
    // The admin imports anywhere (a record for every area); again, the one line people read.
    REQUIRE(api.post_raw(path, "admin", bytes).status == 201);
    auto table = api.post_raw(path + "&format=table", "admin", bytes);
    REQUIRE(table.status == 200);
    CHECK(table.content_type.find("text/plain") == 0);
    CHECK(table.body.starts_with(hash + " (đã có / already imported)"));
    // Again with another title: kept, and said so in both languages.
    auto retitled = api.post_raw(
        "/api/v1/media?name=ban-tin.wav&title=Tin%20m%E1%BB%9Bi&format=table", "admin", bytes);
    REQUIRE(retitled.status == 200);
    CHECK(retitled.body.find("tên «Tin mới» không được dùng") != std::string::npos);
    CHECK(retitled.body.find("\"Tin mới\" was not applied") != std::string::npos);
    CHECK(api.count("media") == 1);

    // Refusals: what the file is (named as the operator knows it), options, an empty body.
    auto text = api.post_raw("/api/v1/media?name=ghi-chu.txt", "operator", "không phải âm thanh");
    CHECK(text.status == 422);
    CHECK(text.error().find("ghi-chu.txt") != std::string::npos);
    CHECK(text.error().find("incoming") == std::string::npos);  // no path of the controller's
    const auto longer = api.dir / "dai.wav";
    make_tone(longer, 3.0, 22050, 660.0);
    auto too_long =
        api.post_raw("/api/v1/media?name=dai.wav&max_duration=1", "operator", read_file(longer));
    CHECK(too_long.status == 422);
    CHECK(too_long.error().starts_with("dai.wav: quá dài"));
    CHECK(too_long.error().find("too long: its header says it lasts 0:00:03 (3.0 s)") !=
          std::string::npos);
    CHECK(too_long.error().find("max_duration (API)") != std::string::npos);
    auto bitrate = api.post_raw("/api/v1/media?name=x.wav&bitrate=100", "operator", bytes);
    CHECK(bitrate.status == 400);
    CHECK(bitrate.error().find("an Opus bitrate of 100 bit/s") != std::string::npos);
    CHECK(api.post_raw("/api/v1/media?use=trumpet", "operator", bytes).status == 400);
    CHECK(api.post_raw("/api/v1/media?max_duration=abc", "operator", bytes).status == 400);
    CHECK(api.post_raw("/api/v1/media?name=..", "operator", bytes).status == 400);
    CHECK(api.post_raw("/api/v1/media?name=empty.wav", "operator", "").status == 400);
    CHECK(api.count("media") == 1);
    CHECK(files_under(api.dir / "incoming") == 0);  // uploads do not stay behind

    auto log = api.logged("media.import");
    CHECK(count(log, lc::Outcome::refused, "approver") == 1);
    CHECK(count(log, lc::Outcome::refused, "auditor") == 1);
    CHECK(count(log, lc::Outcome::done, "operator") == 1);
    CHECK(count(log, lc::Outcome::done, "other-operator") == 1);
    CHECK(count(log, lc::Outcome::done, "admin") == 3);  // new, again, again retitled
    // Not media, too long, the bitrate, the empty body; the parameters that do not parse are
    // refused before anything is tried.
    CHECK(count(log, lc::Outcome::refused, "operator") == 4);
    auto done = std::find_if(log.begin(), log.end(), [](const auto& row) {
        return row.actor == "operator" && row.outcome == lc::Outcome::done;
    });
    CHECK(done->target == hash);
    CHECK(done->area == ApiFixture::kCommune);
    CHECK(done->detail.at("file") == "ban-tin.wav");
    CHECK(api.logged("access.refused").size() == 1);  // no token
}

TEST_CASE("API media: a picture for the panels, and the uploader watches its import's stages",
          "[api][media]") {
    ApiFixture api;
    const auto poster = api.dir / "poster.png";
    make_picture(poster, "192x64");
    const std::string id = "0123456789abcdef";
    auto up = api.post_raw("/api/v1/media?use=panel&name=poster.png&progress=" + id, "operator",
                           read_file(poster), "image/png");
    INFO(up.body);
    REQUIRE(up.status == 201);
    CHECK(up.json().at("kind") == "image");
    CHECK(up.json().at("width") == 192);
    CHECK(up.json().at("title") == "poster");  // the name's stem

    auto watched = api.get("/api/v1/media/uploads/" + id + "?after=0", "operator");
    REQUIRE(watched.status == 200);
    const auto news = watched.json();
    CHECK(news.at("started") == true);
    CHECK(news.at("finished") == true);
    const auto& events = news.at("events");
    REQUIRE(events.size() >= 3);
    CHECK(events[0].at("stage") == "hash");
    CHECK(events.back().at("stage") == "store");
    CHECK(events.back().at("fraction").get<double>() == Approx(1.0));
    CHECK(news.at("next") == events.size());
    auto later =
        api.get(fmt::format("/api/v1/media/uploads/{}?after={}", id, events.size()), "operator");
    CHECK(later.json().at("events").empty());

    // Another person's upload reads as none; no token is refused.
    for (const std::string who : {"admin", "approver", "auditor", "other-operator"}) {
        auto theirs = api.get("/api/v1/media/uploads/" + id, who);
        REQUIRE(theirs.status == 200);
        CHECK(theirs.json().at("started") == false);
        CHECK(theirs.json().at("events").empty());
    }
    CHECK(api.get("/api/v1/media/uploads/" + id, "").status == 401);
    // An id that is not one, and an id in use.
    CHECK(
        api.post_raw("/api/v1/media?use=panel&progress=x", "operator", read_file(poster)).status ==
        400);
    CHECK(
        api.post_raw("/api/v1/media?use=panel&progress=" + id, "admin", read_file(poster)).status ==
        409);
    CHECK(api.count("media") == 1);
}

TEST_CASE("API media: lists and items are seen within scope, with their approvals",
          "[api][media]") {
    ApiFixture api;
    const std::string everywhere = api.tone(2.0, 330.0);  // imported for every area, approved
    const std::string commune = uploaded_tone(api);

    for (const auto& who : kEveryone) {
        auto listed = api.get("/api/v1/media", who);
        INFO(who);
        if (who.empty()) {
            CHECK(listed.status == 401);
            continue;
        }
        REQUIRE(listed.status == 200);
        // The other commune sees what was imported above it, not what Tả Van imported.
        CHECK(listed.json().size() == (who == "other-operator" ? 1U : 2U));
    }
    auto table = api.get("/api/v1/media?format=table", "operator");
    CHECK(table.body.find(commune + "  audio") != std::string::npos);
    CHECK(table.body.find("chờ duyệt") != std::string::npos);
    CHECK(table.body.find("đã duyệt") != std::string::npos);
    CHECK(api.get("/api/v1/media?format=table&lang=en", "operator").body.find("pending") !=
          std::string::npos);

    const std::vector<std::string> paths = {"/api/v1/media/" + commune,
                                            "/api/v1/media/" + commune + "/approvals"};
    for (const auto& path : paths) {
        for (const auto& who : kEveryone) {
            INFO(path << " as " << who);
            const int expected = who.empty() ? 401 : who == "other-operator" ? 403 : 200;
            CHECK(api.get(path, who).status == expected);
        }
        CHECK(api.get(path + "?format=table", "auditor").content_type.find("text/plain") == 0);
    }
    auto shown = api.get("/api/v1/media/" + commune, "auditor").json();
    CHECK(shown.at("original_name") == "ban-tin.wav");
    CHECK(shown.at("area") == ApiFixture::kCommune);
    CHECK(shown.at("approvals").empty());
    auto approved = api.get("/api/v1/media/" + everywhere + "/approvals", "other-operator");
    REQUIRE(approved.status == 200);
    REQUIRE(approved.json().size() == 1);
    CHECK(approved.json()[0].at("decision") == "approved");
    CHECK(api.get("/api/v1/media/" + std::string(64, 'f'), "admin").status == 404);
    CHECK(api.get("/api/v1/media/" + std::string(64, 'f') + "/approvals", "admin").status == 404);

    // Reads refused are logged: two by the other commune's operator, and the missing tokens.
    auto refusals = api.logged("access.refused");
    CHECK(std::count_if(refusals.begin(), refusals.end(),
                        [](const auto& r) { return r.actor == "other-operator"; }) == 2);
    CHECK(std::count_if(refusals.begin(), refusals.end(),
                        [](const auto& r) { return r.actor == "unknown"; }) == 3);
}

TEST_CASE("API media: approvers approve and reject within scope, others change nothing",
          "[api][media]") {
    ApiFixture api;
    api.node("ta-van-01", ApiFixture::kCommune);
    const std::string hash = uploaded_tone(api);
    const std::string approve = "/api/v1/media/" + hash + "/approve";
    const std::string reject = "/api/v1/media/" + hash + "/reject";

    for (const std::string who : {"operator", "auditor", "other-operator"}) {
        INFO(who);
        auto refused = api.post(approve, who, {{"note", "tự duyệt"}});
        CHECK(refused.status == 403);
        CHECK(refused.error().find("approve or reject media") != std::string::npos);
        CHECK(api.post(reject, who, nlohmann::json::object()).status == 403);
    }
    CHECK(api.post(approve, "", nlohmann::json::object()).status == 401);
    CHECK(api.post(reject, "", nlohmann::json::object()).status == 401);
    CHECK(api.count("approvals") == 0);
    CHECK(approval_of(api, hash) == "pending");

    auto approved = api.post(approve, "approver", {{"note", "đã nghe"}});
    INFO(approved.body);
    REQUIRE(approved.status == 200);
    CHECK(approved.json().at("approval") == "approved");
    CHECK(approved.json().at("previous") == "pending");
    CHECK(approved.json().at("decided_by") == "approver");
    CHECK(approval_of(api, hash) == "approved");
    auto twice = api.post(approve, "approver", nlohmann::json::object());
    CHECK(twice.status == 409);
    CHECK(api.post("/api/v1/media/" + std::string(64, 'e') + "/approve", "admin",
                   nlohmann::json::object())
              .status == 404);
    CHECK(api.post_raw(approve, "approver", "{\"note\": ", "application/json").status == 400);
    CHECK(api.count("approvals") == 1);

    // Booked, then rejected: its plays not yet started are taken back.
    auto booked = api.post("/api/v1/campaigns", "operator",
                           {{"campaign", "thien-tai"},
                            {"name", "Phòng chống thiên tai"},
                            {"items", {hash}},
                            {"areas", {ApiFixture::kCommune}},
                            {"start", "now+1m"},
                            {"end", "now+2h"}});
    REQUIRE(booked.status == 201);
    const auto plays = booked.json().at("slots_booked").get<std::size_t>();
    REQUIRE(plays > 0);
    auto rejected =
        api.post(reject + "?format=table&lang=en", "approver", {{"note", "sai số liệu"}});
    REQUIRE(rejected.status == 200);
    CHECK(rejected.body.find(fmt::format("Rejected {}", hash.substr(0, 12))) != std::string::npos);
    CHECK(rejected.body.find(fmt::format("{} plays not yet started taken back", plays)) !=
          std::string::npos);
    CHECK(approval_of(api, hash) == "rejected");
    auto by_admin = api.post(approve, "admin", nlohmann::json::object());
    REQUIRE(by_admin.status == 200);
    CHECK(by_admin.json().at("previous") == "rejected");

    auto history = api.get("/api/v1/media/" + hash + "/approvals", "operator").json();
    REQUIRE(history.size() == 3);
    CHECK(history[0].at("decided_by") == "approver");
    CHECK(history[0].at("note") == "đã nghe");
    CHECK(history[1].at("decision") == "rejected");
    CHECK(history[2].at("decided_by") == "admin");

    auto approvals = api.logged("media.approve");
    CHECK(count(approvals, lc::Outcome::refused, "operator") == 1);
    CHECK(count(approvals, lc::Outcome::refused, "auditor") == 1);
    CHECK(count(approvals, lc::Outcome::refused, "other-operator") == 1);
    CHECK(count(approvals, lc::Outcome::done, "approver") == 1);
    CHECK(count(approvals, lc::Outcome::refused, "approver") == 1);  // twice
    CHECK(count(approvals, lc::Outcome::refused, "admin") == 1);     // unknown media
    CHECK(count(approvals, lc::Outcome::done, "admin") == 1);
    auto rejections = api.logged("media.reject");
    CHECK(count(rejections, lc::Outcome::refused) == 3);
    REQUIRE(count(rejections, lc::Outcome::done, "approver") == 1);
    const auto& done = rejections.back();
    CHECK(done.target == hash);
    CHECK(done.area == ApiFixture::kCommune);
    CHECK(done.detail.at("note") == "sai số liệu");
    CHECK(done.detail.at("plays_taken_back") == plays);
}

TEST_CASE("API media: what nodes miss for their coming plays, per node in scope", "[api][media]") {
    ApiFixture api;
    api.node("ta-van-01", ApiFixture::kCommune);
    api.node("ban-ho-01", ApiFixture::kOtherCommune);
    const std::string hash = api.tone(2.0);
    auto booked = api.post("/api/v1/campaigns", "admin",
                           {{"campaign", "thien-tai"},
                            {"name", "Phòng chống thiên tai"},
                            {"items", {hash}},
                            {"areas", {"vn/lao-cai/sa-pa"}},
                            {"start", "now+1m"},
                            {"end", "now+2h"}});
    REQUIRE(booked.status == 201);

    const std::map<std::string, std::vector<std::string>> seen = {
        {"admin", {"ban-ho-01", "ta-van-01"}},
        {"operator", {"ta-van-01"}},
        {"approver", {"ta-van-01"}},
        {"auditor", {"ban-ho-01", "ta-van-01"}},
        {"other-operator", {"ban-ho-01"}}};
    for (const auto& [who, nodes] : seen) {
        auto missing = api.get("/api/v1/media/missing", who);
        INFO(who << ": " << missing.body);
        REQUIRE(missing.status == 200);
        std::vector<std::string> listed;
        for (const auto& row : missing.json()) {
            listed.push_back(row.at("node"));
            CHECK(row.at("media_hash") == hash);
            CHECK(row.at("state") == "unreported");
        }
        CHECK(listed == nodes);
    }
    CHECK(api.get("/api/v1/media/missing", "").status == 401);
    auto table = api.get("/api/v1/media/missing?format=table", "operator");
    CHECK(table.body.starts_with("Nội dung chưa sẵn sàng cho các lượt phát"));
    CHECK(api.get("/api/v1/media/missing?node=ta-van-01&hours=48", "approver").json().size() == 1);
    CHECK(api.get("/api/v1/media/missing?node=ban-ho-01", "operator").status == 403);
    CHECK(api.get("/api/v1/media/missing?node=ke-la", "admin").status == 404);
    CHECK(api.get("/api/v1/media/missing?hours=0", "admin").status == 400);

    // Once the node reports the file ready, it misses nothing.
    wire::MediaStatus status;
    auto* item = status.add_items();
    item->set_media_hash(hash);
    item->set_state(wire::MEDIA_READY);
    const auto size = fs::file_size(api.dir / "media" / hash);
    item->set_bytes_held(size);
    item->set_total_size(size);
    REQUIRE(loa::controller::write_directly(*api.db, [&](loa::controller::WriteTx& tx) {
                return lc::record_media_status(tx, "ta-van-01", status, lc::now_us());
            }).has_value());
    CHECK(api.get("/api/v1/media/missing", "operator").json().empty());
    auto ready = api.get("/api/v1/media/missing?node=ta-van-01&format=table&lang=en", "admin");
    CHECK(ready.body ==
          "Everything ready: node ta-van-01 holds the media for the plays in the "
          "next 24 hours.\n");
    CHECK(api.get("/api/v1/media/missing", "other-operator").json().size() == 1);
}

TEST_CASE("API media: speech is spoken by the controller's own command and imported",
          "[api][media]") {
    ApiFixture api;
    const nlohmann::json bulletin = {{"text", "Chiều nay bà con thôn Tả Van họp tại nhà văn hoá."},
                                     {"lang", "vi"}};
    CHECK(api.post("/api/v1/media/speech", "approver", bulletin).status == 403);
    CHECK(api.post("/api/v1/media/speech", "auditor", bulletin).status == 403);
    CHECK(api.post("/api/v1/media/speech", "", bulletin).status == 401);
    // A request never names the program the controller runs.
    auto command = bulletin;
    command["command"] = "sh -c 'touch pwned'";
    auto refused = api.post("/api/v1/media/speech", "admin", command);
    CHECK(refused.status == 400);
    CHECK(refused.error().find("chỉ chạy lệnh đọc của chính nó") != std::string::npos);
    CHECK(refused.error().find("its own speech command") != std::string::npos);
    CHECK(api.post("/api/v1/media/speech", "operator", {{"lang", "vi"}}).status == 400);
    auto no_voice =
        api.post("/api/v1/media/speech", "operator", {{"text", "x"}, {"lang", "xx-none"}});
    CHECK(no_voice.status == 422);
    CHECK(no_voice.error().find("lệnh đọc 'espeak-ng' thất bại với mã thoát") != std::string::npos);
    CHECK(no_voice.error().find("speech command 'espeak-ng' failed with exit code") !=
          std::string::npos);
    auto dashed = api.post("/api/v1/media/speech", "operator", {{"text", "x"}, {"lang", "-w/x"}});
    CHECK(dashed.status == 422);
    CHECK(dashed.error().find("'-w/x' không phải tên ngôn ngữ giọng đọc") != std::string::npos);
    CHECK(dashed.error().find("'-w/x' is not a voice language") != std::string::npos);
    CHECK(api.post("/api/v1/media/speech", "operator", {{"text", "x"}, {"timeout_seconds", 100000}})
              .status == 400);
    CHECK(api.count("media") == 0);

    auto spoken = api.post("/api/v1/media/speech", "operator", bulletin);
    INFO(spoken.body);
    REQUIRE(spoken.status == 201);
    CHECK(spoken.json().at("title") == bulletin.at("text"));
    CHECK(spoken.json().at("codec") == "opus");
    CHECK(spoken.json().at("area") == ApiFixture::kCommune);
    CHECK(spoken.json().at("duration_seconds").get<double>() > 1.0);
    auto by_other = api.post("/api/v1/media/speech", "other-operator",
                             {{"text", "Họp thôn"}, {"title", "Họp"}});
    REQUIRE(by_other.status == 201);
    CHECK(by_other.json().at("title") == "Họp");
    CHECK(api.count("media") == 2);
    CHECK(files_under(api.dir / "tmp") == 0);  // the spoken WAV was a scratch file

    auto log = api.logged("media.import");
    CHECK(count(log, lc::Outcome::refused, "approver") == 1);
    CHECK(count(log, lc::Outcome::refused, "auditor") == 1);
    CHECK(count(log, lc::Outcome::refused, "admin") == 1);     // the command
    CHECK(count(log, lc::Outcome::refused, "operator") == 2);  // the voices
    CHECK(count(log, lc::Outcome::done) == 2);
    CHECK(log.back().detail.at("text") == "Họp thôn");
}
