// Nodes and campaigns: validation with reasons, and plays booked on the targeted nodes only.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include "controller_fixture.hpp"
#include "loa/controller/booking/node_timeline.hpp"

using namespace loa;
using namespace loa::test;

TEST_CASE("a campaign books its items in order on every node of its areas") {
    ControllerFixture f;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    f.node("ta-van-02", "vn/lao-cai/sa-pa/ta-van");
    f.node("a-mu-sung-01", "vn/lao-cai/bat-xat/a-mu-sung");
    auto a = f.tone(2.0, 440);
    auto b = f.tone(3.0, 660);
    auto booked = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::add_campaign(tx, f.campaign("thien-tai", {a, b}, {"vn/lao-cai/sa-pa"}),
                                        kNow);
    });
    REQUIRE(booked.has_value());
    CHECK(booked->slots_booked == 4);
    CHECK(booked->nodes_targeted == 2);

    auto timeline = controller::node_timeline(*f.db, "ta-van-01", kNow);
    REQUIRE(timeline.has_value());
    REQUIRE(timeline->slots_size() == 2);
    CHECK(timeline->slots(0).media_hash() == a);
    CHECK(timeline->slots(0).start_us() == kNow + 60 * kSecondUs);
    CHECK(timeline->slots(1).media_hash() == b);
    CHECK(timeline->slots(1).start_us() >= timeline->slots(0).start_us() + 2 * kSecondUs);
    CHECK(controller::node_timeline(*f.db, "a-mu-sung-01", kNow)->slots_size() == 0);

    // The same plays always hash the same; a different node's timeline does not.
    CHECK(controller::node_timeline(*f.db, "ta-van-01", kNow)->timeline_hash() ==
          timeline->timeline_hash());
}

TEST_CASE("a node added after a campaign gets the plays still ahead") {
    ControllerFixture f;
    auto a = f.tone(2.0);
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::add_campaign(tx, f.campaign("c1", {a}, {"vn/lao-cai"}), kNow);
    }));
    CHECK(f.count("slots") == 0);
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    CHECK(f.count("slots") == 1);
}

TEST_CASE("invalid campaigns and nodes are refused with a reason, changing nothing") {
    ControllerFixture f;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    auto a = f.tone(2.0);
    auto spec = f.campaign("c1", {a}, {"vn/lao-cai"});
    SECTION("window ends before it starts") {
        std::swap(spec.window_start_us, spec.window_end_us);
        auto r = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return controller::add_campaign(tx, spec, kNow);
        });
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().message.find("ends before it starts") != std::string::npos);
    }
    SECTION("unknown media") {
        spec.media_hashes.push_back(std::string(64, 'f'));
        auto r = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return controller::add_campaign(tx, spec, kNow);
        });
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().message.find("item 2") != std::string::npos);
    }
    SECTION("bad area") {
        spec.areas = {"vn/Lào Cai"};
        auto r = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return controller::add_campaign(tx, spec, kNow);
        });
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().message.find("vn/Lào Cai") != std::string::npos);
    }
    SECTION("duplicate id") {
        REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return controller::add_campaign(tx, spec, kNow);
        }));
        auto before = f.count("slots");
        auto r = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return controller::add_campaign(tx, spec, kNow);
        });
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == controller::Error::Code::conflict);
        CHECK(f.count("slots") == before);
        CHECK(f.count("campaigns") == 1);
        return;
    }
    SECTION("bad node") {
        auto r = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return controller::add_node(
                tx, {.node_id = "ta-van-02", .kind = "radio", .area_path = "vn/x"}, kNow);
        });
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().message.find("radio") != std::string::npos);
        CHECK(f.count("nodes") == 1);
        return;
    }
    CHECK(f.count("campaigns") == 0);
    CHECK(f.count("slots") == 0);
}

TEST_CASE("the schema is versioned and reopening does not migrate twice") {
    ControllerFixture f;
    CHECK(controller::schema_version(*f.db) == controller::kSchemaVersion);
    f.node("ta-van-01", "vn/x");
    f.db.reset();
    auto reopened = controller::open_database(f.dir / "controller.db");
    REQUIRE(reopened.has_value());
    CHECK(controller::schema_version(**reopened) == controller::kSchemaVersion);
    CHECK(controller::find_node(**reopened, "ta-van-01").has_value());
}

TEST_CASE("processes opening a new database at once migrate it once and all succeed") {
    // Before migrations ran exclusively, each process read the version outside its
    // transaction, so two upgrading at once both began the same steps and one failed.
    TempDir dir;
    const auto file = dir / "controller.db";
    constexpr int kProcesses = 6;
    int go[2];
    REQUIRE(::pipe(go) == 0);
    std::vector<pid_t> children;
    for (int i = 0; i < kProcesses; ++i) {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(go[1]);
            char byte;
            (void)::read(go[0], &byte, 1);  // returns when the parent closes its end: all at once
            auto opened = controller::open_database(file);
            const bool ok =
                opened && controller::schema_version(**opened) == controller::kSchemaVersion;
            if (!opened) {
                std::fprintf(stderr, "process %d: %s\n", i, opened.error().message.c_str());
            }
            ::_exit(ok ? 0 : 1);
        }
        children.push_back(pid);
    }
    ::close(go[0]);
    ::close(go[1]);
    int succeeded = 0;
    for (const pid_t pid : children) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        succeeded += WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 1 : 0;
    }
    CHECK(succeeded == kProcesses);
    auto db = controller::open_database(file);
    REQUIRE(db.has_value());
    CHECK(controller::schema_version(**db) == controller::kSchemaVersion);
    SQLite::Statement check(**db, "PRAGMA integrity_check");
    REQUIRE(check.executeStep());
    CHECK(check.getColumn(0).getString() == "ok");
}
