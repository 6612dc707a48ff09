// Tests of the identity files: durable replacement (old or new file, never half of one), and key
// files that are empty or cut short refused with a clear error, never replaced by a new identity.
#include <sys/stat.h>

#include <barrier>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "loa/protocol/curve_keys.hpp"
#include "loa/protocol/durable_file.hpp"
#include "test_support.hpp"

using namespace loa::protocol;
using loa::test::read_file;
using loa::test::TempDir;
using loa::test::write_file;
namespace fs = std::filesystem;

namespace {

/// Files in `dir` whose name starts with `prefix`.
std::vector<std::string> names_starting(const fs::path& dir, const std::string& prefix) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with(prefix)) {
            names.push_back(name);
        }
    }
    return names;
}

std::string key_text(const CurveKeyPair& keys) {
    return "public " + keys.public_key + "\nsecret " + keys.secret_key + "\n";
}

}  // namespace

TEST_CASE("a durable write replaces the file whole, owner-only, and leaves no temporary file") {
    TempDir dir;
    const fs::path file = dir / "sub" / "node.conf";
    REQUIRE(write_file_durably(file, "node_id = a\n"));
    REQUIRE(write_file_durably(file, "node_id = b\n"));
    CHECK(read_file(file) == "node_id = b\n");
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(names_starting(dir / "sub", "node.conf.tmp").empty());
}

TEST_CASE("a failure between the write and the rename leaves the old file whole") {
    TempDir dir;
    const fs::path file = dir / "node.key";
    const auto old_keys = generate_curve_key_pair();
    const auto new_keys = generate_curve_key_pair();
    REQUIRE(write_key_file(file, old_keys));

    testing::fail_next_durable_write_before_rename();
    auto failed = write_key_file(file, new_keys);
    REQUIRE_FALSE(failed.has_value());
    CHECK_THAT(failed.error(), Catch::Matchers::Contains(file.string()));

    // The old key pair, whole; the new one written in full next to it, as a crash would leave it.
    auto kept = read_key_file(file);
    REQUIRE(kept.has_value());
    CHECK(kept->public_key == old_keys.public_key);
    CHECK(kept->secret_key == old_keys.secret_key);
    const auto left = names_starting(dir.path(), "node.key.tmp");
    REQUIRE(left.size() == 1);
    CHECK_THAT(read_file(dir / left.front()), Catch::Matchers::Contains(new_keys.secret_key));

    // The fault was for one write only: the next one replaces the file.
    REQUIRE(write_key_file(file, new_keys));
    CHECK(read_key_file(file)->public_key == new_keys.public_key);
}

TEST_CASE("create_file_durably never replaces a file that exists") {
    TempDir dir;
    const fs::path file = dir / "controller.key";
    auto first = create_file_durably(file, "first\n");
    REQUIRE(first.has_value());
    CHECK(*first);
    auto second = create_file_durably(file, "second\n");
    REQUIRE(second.has_value());
    CHECK_FALSE(*second);
    CHECK(read_file(file) == "first\n");
    CHECK(names_starting(dir.path(), "controller.key.tmp").empty());
}

TEST_CASE("processes making the controller key at once all end up with the one in the file") {
    TempDir dir;
    const fs::path file = dir / "controller.key";
    constexpr int kMakers = 8;
    std::barrier start(kMakers);
    std::vector<std::string> keys(kMakers);
    std::vector<std::thread> makers;
    for (int i = 0; i < kMakers; ++i) {
        makers.emplace_back([&, i] {
            start.arrive_and_wait();
            auto made = load_or_create_key_file(file);
            keys[static_cast<std::size_t>(i)] = made ? made->public_key : made.error();
        });
    }
    for (auto& t : makers) {
        t.join();
    }
    auto in_file = read_key_file(file);
    REQUIRE(in_file.has_value());
    for (const auto& key : keys) {
        CHECK(key == in_file->public_key);
    }
}

TEST_CASE("a key file that is empty or cut short is refused, saying so, and never replaced") {
    TempDir dir;
    const fs::path file = dir / "controller.key";
    const auto keys = generate_curve_key_pair();
    const std::string whole = key_text(keys);
    struct Case {
        const char* what;
        std::string content;
        const char* says;
    };
    const Case cases[] = {
        {"empty", "", "empty"},
        {"only the public line", "public " + keys.public_key + "\n", "both a public and a secret"},
        {"cut in the middle of the secret", whole.substr(0, whole.size() - 15), ":2:"},
        {"not a key file", "hello\n", ":1:"},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            write_file(file, c.content);
            const auto mode_before = fs::status(file).permissions();
            auto loaded = load_or_create_key_file(file);
            REQUIRE_FALSE(loaded.has_value());
            CHECK_THAT(loaded.error(), Catch::Matchers::Contains(file.string()));
            CHECK_THAT(loaded.error(), Catch::Matchers::Contains(c.says));
            CHECK_THAT(loaded.error(), Catch::Matchers::Contains("enroll again"));
            // Vietnamese first, then English.
            CHECK(loaded.error().find("đăng ký lại") < loaded.error().find("enroll again"));
            CHECK(read_file(file) == c.content);
            CHECK(fs::status(file).permissions() == mode_before);
            CHECK(names_starting(dir.path(), "controller.key.tmp").empty());
        }
    }
}

TEST_CASE("a missing key file is created once and read back the same") {
    TempDir dir;
    const fs::path file = dir / "data" / "controller.key";
    auto made = load_or_create_key_file(file);
    REQUIRE(made.has_value());
    CHECK(is_z85_key(made->public_key));
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto again = load_or_create_key_file(file);
    REQUIRE(again.has_value());
    CHECK(again->public_key == made->public_key);
    CHECK(again->secret_key == made->secret_key);
}
