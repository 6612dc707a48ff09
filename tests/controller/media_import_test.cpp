// Importing media: probed, stored once by hash; refused files leave database and store unchanged.
#include <catch2/catch.hpp>

#include "controller_fixture.hpp"
#include "loa/media/content_hash.hpp"

using namespace loa;
using namespace loa::test;

namespace {
std::size_t files_in(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) {
        ++n;
    }
    return n;
}
}  // namespace

TEST_CASE("an audio file is probed, normalised to Ogg/Opus, stored by hash and recorded once") {
    ControllerFixture f;
    auto file = f.dir / "ban-tin.wav";
    make_tone(file, 2.5);
    auto first = controller::import_media(*f.db, f.store, file, "Bản tin sáng", kNow);
    REQUIRE(first.has_value());
    CHECK_FALSE(first->already_present);
    // Nodes get the canonical file: mono 48 kHz Opus at −23 LUFS; the original is kept too.
    CHECK(first->media.duration_us == Approx(2.5 * kSecondUs).margin(100'000));
    CHECK(first->media.sample_rate == 48000);
    CHECK(first->media.channels == 1);
    CHECK(first->media.codec == "opus");
    CHECK(first->media.loudness_after_lufs == Approx(-23.0).margin(1.0));
    CHECK(first->media.loudness_before_lufs !=
          Approx(first->media.loudness_after_lufs).margin(0.5));
    CHECK(first->media.true_peak_after_dbtp <= -0.5);
    CHECK(first->media.title == "Bản tin sáng");
    CHECK(f.store.contains(first->media.media_hash));
    CHECK(f.store.contains(first->media.original_hash));
    CHECK(first->media.original_hash == *media::sha256_file(file));

    auto again = controller::import_media(*f.db, f.store, file, "other title", kNow);
    REQUIRE(again.has_value());
    CHECK(again->already_present);
    CHECK(again->media.media_hash == first->media.media_hash);
    CHECK(f.count("media") == 1);
    CHECK(files_in(f.store.root()) == 2);  // the original and the canonical file, nothing else
}

TEST_CASE("a non-audio or corrupt file is refused with a clear error and nothing changes") {
    ControllerFixture f;
    f.tone(1.0);  // something already there, to show it is untouched
    const auto media_before = f.count("media");
    const auto files_before = files_in(f.store.root());

    SECTION("text") {
        auto file = f.dir / "ke-hoach.mp3";
        write_file(file, "Kế hoạch tuyên truyền năm 2023 — không phải âm thanh\n");
        auto r = controller::import_media(*f.db, f.store, file, "", kNow);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == controller::Error::Code::media);
        CHECK(r.error().message.find("ke-hoach.mp3") != std::string::npos);
    }
    SECTION("truncated") {
        auto good = f.dir / "full.mp3";
        run_shell(
            "ffmpeg -nostdin -loglevel error -y -f lavfi -i sine=duration=6 -c:a libmp3lame '" +
            good.string() + "'");
        std::string bytes = read_file(good);
        auto cut = f.dir / "cut.mp3";
        write_file(cut, bytes.substr(0, bytes.size() / 2));
        auto r = controller::import_media(*f.db, f.store, cut, "", kNow);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().message.find("cut.mp3") != std::string::npos);
    }
    SECTION("silence") {
        auto file = f.dir / "im-lang.wav";
        run_shell("sox -n -r 48000 -c 1 '" + file.string() + "' trim 0 2");
        auto r = controller::import_media(*f.db, f.store, file, "", kNow);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().message.find("silence") != std::string::npos);
        CHECK(r.error().message.find("im-lang.wav") != std::string::npos);
    }
    SECTION("missing") {
        auto r = controller::import_media(*f.db, f.store, f.dir / "nowhere.wav", "", kNow);
        REQUIRE_FALSE(r.has_value());
    }
    CHECK(f.count("media") == media_before);
    CHECK(files_in(f.store.root()) == files_before);
}
