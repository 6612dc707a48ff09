// Tests of the SHA-256 helpers against the FIPS 180-2 vectors and sha256sum.
#include <catch2/catch.hpp>

#include <string>

#include "loa/media/content_hash.hpp"
#include "test_support.hpp"

using namespace loa::media;
using loa::test::TempDir;

TEST_CASE("sha256_hex matches the standard test vectors") {
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("sha256_file agrees with sha256_hex across several read blocks") {
    TempDir dir;
    std::string bytes;
    for (int i = 0; i < 200'000; ++i) {
        bytes.push_back(static_cast<char>((i * 31 + i / 7) & 0xff));
    }
    auto file = dir / "blob.bin";
    loa::test::write_file(file, bytes);

    auto hash = sha256_file(file);
    REQUIRE(hash.has_value());
    CHECK(*hash == sha256_hex(bytes));
    auto expected = loa::test::capture_shell("sha256sum '" + file.string() + "' | cut -c1-64");
    CHECK(*hash + "\n" == expected);
}

TEST_CASE("sha256_file of a missing file or a folder is an io error naming it and saying why") {
    TempDir dir;
    auto hash = sha256_file(dir / "absent.bin");
    REQUIRE_FALSE(hash.has_value());
    CHECK(hash.error().code == Error::Code::io);
    CHECK(hash.error().message ==
          (dir / "absent.bin").string() + ": không có tệp này / no such file");
    // A folder opens like a file; only reading it fails.
    auto folder = sha256_file(dir.path());
    REQUIRE_FALSE(folder.has_value());
    CHECK(folder.error().code == Error::Code::io);
    CHECK(folder.error().message ==
          dir.path().string() + ": là một thư mục, không phải tệp / is a folder, not a file");
}

TEST_CASE("is_content_hash accepts only 64 lowercase hex digits") {
    CHECK(is_content_hash(sha256_hex("abc")));
    CHECK(is_content_hash(std::string(64, '0')));
    CHECK_FALSE(is_content_hash(""));
    CHECK_FALSE(is_content_hash(std::string(63, 'a')));
    CHECK_FALSE(is_content_hash(std::string(65, 'a')));
    CHECK_FALSE(
        is_content_hash("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
    CHECK_FALSE(is_content_hash(std::string(61, 'a') + "../"));
    CHECK_FALSE(is_content_hash("../etc/passwd"));
    CHECK_FALSE(is_content_hash(std::string(60, 'a') + ".part"));
}
