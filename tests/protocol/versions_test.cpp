// Tests of version negotiation and of downgrade(), checked against the frozen version 1 schema.
#include <catch2/catch.hpp>

#include "loa/protocol/envelope.hpp"
#include "loa/protocol/versions.hpp"
#include "v1/loa_v1.pb.h"

using namespace loa::protocol;
namespace wire = loa::wire;
namespace v1 = loa::wire::v1;

namespace {

wire::Envelope error_of(wire::ErrorCode code) {
    wire::Envelope e;
    e.mutable_error()->set_code(code);
    e.mutable_error()->set_message("why");
    return e;
}

}  // namespace

TEST_CASE("the accepted version is the older of the two") {
    CHECK(accepted_version(1) == 1);
    CHECK(accepted_version(kProtocolVersion) == kProtocolVersion);
    CHECK(accepted_version(kProtocolVersion + 1) == kProtocolVersion);
}

TEST_CASE("downgrade to version 1 maps the codes version 1 lacks to the nearest it has") {
    const std::pair<wire::ErrorCode, wire::ErrorCode> cases[] = {
        {wire::REVOKED, wire::UNKNOWN_NODE},
        {wire::ENROLLMENT_REFUSED, wire::UNKNOWN_NODE},
        {wire::TOO_LARGE, wire::MALFORMED},
        {wire::NOT_ALLOWED, wire::MALFORMED},
        {wire::BUSY, wire::INTERNAL},
        {wire::MALFORMED, wire::MALFORMED},
        {wire::UNSUPPORTED_VERSION, wire::UNSUPPORTED_VERSION},
        {wire::NEED_HELLO, wire::NEED_HELLO},
        {wire::UNKNOWN_NODE, wire::UNKNOWN_NODE},
        {wire::NOT_FOUND, wire::NOT_FOUND},
        {wire::INTERNAL, wire::INTERNAL},
    };
    for (auto [code, expected] : cases) {
        INFO(wire::ErrorCode_Name(code));
        auto down = downgrade(error_of(code), 1);
        REQUIRE(down.has_value());
        CHECK(down->error().code() == expected);
        CHECK(down->error().message() == "why");
        // Every code a version 1 node receives is one its schema names.
        v1::Envelope old;
        REQUIRE(old.ParseFromString(encode(*down, 1)));
        CHECK(v1::ErrorCode_IsValid(static_cast<int>(old.error().code())));
        CHECK(static_cast<int>(old.error().code()) == static_cast<int>(expected));

        auto same = downgrade(error_of(code), 2);
        REQUIRE(same.has_value());
        CHECK(same->error().code() == code);
    }
}

TEST_CASE("downgrade to version 1 leaves out what version 1 does not have") {
    wire::Envelope welcome;
    welcome.set_message_id(3);
    welcome.set_in_reply_to(2);
    welcome.mutable_welcome()->set_accepted_version(1);
    welcome.mutable_welcome()->set_controller_time_us(1'000'000);
    welcome.mutable_welcome()->set_heartbeat_interval_ms(30'000);
    welcome.mutable_welcome()->set_node_id("ta-van-01");
    welcome.mutable_welcome()->set_highest_seq(4711);

    auto down = downgrade(welcome, 1);
    REQUIRE(down.has_value());
    CHECK(down->welcome().node_id().empty());
    CHECK(down->welcome().highest_seq() == 0);
    // Byte for byte what a version 1 controller would have sent.
    v1::Envelope expected;
    expected.set_version(1);
    expected.set_message_id(3);
    expected.set_in_reply_to(2);
    expected.mutable_welcome()->set_accepted_version(1);
    expected.mutable_welcome()->set_controller_time_us(1'000'000);
    expected.mutable_welcome()->set_heartbeat_interval_ms(30'000);
    CHECK(encode(*down, 1) == expected.SerializeAsString());

    auto kept = downgrade(welcome, 2);
    REQUIRE(kept.has_value());
    CHECK(kept->welcome().node_id() == "ta-van-01");
    CHECK(kept->welcome().highest_seq() == 4711);

    SECTION("message types of version 2 have no version 1 form") {
        wire::Envelope enrolled;
        enrolled.mutable_enrolled()->set_node_id("ta-van-01");
        CHECK_FALSE(downgrade(enrolled, 1).has_value());
        wire::Envelope enroll;
        enroll.mutable_enroll()->set_token("t");
        CHECK_FALSE(downgrade(enroll, 1).has_value());
        CHECK(downgrade(enrolled, 2).has_value());
    }
    SECTION("other messages pass unchanged") {
        wire::Envelope chunk;
        chunk.mutable_chunk()->set_media_hash(std::string(64, 'a'));
        chunk.mutable_chunk()->set_data("bytes");
        auto same = downgrade(chunk, 1);
        REQUIRE(same.has_value());
        CHECK(same->SerializeAsString() == chunk.SerializeAsString());
    }
}

TEST_CASE("encode stamps the version it is given, the default is the current one") {
    wire::Envelope e;
    e.mutable_heartbeat()->set_node_time_us(5);
    CHECK(decode(encode(e))->version() == kProtocolVersion);
    CHECK(decode(encode(e, 1))->version() == 1);
    wire::Envelope two_step = e;
    std::string buffer(prepare_encoding(two_step, 1), '\0');
    encode_into(two_step, buffer.data());
    CHECK(decode(buffer)->version() == 1);
}

TEST_CASE("a version 1 node's messages decode, and versions outside 1..2 are refused") {
    v1::Envelope old;
    old.set_version(1);
    old.set_message_id(9);
    old.mutable_hello()->set_node_id("ta-van-01");
    old.mutable_hello()->set_agent_version("0.4.0");
    auto decoded = decode(old.SerializeAsString());
    REQUIRE(decoded.has_value());
    CHECK(decoded->version() == 1);
    CHECK(decoded->hello().node_id() == "ta-van-01");

    for (std::uint32_t version : {0u, kProtocolVersion + 1}) {
        INFO(version);
        old.set_version(version);
        auto refused = decode(old.SerializeAsString());
        REQUIRE_FALSE(refused.has_value());
        CHECK(refused.error().code == DecodeErrc::unsupported_version);
        CHECK(refused.error().version == version);
        CHECK(refused.error().message_id == 9);
    }
}
