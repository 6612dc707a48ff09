// A controller database and media store in a scratch directory, with helpers to fill them.
#pragma once

#include <memory>
#include <string>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "loa/controller/booking/campaign_book.hpp"
#include "loa/controller/content/approval.hpp"
#include "loa/controller/content/media_library.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/controller/store/store.hpp"
#include "loa/media/content_store.hpp"
#include "test_support.hpp"

namespace loa::test {

inline constexpr std::int64_t kSecondUs = 1'000'000;
/// A fixed "now" (2026-11-24T05:30:00+07:00): controller functions take the time as an argument.
inline constexpr std::int64_t kNow = 1'795'473'000LL * kSecondUs;

struct ControllerFixture {
    TempDir dir;
    /// The test's own connection: what it reads, and what it writes directly (write_directly)
    /// to set a scene up; a running gateway or API writes through `database`'s writer.
    std::unique_ptr<SQLite::Database> db;
    media::ContentStore store{dir / "media"};
    /// The store a gateway started by the test serves from (opened on first use).
    std::unique_ptr<controller::Store> database;

    ControllerFixture() {
        auto opened = controller::open_database(dir / "controller.db");
        REQUIRE(opened.has_value());
        db = std::move(*opened);
    }

    controller::Store& shared_store() {
        if (!database) {
            auto opened = controller::Store::open(dir / "controller.db");
            REQUIRE(opened.has_value());
            database = std::move(*opened);
        }
        return *database;
    }

    std::int64_t count(const std::string& table) {
        SQLite::Statement q(*db, "SELECT count(*) FROM " + table);
        q.executeStep();
        return q.getColumn(0).getInt64();
    }

    void node(const std::string& id, const std::string& area) {
        auto added = loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
            return controller::add_node(tx, {.node_id = id, .kind = "speaker", .area_path = area},
                                        kNow);
        });
        REQUIRE(added.has_value());
    }

    /// Books one play straight into `slots` (a scene for tests of what nodes confirm: only a
    /// play booked for a node counts as its airtime).
    void booked_slot(const std::string& node_id, const std::string& slot_id,
                     std::int64_t start_us = kNow, const std::string& campaign_id = "c1") {
        SQLite::Statement book(*db,
                               "INSERT INTO slots (node_id, slot_id, campaign_id, item_id, "
                               "media_hash, title, start_us, duration_us) "
                               "VALUES (?, ?, ?, 'i', 'h', '', ?, 1000000)");
        book.bind(1, node_id);
        book.bind(2, slot_id);
        book.bind(3, campaign_id);
        book.bind(4, static_cast<int64_t>(start_us));
        book.exec();
    }

    /// Approves the record of imported media in `area` for air, as an approver would; returns
    /// its hash. Media imported without an area has its record in "/" (every area).
    std::string approve(const std::string& media_hash, const std::string& area = "/") {
        auto decided = loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
            return controller::decide_media(tx, media_hash, area, controller::Decision::approved,
                                            "approver", "", kNow);
        });
        REQUIRE(decided.has_value());
        return media_hash;
    }

    /// Imports a tone of `seconds` and approves it for air; returns its hash.
    std::string tone(double seconds, double frequency = 440.0) {
        auto file = dir / ("tone-" + std::to_string(frequency) + ".wav");
        make_tone(file, seconds, 22050, frequency);
        auto imported = loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
            return controller::import_media(tx, store, file, "Bản tin", kNow);
        });
        REQUIRE(imported.has_value());
        return approve(imported->media.media_hash);
    }

    controller::CampaignSpec campaign(const std::string& id, std::vector<std::string> hashes,
                                      std::vector<std::string> areas) {
        return {id,
                "Phòng chống thiên tai",
                "UBND xã Tả Van",
                kNow + 60 * kSecondUs,
                kNow + 3600 * kSecondUs,
                std::move(hashes),
                std::move(areas)};
    }
};

}  // namespace loa::test
