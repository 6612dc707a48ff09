// The one writer when its database cannot grow (SQLITE_FULL, as on a full disk): changes refused
// as storage_full, the connection left usable, and writing again as soon as there is room
// (issue 18, point 10; the real full disk: tests/e2e/controller_disk_full_test.cpp).
#include <catch2/catch.hpp>

#include <SQLiteCpp/Statement.h>

#include "controller_fixture.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/controller/store/store.hpp"

namespace lc = loa::controller;

namespace {

/// Rows of the scratch table the test writes.
std::int64_t ballast_rows(SQLite::Database& db) {
    SQLite::Statement q(db, "SELECT count(*) FROM ballast");
    q.executeStep();
    return q.getColumn(0).getInt64();
}

/// A change that needs new pages: 64 KiB of overflow pages.
lc::Result<void> grow(lc::WriteTx& tx) {
    tx.db().exec("INSERT INTO ballast VALUES (zeroblob(65536))");
    return {};
}

}  // namespace

TEST_CASE(
    "The writer refuses changes as storage_full while the database cannot grow and stores "
    "again once it can") {
    loa::test::ControllerFixture f;
    auto& writer = f.shared_store().writer();
    REQUIRE(writer.run([](lc::WriteTx& tx) -> lc::Result<void> {
        tx.db().exec("CREATE TABLE ballast (b BLOB)");
        return {};
    }));
    // max_page_count at the file's size: SQLite answers SQLITE_FULL for any new page, as it
    // does when the disk has no room for one.
    REQUIRE(writer.run([](lc::WriteTx& tx) -> lc::Result<void> {
        tx.db().exec("PRAGMA max_page_count = 1");
        return {};
    }));
    REQUIRE_FALSE(writer.disk_full());

    auto refused = writer.run(grow);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == lc::Error::Code::storage_full);
    CHECK(refused.error().message.find("đĩa của máy điều khiển đã đầy") != std::string::npos);
    CHECK(refused.error().message.find("the controller's disk is full") != std::string::npos);
    CHECK(refused.error().message.find("nothing changed") != std::string::npos);
    CHECK(writer.disk_full());
    CHECK(ballast_rows(*f.db) == 0);

    // The connection is left with no transaction open: a change that needs no new page is
    // stored at once, though the disk is still full.
    auto small = writer.run([](lc::WriteTx& tx) -> lc::Result<void> {
        tx.db().exec("UPDATE change_counters SET value = value WHERE topic = 'schedule'");
        return {};
    });
    CHECK(small.has_value());
    CHECK(writer.run(grow).error().code == lc::Error::Code::storage_full);
    CHECK(writer.stats().full_commits.load() >= 1);

    // Room again (the limit lifted): the very next change is stored, nothing restarted.
    REQUIRE(writer.run([](lc::WriteTx& tx) -> lc::Result<void> {
        tx.db().exec("PRAGMA max_page_count = 1073741823");
        return {};
    }));
    auto stored = writer.run(grow);
    CHECK(stored.has_value());
    CHECK_FALSE(writer.disk_full());
    CHECK(ballast_rows(*f.db) == 1);
}

TEST_CASE(
    "A change that fails for a full disk inside a savepoint of its own is refused as "
    "storage_full and leaves the batch usable") {
    loa::test::ControllerFixture f;
    auto& writer = f.shared_store().writer();
    REQUIRE(writer.run([](lc::WriteTx& tx) -> lc::Result<void> {
        tx.db().exec("CREATE TABLE ballast (b BLOB)");
        tx.db().exec("PRAGMA max_page_count = 1");
        return {};
    }));
    auto refused = writer.run([](lc::WriteTx& tx) {
        return lc::in_savepoint(tx, [&]() -> lc::Result<void> { return grow(tx); });
    });
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == lc::Error::Code::storage_full);
    // guard_storage says the same for the readers' and writers' functions that use it.
    auto guarded = lc::guard_storage([&]() -> lc::Result<void> {
        throw SQLite::Exception("database or disk is full", SQLITE_FULL);
    });
    REQUIRE_FALSE(guarded);
    CHECK(guarded.error().code == lc::Error::Code::storage_full);
}
