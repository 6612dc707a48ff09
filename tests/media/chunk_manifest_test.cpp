// Tests of chunk manifests: cutting a file, reading one off the wire, and resuming from one.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "loa/media/chunk_manifest.hpp"
#include "loa/media/content_hash.hpp"
#include "loa/media/content_store.hpp"
#include "test_support.hpp"

using namespace loa::media;
using loa::test::TempDir;
using loa::test::write_file;

namespace {

std::string patterned(std::size_t size) {
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        bytes[i] = static_cast<char>((i * 7 + i / 97) & 0xff);
    }
    return bytes;
}

}  // namespace

TEST_CASE("a file is cut into chunks, the last one short, each with its digest") {
    TempDir dir;
    const std::string bytes = patterned(2 * 1000 + 500);
    write_file(dir / "f", bytes);
    auto m = ChunkManifest::of_file(dir / "f", 1000);
    REQUIRE(m.has_value());
    CHECK(m->media_hash == sha256_hex(bytes));
    CHECK(m->total_size == bytes.size());
    REQUIRE(m->chunk_count() == 3);
    CHECK(m->offset_of(2) == 2000);
    CHECK(m->length_of(0) == 1000);
    CHECK(m->length_of(2) == 500);
    CHECK(m->length_of(3) == 0);
    CHECK(m->matches(2, std::string_view(bytes).substr(2000)));
    CHECK_FALSE(m->matches(1, std::string_view(bytes).substr(1000, 999)));
    CHECK_FALSE(m->matches(3, ""));

    auto back = ChunkManifest::from_packed(m->media_hash, m->total_size, m->chunk_size,
                                           m->packed_digests());
    REQUIRE(back.has_value());
    CHECK(back->digests == m->digests);
}

TEST_CASE("an empty file and a whole number of chunks cut cleanly") {
    TempDir dir;
    write_file(dir / "empty", "");
    auto empty = ChunkManifest::of_file(dir / "empty", 1000);
    REQUIRE(empty.has_value());
    CHECK(empty->chunk_count() == 0);
    CHECK(empty->media_hash == sha256_hex(""));

    write_file(dir / "even", patterned(3000));
    auto even = ChunkManifest::of_file(dir / "even", 1000);
    REQUIRE(even.has_value());
    CHECK(even->chunk_count() == 3);
    CHECK(even->length_of(2) == 1000);
}

TEST_CASE("a manifest from the wire that does not add up is refused") {
    const std::string hash = sha256_hex("x");
    const std::string one(32, 'd');
    CHECK_FALSE(ChunkManifest::from_packed(hash, 10, 0, one).has_value());
    CHECK_FALSE(ChunkManifest::from_packed(hash, 10, 1000, one + "d").has_value());
    auto short_by_one = ChunkManifest::from_packed(hash, 2000, 1000, one);
    REQUIRE_FALSE(short_by_one.has_value());
    CHECK(short_by_one.error().message ==
          "bảng khối của " + hash +
              ": 1 mã băm cho 2000 byte chia thành khối 1000 byte (phải là "
              "2) / manifest of " +
              hash +
              ": 1 digests for 2000 bytes in 1000-byte chunks (expected "
              "2)");
    CHECK_FALSE(ChunkManifest::from_packed(hash, 10, 1000, "").has_value());
    // (2^64 - 1 + 999) / 1000 wraps to 0 chunks; the size really needs about 1.8e16.
    CHECK_FALSE(ChunkManifest::from_packed(hash, ~std::uint64_t{0}, 1000, "").has_value());
    CHECK(ChunkManifest::from_packed(hash, 0, 1000, "").has_value());
}

TEST_CASE("partial_chunks keeps the intact chunks of a partial download, whatever the chunk size") {
    TempDir dir;
    ContentStore store(dir / "store");
    const std::string bytes = patterned(100);
    const std::string hash = sha256_hex(bytes);
    // One short chunk of a 2 GiB chunk size: nothing that large is read or allocated.
    ChunkManifest m{hash, bytes.size(), 0x8000'0000u, {sha256(bytes)}};
    CHECK(store.partial_chunks(m) == std::vector<bool>{false});
    REQUIRE(store.write_partial(hash, 0, bytes).has_value());
    CHECK(store.partial_chunks(m) == std::vector<bool>{true});
}
