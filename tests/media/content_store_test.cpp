// Tests of the content store: dedup, chunked reads, partial downloads, verification, bad hashes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "loa/media/content_hash.hpp"
#include "loa/media/content_store.hpp"
#include "test_support.hpp"

using namespace loa::media;
using loa::test::TempDir;

namespace {

namespace fs = std::filesystem;

std::string sampleBytes(std::size_t size) {
    std::string bytes;
    bytes.reserve(size);
    for (std::size_t i = 0; i < size; ++i) {
        bytes.push_back(static_cast<char>((i * 131 + i / 251) & 0xff));
    }
    return bytes;
}

std::size_t filesIn(const fs::path& dir) {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

}  // namespace

TEST_CASE("the store creates its root") {
    TempDir dir;
    ContentStore store(dir / "a" / "b");
    CHECK(fs::is_directory(dir / "a" / "b"));
    CHECK(store.root() == dir / "a" / "b");
}

TEST_CASE("storing the same content twice keeps one file under one hash") {
    TempDir dir;
    ContentStore store(dir / "store");
    auto bytes = sampleBytes(150'000);
    loa::test::write_file(dir / "one.wav", bytes);
    loa::test::write_file(dir / "two.wav", bytes);

    auto first = store.put_file(dir / "one.wav");
    auto second = store.put_file(dir / "two.wav");
    REQUIRE(first.has_value());
    REQUIRE(second.has_value());
    CHECK(*first == sha256_hex(bytes));
    CHECK(*first == *second);
    CHECK(filesIn(store.root()) == 1);
    CHECK(store.contains(*first));
    CHECK(store.path_for(*first) == store.root() / *first);
    CHECK(loa::test::read_file(store.path_for(*first)) == bytes);
    REQUIRE(store.size_of(*first).has_value());
    CHECK(*store.size_of(*first) == bytes.size());
}

TEST_CASE("put_file of a missing source or a folder is an io error saying which") {
    TempDir dir;
    ContentStore store(dir / "store");
    auto hash = store.put_file(dir / "absent.wav");
    REQUIRE_FALSE(hash.has_value());
    CHECK(hash.error().code == Error::Code::io);
    CHECK(hash.error().message ==
          (dir / "absent.wav").string() + ": không có tệp này / no such file");

    fs::create_directory(dir / "folder.wav");
    auto folder = store.put_file(dir / "folder.wav");
    REQUIRE_FALSE(folder.has_value());
    CHECK(folder.error().message ==
          (dir / "folder.wav").string() +
              ": là một thư mục, không phải tệp / is a folder, not a file");
    CHECK(filesIn(store.root()) == 0);
}

TEST_CASE("a store that cannot write says so in both languages and keeps nothing") {
    TempDir dir;
    loa::test::write_file(dir / "in.bin", "some bytes");
    // A file where the store's folder should be: no temporary file can be made in it, even as
    // root (unlike a folder without write permission).
    loa::test::write_file(dir / "blocked", "a file, not a folder");
    ContentStore store(dir / "blocked" / "media");
    auto hash = store.put_file(dir / "in.bin");
    REQUIRE_FALSE(hash.has_value());
    CHECK(hash.error().code == Error::Code::io);
    const auto& message = hash.error().message;
    CHECK(message.starts_with((dir / "blocked" / "media").string() + ": "));
    CHECK(message.find("không tạo được tệp tạm trong kho nội dung (Not a directory)") !=
          std::string::npos);
    CHECK(message.find(" / cannot create a temporary file in the content store (Not a "
                       "directory)") != std::string::npos);
    CHECK(loa::test::read_file(dir / "blocked") == "a file, not a folder");
}

TEST_CASE("chunks read back reassemble the original") {
    TempDir dir;
    ContentStore store(dir / "store");
    auto bytes = sampleBytes(100'003);
    loa::test::write_file(dir / "in.bin", bytes);
    auto hash = store.put_file(dir / "in.bin");
    REQUIRE(hash.has_value());

    std::string assembled;
    for (std::uint64_t offset = 0; offset < bytes.size(); offset += 4096) {
        auto chunk = store.read_chunk(*hash, offset, 4096);
        REQUIRE(chunk.has_value());
        CHECK(chunk->size() == std::min<std::uint64_t>(4096, bytes.size() - offset));
        assembled += *chunk;
    }
    CHECK(assembled == bytes);

    auto at_end = store.read_chunk(*hash, bytes.size(), 4096);
    REQUIRE(at_end.has_value());
    CHECK(at_end->empty());
    auto beyond = store.read_chunk(*hash, bytes.size() + 1, 4096);
    REQUIRE_FALSE(beyond.has_value());
    CHECK(beyond.error().code == Error::Code::io);
    CHECK(beyond.error().message == fmt::format("vị trí 100004 nằm sau cuối {0} (100003 byte) / "
                                                "offset 100004 is beyond the end of {0} (100003 "
                                                "bytes)",
                                                *hash));

    auto huge = store.read_chunk(*hash, 10, 0xffffffffu);
    REQUIRE(huge.has_value());
    CHECK(*huge == bytes.substr(10));
}

TEST_CASE("reading content that is not stored is not_found") {
    TempDir dir;
    ContentStore store(dir / "store");
    auto hash = sha256_hex("never stored");
    CHECK_FALSE(store.contains(hash));
    auto chunk = store.read_chunk(hash, 0, 10);
    REQUIRE_FALSE(chunk.has_value());
    CHECK(chunk.error().code == Error::Code::not_found);
    REQUIRE_FALSE(store.size_of(hash).has_value());
    CHECK(store.size_of(hash).error().code == Error::Code::not_found);
    CHECK(chunk.error().message == fmt::format("không có nội dung {0} trong {1} / no content {0} "
                                               "in {1}",
                                               hash, store.root().string()));
}

TEST_CASE("a partial download assembled out of order completes") {
    TempDir dir;
    ContentStore store(dir / "store");
    auto bytes = sampleBytes(70'000);
    auto hash = sha256_hex(bytes);
    constexpr std::size_t kChunk = 8192;

    std::vector<std::size_t> offsets;
    for (std::size_t offset = 0; offset < bytes.size(); offset += kChunk) {
        offsets.push_back(offset);
    }
    std::reverse(offsets.begin(), offsets.end());
    std::swap(offsets[1], offsets[4]);
    for (auto offset : offsets) {
        REQUIRE(store.write_partial(hash, offset, std::string_view(bytes).substr(offset, kChunk))
                    .has_value());
        CHECK_FALSE(store.contains(hash));
    }
    CHECK(store.partial_size(hash) == bytes.size());

    auto done = store.complete_partial(hash);
    INFO((done ? std::string() : done.error().message));
    REQUIRE(done.has_value());
    CHECK(store.contains(hash));
    CHECK(store.partial_size(hash) == 0);
    CHECK_FALSE(fs::exists(store.root() / (hash + ".part")));
    CHECK(loa::test::read_file(store.path_for(hash)) == bytes);
    CHECK(store.verify(hash).has_value());
}

TEST_CASE("a corrupted partial download is a mismatch and stores nothing") {
    TempDir dir;
    ContentStore store(dir / "store");
    auto bytes = sampleBytes(20'000);
    auto hash = sha256_hex(bytes);
    auto damaged = bytes;
    damaged[12'345] ^= 0x01;

    REQUIRE(store.write_partial(hash, 0, damaged).has_value());
    auto done = store.complete_partial(hash);
    REQUIRE_FALSE(done.has_value());
    CHECK(done.error().code == Error::Code::mismatch);
    CHECK(done.error().message ==
          fmt::format("bản tải về của {0} có mã băm {1}; tệp tải dở đã bị bỏ / download of {0} "
                      "hashes to {1}; the partial file was discarded",
                      hash, sha256_hex(damaged)));
    CHECK_FALSE(store.contains(hash));
    CHECK(store.partial_size(hash) == 0);
    CHECK(filesIn(store.root()) == 0);
}

TEST_CASE("completing a download that never started is not_found") {
    TempDir dir;
    ContentStore store(dir / "store");
    auto done = store.complete_partial(sha256_hex("nothing"));
    REQUIRE_FALSE(done.has_value());
    CHECK(done.error().code == Error::Code::not_found);
}

TEST_CASE("verify deletes content damaged on disk") {
    TempDir dir;
    ContentStore store(dir / "store");
    auto bytes = sampleBytes(30'000);
    loa::test::write_file(dir / "in.bin", bytes);
    auto hash = store.put_file(dir / "in.bin");
    REQUIRE(hash.has_value());
    REQUIRE(store.verify(*hash).has_value());

    auto damaged = bytes;
    damaged[100] ^= 0x40;
    loa::test::write_file(store.path_for(*hash), damaged);
    auto verified = store.verify(*hash);
    REQUIRE_FALSE(verified.has_value());
    CHECK(verified.error().code == Error::Code::mismatch);
    CHECK(verified.error().message ==
          fmt::format("{0}: nay có mã băm {1} (hỏng trên đĩa) nên đã bị xoá / now hashes to {1} "
                      "(damaged on disk); it was deleted",
                      (store.root() / *hash).string(), sha256_hex(damaged)));
    CHECK_FALSE(store.contains(*hash));
    CHECK_FALSE(fs::exists(store.root() / *hash));

    auto again = store.verify(*hash);
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error().code == Error::Code::not_found);
}

TEST_CASE("remove deletes the content and any partial copy") {
    TempDir dir;
    ContentStore store(dir / "store");
    loa::test::write_file(dir / "in.bin", "some bytes");
    auto hash = store.put_file(dir / "in.bin");
    REQUIRE(hash.has_value());
    REQUIRE(store.write_partial(*hash, 0, "some").has_value());
    store.remove(*hash);
    CHECK_FALSE(store.contains(*hash));
    CHECK(store.partial_size(*hash) == 0);
    CHECK(filesIn(store.root()) == 0);
}

TEST_CASE("names that are not content hashes are refused") {
    TempDir dir;
    ContentStore store(dir / "store");
    loa::test::write_file(dir / "secret", "do not touch");
    const std::string hostile = GENERATE(as<std::string>{}, "../etc/passwd", "../secret", "",
                                         "/etc/passwd", std::string(64, 'A'));
    INFO(hostile);

    CHECK_FALSE(store.contains(hostile));
    CHECK(store.path_for(hostile).empty());
    CHECK(store.partial_size(hostile) == 0);

    auto chunk = store.read_chunk(hostile, 0, 100);
    REQUIRE_FALSE(chunk.has_value());
    CHECK(chunk.error().code == Error::Code::not_found);
    CHECK(chunk.error().message ==
          fmt::format("'{0}' không phải mã băm nội dung (64 chữ số thập lục phân viết thường) / "
                      "'{0}' is not a content hash (64 lowercase hex digits)",
                      hostile));

    auto written = store.write_partial(hostile, 0, "x");
    REQUIRE_FALSE(written.has_value());
    CHECK(written.error().message.find("không phải mã băm nội dung") != std::string::npos);
    CHECK(written.error().message.find("not a content hash") != std::string::npos);
    REQUIRE_FALSE(store.complete_partial(hostile).has_value());
    REQUIRE_FALSE(store.verify(hostile).has_value());
    REQUIRE_FALSE(store.size_of(hostile).has_value());
    store.remove(hostile);

    CHECK(loa::test::read_file(dir / "secret") == "do not touch");
    CHECK(filesIn(store.root()) == 0);
}

TEST_CASE("a partial download hashed as it was written completes without a re-read") {
    TempDir dir;
    ContentStore store(dir / "store");
    auto bytes = sampleBytes(30'000);
    auto hash = sha256_hex(bytes);
    REQUIRE(store.write_partial(hash, 0, bytes).has_value());
    auto piece = store.read_partial(hash, 1000, 500);
    REQUIRE(piece.has_value());
    CHECK(*piece == bytes.substr(1000, 500));

    SECTION("the digest of what was written matches: stored") {
        REQUIRE(store.complete_partial(hash, sha256(bytes)).has_value());
        CHECK(store.contains(hash));
        CHECK(loa::test::read_file(store.path_for(hash)) == bytes);
    }
    SECTION("it does not: a mismatch, and the partial file is gone") {
        auto done = store.complete_partial(hash, sha256("something else"));
        REQUIRE_FALSE(done.has_value());
        CHECK(done.error().code == Error::Code::mismatch);
        CHECK_FALSE(store.contains(hash));
        CHECK(filesIn(store.root()) == 0);
    }
}
