// Tests of the envelope codec: round trips, and every kind of bad frame refused with a reason.
#include <catch2/catch.hpp>

#include "loa/protocol/envelope.hpp"

using namespace loa::protocol;
using loa::wire::Envelope;

TEST_CASE("every message type survives a round trip") {
    Envelope e;
    e.set_message_id(42);
    auto* report = e.mutable_playback_report();
    auto* c = report->add_confirmations();
    c->set_seq(7);
    c->set_slot_id("lao-dong-gioi/1@1000");
    c->set_outcome(loa::wire::PLAYED);
    c->set_actual_start_us(1000);
    c->set_actual_end_us(5000);

    auto decoded = decode(encode(e));
    REQUIRE(decoded.has_value());
    CHECK(decoded->version() == kProtocolVersion);
    CHECK(decoded->message_id() == 42);
    CHECK(message_type(*decoded) == "playback-report");
    REQUIRE(decoded->playback_report().confirmations_size() == 1);
    CHECK(decoded->playback_report().confirmations(0).slot_id() == "lao-dong-gioi/1@1000");
    CHECK(decoded->playback_report().confirmations(0).actual_end_us() == 5000);
}

TEST_CASE("Vietnamese text survives a round trip") {
    Envelope e;
    auto* slot = e.mutable_schedule_update()->add_slots();
    slot->set_title("Bản tin phòng chống thiên tai — Tả Van");
    auto decoded = decode(encode(e));
    REQUIRE(decoded.has_value());
    CHECK(decoded->schedule_update().slots(0).title() == "Bản tin phòng chống thiên tai — Tả Van");
}

TEST_CASE("bad frames are refused with a reason, never a crash") {
    SECTION("empty") {
        auto r = decode("");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == DecodeErrc::empty);
    }
    SECTION("garbage") {
        auto r = decode(std::string("\xff\xff\xff\xff\x0f garbage", 14));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == DecodeErrc::malformed);
        CHECK(r.error().message.find("14 bytes") != std::string::npos);
    }
    SECTION("truncated") {
        Envelope e;
        e.mutable_hello()->set_node_id("ta-van-01");
        std::string bytes = encode(e);
        auto r = decode(std::string_view(bytes).substr(0, bytes.size() - 3));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == DecodeErrc::malformed);
    }
    SECTION("no body") {
        Envelope e;
        e.set_message_id(9);
        auto r = decode(encode(e));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == DecodeErrc::no_body);
    }
    SECTION("unsupported version") {
        Envelope e;
        e.mutable_hello()->set_node_id("x");
        e.set_version(kProtocolVersion + 1);
        std::string bytes = e.SerializeAsString();  // bypass encode(), which stamps the version
        auto r = decode(bytes);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == DecodeErrc::unsupported_version);
        CHECK(to_wire_code(r.error().code) == loa::wire::UNSUPPORTED_VERSION);
    }
    SECTION("too large") {
        std::string big(kMaxFrameBytes + 1, '\0');
        auto r = decode(big);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == DecodeErrc::too_large);
    }
}
