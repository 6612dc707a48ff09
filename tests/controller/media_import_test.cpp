// Importing media: probed, stored once by hash; refused files leave database and store unchanged.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "controller_fixture.hpp"
#include "loa/media/content_hash.hpp"
#include "loa/media/loudness.hpp"
#include "media_fixtures.hpp"

using namespace loa;
using namespace loa::test;
using Catch::Matchers::Contains;

namespace {

namespace fs = std::filesystem;

// Every name in the store's directory, hidden scratch files included.
std::set<std::string> listing(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) {
        names.insert(e.path().filename().string());
    }
    return names;
}

// The media table's rows, as their hashes.
std::vector<std::string> media_rows(SQLite::Database& db) {
    std::vector<std::string> rows;
    SQLite::Statement q(db, "SELECT media_hash FROM media ORDER BY media_hash");
    while (q.executeStep()) {
        rows.push_back(q.getColumn(0).getString());
    }
    return rows;
}

// A 1 kHz sine of peak `amplitude` (its loudness is 20·log10(amplitude) - 3 LUFS) as a WAV.
fs::path make_sine(const fs::path& out, double amplitude, double seconds) {
    ffmpeg(
        fmt::format("-f lavfi -i 'aevalsrc={}*sin(2*PI*1000*t):s=48000:d={}' -c:a pcm_s16le '{}'",
                    amplitude, seconds, out.string()));
    return out;
}

// A Vietnamese announcement from espeak-ng, brought to about `lufs` with sox, as a weak or a hot
// recording would be. Raising it goes through sox's limiter, which takes some loudness back, so
// the gain is applied again until the level is reached.
fs::path make_speech_at(const fs::path& dir, double lufs) {
    auto out = dir / fmt::format("thong-bao{:+.0f}.wav", lufs);
    REQUIRE(run_shell(fmt::format(
                "espeak-ng -v vi -w '{}' 'Thông báo của Ủy ban nhân dân xã về lịch tiêm phòng cho "
                "trẻ em. Xin mời các gia đình đưa con đến trạm y tế vào sáng thứ bảy.'",
                out.string())) == 0);
    auto scratch = dir / "thong-bao-scratch.wav";
    for (int round = 0; round < 4; ++round) {
        auto measured = media::measure_loudness(out);
        REQUIRE(measured.has_value());
        const double gain = lufs - measured->integrated_lufs;
        if (std::abs(gain) < 0.5) {
            break;
        }
        REQUIRE(run_shell(fmt::format("sox '{}' '{}' gain {}{:.2f}", out.string(), scratch.string(),
                                      gain > 0 ? "-l " : "", gain)) == 0);
        fs::rename(scratch, out);
    }
    auto scaled = media::measure_loudness(out);
    REQUIRE(scaled.has_value());
    REQUIRE(scaled->integrated_lufs == Approx(lufs).margin(1.0));  // the fixture is what it claims
    return out;
}

}  // namespace

TEST_CASE("an audio file is probed, normalised to Ogg/Opus, stored by hash and recorded once") {
    ControllerFixture f;
    auto file = f.dir / "ban-tin.wav";
    make_tone(file, 2.5);
    auto first = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::import_media(tx, f.store, file, "Bản tin sáng", kNow);
    });
    REQUIRE(first.has_value());
    CHECK_FALSE(first->already_present);
    // Nodes get the canonical file: mono 48 kHz Opus at −23 LUFS; the original is kept too.
    CHECK(first->media.duration_us == Approx(2.5 * kSecondUs).margin(100'000));
    CHECK(first->media.sample_rate == 48000);
    CHECK(first->media.channels == 1);
    CHECK(first->media.codec == "opus");
    CHECK(first->media.kind == "audio");
    CHECK(first->media.loudness_after_lufs == Approx(-23.0).margin(1.0));
    CHECK(first->media.loudness_before_lufs !=
          Approx(first->media.loudness_after_lufs).margin(0.5));
    CHECK(first->media.true_peak_after_dbtp <= -0.5);
    CHECK(first->media.title == "Bản tin sáng");
    CHECK(f.store.contains(first->media.media_hash));
    CHECK(f.store.contains(first->media.original_hash));
    CHECK(first->media.original_hash == *media::sha256_file(file));

    auto again = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::import_media(tx, f.store, file, "other title", kNow);
    });
    REQUIRE(again.has_value());
    CHECK(again->already_present);
    CHECK(again->media.media_hash == first->media.media_hash);
    // The record keeps its title, and the import says the new one was not applied.
    CHECK(again->record.title == "Bản tin sáng");
    CHECK(again->title_not_applied == "other title");
    CHECK(f.count("media") == 1);
    CHECK(listing(f.store.root()).size() == 2);  // the original and the canonical file, no more

    // The same title again, or none (the file name is no title given): nothing to say.
    for (const std::string title : {"Bản tin sáng", ""}) {
        auto same = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return controller::import_media(tx, f.store, file, title, kNow);
        });
        REQUIRE(same.has_value());
        CHECK(same->already_present);
        CHECK(same->title_not_applied.empty());
    }
}

TEST_CASE("every audio format operators bring imports with its duration") {
    const auto& format = GENERATE(from_range(operator_audio_formats()));
    ControllerFixture f;
    const double length = 3.5;
    auto file = f.dir / format.name;
    make_audio(file, format, length);

    auto imported = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::import_media(tx, f.store, file, "", kNow);
    });
    INFO(format.name << ": " << (imported ? "imported" : imported.error().message));
    REQUIRE(imported.has_value());
    const auto& m = imported->media;
    CHECK(m.kind == "audio");
    CHECK(m.codec == "opus");
    CHECK(m.original_name == format.name);
    // The canonical Opus file lasts as long as the original decodes, give or take the codecs'
    // padding: the original's own tolerance and an Opus frame.
    CHECK(m.duration_us ==
          Approx(length * kSecondUs).margin(static_cast<double>(format.tolerance_us) + 20'000));
    CHECK(m.loudness_after_lufs == Approx(-23.0).margin(1.0));
    CHECK(f.store.contains(m.media_hash));
    CHECK(f.store.contains(m.original_hash));
}

TEST_CASE("a refused file gets its reason and its name in both languages, and nothing changes") {
    ControllerFixture f;
    f.tone(1.0);  // something already there, to show it is untouched
    const auto rows_before = media_rows(*f.db);
    const auto files_before = listing(f.store.root());

    fs::path file;
    controller::ImportOptions options;
    // Distinctive parts of the message: Vietnamese, then English.
    std::string vi;
    std::string en;
    SECTION("not media") {
        file = f.dir / "ke-hoach.mp3";
        write_file(file, "Kế hoạch tuyên truyền năm 2023 — không phải âm thanh\n");
        vi = "không phải tệp âm thanh, ảnh hay video";
        en = "not an audio, picture or video file";
    }
    SECTION("a playlist") {
        file = f.dir / "chuong-trinh.m3u";
        write_file(file, "#EXTM3U\n#EXTINF:120,Bản tin sáng\nban-tin-sang.mp3\n");
        vi = "là danh sách phát M3U";
        en = "is an M3U playlist";
    }
    SECTION("truncated") {
        file = f.dir / "cut.mp3";
        make_audio(file, audio_format(".mp3"), 6.0);
        truncate_file(file, 1, 2);
        vi = "bị cắt: dòng MP3 chỉ giải mã được";
        en = "truncated: the MP3 stream decodes to";
    }
    SECTION("zero-length") {
        file = f.dir / "rong.wav";
        write_file(file, "");
        vi = "tệp rỗng (0 byte)";
        en = "empty (0 bytes)";
    }
    SECTION("digital silence") {
        file = f.dir / "im-lang.wav";
        REQUIRE(run_shell("sox -n -r 48000 -c 1 '" + file.string() + "' trim 0 2") == 0);
        vi = "im lặng";
        en = "silence";
    }
    SECTION("quieter than the silence floor") {
        file = make_sine(f.dir / "rat-nho.wav", 0.001, 3.0);  // about -63 LUFS
        vi = "dưới ngưỡng -60.0 LUFS";
        en = "below the floor of -60.0 LUFS";
    }
    SECTION("a click too short to be an item") {
        file = f.dir / "tach.wav";
        REQUIRE(run_shell("sox -n -r 48000 -c 1 '" + file.string() + "' synth 0.05 sine 880") == 0);
        vi = "quá ngắn: dài 0.050 s";
        en = "too short: it lasts 0.050 s";
    }
    SECTION("longer than the limit by its decoded length") {
        file = f.dir / "dai.wav";
        make_tone(file, 3.0);
        options.max_duration_us = 2 * kSecondUs;
        vi = "quá dài: dài 0:00:03 (3.0 s), quá giới hạn 0:00:02 (2.0 s)";
        en = "too long: it lasts 0:00:03 (3.0 s), more than the limit of 0:00:02 (2.0 s) for one "
             "item; to take longer files, raise the limit with --max-duration";
    }
    SECTION("longer than the limit by what its header states, before decoding") {
        file = f.dir / "dai.wav";
        make_tone(file, 5.0);
        options.max_duration_us = 2 * kSecondUs;
        vi = "phần đầu tệp ghi 0:00:05 (5.0 s)";
        en = "too long: its header says it lasts 0:00:05 (5.0 s), more than the limit of 0:00:02 "
             "(2.0 s) for one item; to take longer files, raise the limit with --max-duration";
    }
    SECTION("video for the loudspeakers") {
        file = f.dir / "phong-su.mp4";
        make_video(file, 2.0, "-c:v libx264 -preset ultrafast -c:a aac", true);
        vi = "có hình (video H.264)";
        en = "has a video stream (H.264); loudspeakers need audio only";
    }
    SECTION("an image for the loudspeakers") {
        file = f.dir / "poster.png";
        make_picture(file, "64x32");
        vi = "tệp PNG không có âm thanh";
        en = "a PNG file without sound; loudspeakers need sound";
    }
    SECTION("sound alone for the panels") {
        file = f.dir / "ban-tin.mp3";
        make_audio(file, audio_format(".mp3"), 2.0);
        options.use = controller::MediaUse::panel;
        vi = "bảng điện tử hiện ảnh và video";
        en = "panels show images and video";
    }
    SECTION("a truncated video for the panels") {
        file = f.dir / "cut.mkv";
        make_video(file, 6.0, "-c:v mpeg4");
        truncate_file(file, 1, 2);
        options.use = controller::MediaUse::panel;
        vi = "bị cắt";
        en = "truncated";
    }
    SECTION("a video for the panels longer than the limit") {
        file = f.dir / "clip.mp4";
        make_video(file, 3.0, "-c:v libx264 -preset ultrafast");
        options.use = controller::MediaUse::panel;
        options.max_duration_us = 2 * kSecondUs;
        vi = "quá dài";
        en = "too long";
    }
    SECTION("missing") {
        file = f.dir / "nowhere.wav";
        vi = "không có tệp này";
        en = "no such file";
    }
    SECTION("a folder") {
        file = f.dir / "ban-tin-thang-5";
        fs::create_directories(file);
        vi = "là một thư mục, không phải tệp";
        en = "is a folder, not a file";
    }

    auto r = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::import_media(tx, f.store, file, "", kNow, options);
    });
    REQUIRE_FALSE(r.has_value());
    INFO(r.error().message);
    CHECK(r.error().code == controller::Error::Code::media);
    CHECK_THAT(r.error().message, Contains(file.filename().string() + ": "));
    CHECK_THAT(r.error().message, Contains(vi));
    CHECK_THAT(r.error().message, Contains(en));
    // Vietnamese first.
    CHECK(r.error().message.find(vi) < r.error().message.find(en));
    // No FFmpeg demuxer names.
    CHECK_THAT(r.error().message, !Contains("_pipe") && !Contains("mov,mp4"));
    CHECK(media_rows(*f.db) == rows_before);
    CHECK(listing(f.store.root()) == files_before);
}

TEST_CASE("the silence floor is the operator's to lower") {
    ControllerFixture f;
    auto file = make_sine(f.dir / "rat-nho.wav", 0.001, 3.0);  // about -63 LUFS
    controller::ImportOptions options;
    options.opus.silence_floor_lufs = -66.0;
    auto imported = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::import_media(tx, f.store, file, "", kNow, options);
    });
    INFO((imported ? "imported" : imported.error().message));
    REQUIRE(imported.has_value());
    CHECK(imported->media.loudness_before_lufs == Approx(-63.0).margin(1.0));
    CHECK(imported->media.loudness_after_lufs == Approx(-23.0).margin(1.0));
}

TEST_CASE("speech recorded very quietly or very loudly comes out at -23 LUFS") {
    ControllerFixture f;
    const double level = GENERATE(-45.0, -10.0);
    auto file = make_speech_at(f.dir.path(), level);

    auto imported = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::import_media(tx, f.store, file, "", kNow);
    });
    INFO(level << " LUFS: " << (imported ? "imported" : imported.error().message));
    REQUIRE(imported.has_value());
    CHECK(imported->media.loudness_before_lufs == Approx(level).margin(1.5));
    CHECK(imported->media.loudness_after_lufs == Approx(-23.0).margin(1.0));
    // The stored file itself, decoded and measured again.
    auto stored = media::measure_loudness(f.store.path_for(imported->media.media_hash));
    REQUIRE(stored.has_value());
    CHECK(stored->integrated_lufs == Approx(-23.0).margin(1.0));
    CHECK(stored->true_peak_dbtp <= -1.0 + 0.5);
}

TEST_CASE("a panel image is stored as it is, with its size, once") {
    ControllerFixture f;
    const std::string name = GENERATE(as<std::string>{}, "poster.png", "anh-hop-thon.jpg");
    auto file = f.dir / name;
    make_picture(file, "320x240");
    controller::ImportOptions options;
    options.use = controller::MediaUse::panel;

    auto first = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::import_media(tx, f.store, file, "Áp phích", kNow, options);
    });
    INFO((first ? "imported" : first.error().message));
    REQUIRE(first.has_value());
    CHECK_FALSE(first->already_present);
    const auto& m = first->media;
    CHECK(m.kind == "image");
    CHECK(m.width == 320);
    CHECK(m.height == 240);
    CHECK(m.codec == (name.ends_with(".png") ? "png" : "mjpeg"));
    CHECK(m.duration_us == 0);
    CHECK(m.media_hash == *media::sha256_file(file));  // stored as imported, not converted
    CHECK(m.original_hash == m.media_hash);
    CHECK(f.store.contains(m.media_hash));

    auto again = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::import_media(tx, f.store, file, "", kNow, options);
    });
    REQUIRE(again.has_value());
    CHECK(again->already_present);
    CHECK(again->media.media_hash == m.media_hash);
    CHECK(f.count("media") == 1);
    CHECK(listing(f.store.root()) == std::set<std::string>{m.media_hash});

    // What list_media and find_media read back from the database.
    auto found = controller::find_media(*f.db, m.media_hash);
    REQUIRE(found.has_value());
    CHECK(found->kind == "image");
    CHECK(found->width == 320);
    CHECK(found->height == 240);
}

TEST_CASE("a panel video is stored as it is, with its size and duration") {
    ControllerFixture f;
    auto file = f.dir / "clip.mp4";
    make_video(file, 3.0, "-c:v libx264 -preset ultrafast -pix_fmt yuv420p");
    controller::ImportOptions options;
    options.use = controller::MediaUse::panel;
    auto imported = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::import_media(tx, f.store, file, "", kNow, options);
    });
    INFO((imported ? "imported" : imported.error().message));
    REQUIRE(imported.has_value());
    CHECK(imported->media.media_hash == *media::sha256_file(file));

    auto all = controller::list_media(*f.db);
    REQUIRE(all.has_value());
    REQUIRE(all->size() == 1);
    const auto& m = all->front();
    CHECK(m.kind == "video");
    CHECK(m.codec == "h264");
    CHECK(m.width == 320);
    CHECK(m.height == 180);
    CHECK(m.duration_us == Approx(3 * kSecondUs).margin(50'000));
    CHECK(m.title == "clip");
}

TEST_CASE("an import reports its progress stage by stage up to the end") {
    ControllerFixture f;
    auto file = f.dir / "ban-tin.mp3";
    make_audio(file, audio_format(".mp3"), 20.0);
    ProgressLog progress;
    std::vector<std::string> stages;
    controller::ImportOptions options;
    options.progress = [&](double fraction, std::string_view stage) {
        progress.seen.push_back(fraction);
        if (stages.empty() || stages.back() != stage) {
            stages.emplace_back(stage);
        }
    };
    auto imported = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::import_media(tx, f.store, file, "", kNow, options);
    });
    REQUIRE(imported.has_value());
    CHECK(stages == std::vector<std::string>{"hash", "probe", "normalise", "store"});
    progress.check(20);  // the decoding passes report along the way
}

TEST_CASE("import options out of range are refused before anything is read") {
    ControllerFixture f;
    auto file = f.dir / "ban-tin.wav";
    make_tone(file, 1.0);
    controller::ImportOptions options;
    std::string why;
    SECTION("bitrate") {
        options.opus.bitrate_bps = 100;
        why = "Opus bitrate of 100 bit/s";
    }
    SECTION("duration limit") {
        options.max_duration_us = 0;
        why = "longest duration";
    }
    SECTION("silence floor above the target") {
        options.opus.silence_floor_lufs = -10.0;
        why = "silence floor";
    }
    auto r = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::import_media(tx, f.store, file, "", kNow, options);
    });
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == controller::Error::Code::invalid_input);
    CHECK_THAT(r.error().message, Contains(why));
    CHECK(f.count("media") == 0);
}

TEST_CASE("a media file over the size limit is refused before anything reads it") {
    ControllerFixture f;
    SECTION("over 2 GiB") {
        // Sparse: it takes no disk, and hashing or probing it would take many seconds.
        auto file = f.dir / "qua-lon.mp4";
        { std::ofstream create(file); }
        fs::resize_file(file, controller::kMaxMediaFileBytes + 1);
        std::vector<std::string> stages;
        controller::ImportOptions options;
        options.use = controller::MediaUse::panel;
        options.progress = [&](double, std::string_view stage) { stages.emplace_back(stage); };
        auto r = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return controller::import_media(tx, f.store, file, "", kNow, options);
        });
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == controller::Error::Code::media);
        CHECK_THAT(r.error().message, Contains(file.string()) && Contains("2147483649 bytes") &&
                                          Contains("2147483648 bytes"));
        CHECK(stages.empty());  // not even hashed
    }
    SECTION("the limit is the operator's to lower; a file at it imports") {
        auto file = f.dir / "ban-tin.wav";
        make_tone(file, 1.0);
        controller::ImportOptions options;
        options.max_file_bytes = fs::file_size(file) - 1;
        auto r = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return controller::import_media(tx, f.store, file, "", kNow, options);
        });
        REQUIRE_FALSE(r.has_value());
        CHECK_THAT(r.error().message, Contains("over the largest media file taken"));
        options.max_file_bytes = fs::file_size(file);
        CHECK(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
                  return controller::import_media(tx, f.store, file, "", kNow, options);
              }).has_value());
    }
    CHECK(f.count("media") <= 1);
}

TEST_CASE("media imported before schema version 4 reads back as audio") {
    TempDir dir;
    const auto file = dir / "controller.db";
    {
        // A version 3 media table, as migrations 1 and 3 left it, with one imported bulletin.
        SQLite::Database v3(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        v3.exec(
            "CREATE TABLE schema_version (version INTEGER NOT NULL);"
            "INSERT INTO schema_version VALUES (3);"
            "CREATE TABLE media (media_hash TEXT PRIMARY KEY, title TEXT NOT NULL, "
            "original_name TEXT NOT NULL, container TEXT NOT NULL, codec TEXT NOT NULL, "
            "sample_rate INTEGER NOT NULL, channels INTEGER NOT NULL, duration_us INTEGER NOT "
            "NULL, "
            "size_bytes INTEGER NOT NULL, imported_us INTEGER NOT NULL, original_hash TEXT, "
            "loudness_before_lufs REAL, loudness_after_lufs REAL, true_peak_after_dbtp REAL);"
            "INSERT INTO media VALUES ('c0ffee', 'Bản tin', 'ban-tin.mp3', 'ogg', 'opus', 48000, "
            "1, "
            "2000000, 9000, 1, 'beef', -30.0, -23.0, -2.0);"
            // Migration 7 adds a column to the nodes table of migration 1; migration 8 reads
            // nodes, slots, campaigns and refused confirmations into the airtime rollup.
            "CREATE TABLE nodes (node_id TEXT PRIMARY KEY, area_path TEXT NOT NULL, "
            "time_zone TEXT NOT NULL);"
            // Migration 8 rebuilds the slots table of migration 1.
            "CREATE TABLE slots (node_id TEXT NOT NULL, slot_id TEXT NOT NULL, campaign_id TEXT "
            "NOT NULL, item_id TEXT NOT NULL, media_hash TEXT NOT NULL, title TEXT NOT NULL, "
            "start_us INTEGER NOT NULL, duration_us INTEGER NOT NULL, "
            "PRIMARY KEY (node_id, slot_id));"
            "CREATE TABLE campaigns (campaign_id TEXT PRIMARY KEY, name TEXT NOT NULL);"
            // Migration 10 watches campaigns' items and areas, tables of migration 1.
            "CREATE TABLE campaign_items (campaign_id TEXT NOT NULL, position INTEGER NOT NULL, "
            "media_hash TEXT NOT NULL);"
            "CREATE TABLE campaign_areas (campaign_id TEXT NOT NULL, area_path TEXT NOT NULL);"
            "CREATE TABLE refused_confirmations (node_id TEXT NOT NULL, seq INTEGER NOT NULL, "
            "reason TEXT NOT NULL, confirmation BLOB NOT NULL, received_us INTEGER NOT NULL, "
            "PRIMARY KEY (node_id, seq));"
            // Migration 6 rebuilds the confirmations table of migration 1.
            "CREATE TABLE confirmations (node_id TEXT NOT NULL, seq INTEGER NOT NULL, "
            "slot_id TEXT NOT NULL, campaign_id TEXT NOT NULL, item_id TEXT NOT NULL, "
            "media_hash TEXT NOT NULL, area_path TEXT NOT NULL, planned_start_us INTEGER NOT "
            "NULL, actual_start_us INTEGER NOT NULL, actual_end_us INTEGER NOT NULL, outcome "
            "TEXT NOT NULL, reason TEXT NOT NULL, received_us INTEGER NOT NULL);");
    }
    auto db = controller::open_database(file);
    INFO((db ? std::string() : db.error().message));
    REQUIRE(db.has_value());
    CHECK(controller::schema_version(**db) == controller::kSchemaVersion);
    auto found = controller::find_media(**db, "c0ffee");
    REQUIRE(found.has_value());
    CHECK(found->kind == "audio");
    CHECK(found->width == 0);
    CHECK(found->height == 0);
    CHECK(found->loudness_after_lufs == -23.0);
}
