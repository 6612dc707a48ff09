// Scenario 04: a raw DEALER sends malformed frames; each gets an Error, real nodes are unaffected.
#include <zmq.hpp>

#include "loa/protocol/envelope.hpp"
#include "scenario.hpp"

using namespace loa::e2e;
namespace wire = loa::wire;

namespace {

/// A DEALER of the test's own, speaking to the controller frame by frame: an enrolled device
/// gone wrong (an unenrolled one gets no further than the handshake).
class RawPeer {
  public:
    RawPeer(const Scenario& s, const std::string& id)
        : context_(1), dealer_(context_, zmq::socket_type::dealer) {
        dealer_.set(zmq::sockopt::linger, 0);
        s.secure_as(dealer_, id);
        dealer_.connect(s.endpoint());
    }

    void send(const std::vector<std::string>& frames) {
        for (std::size_t i = 0; i < frames.size(); ++i) {
            auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
            REQUIRE(dealer_.send(zmq::buffer(frames[i]), flags).has_value());
        }
    }

    /// The frames of the next message, or nothing within `timeout`.
    std::optional<std::vector<std::string>> receive(std::chrono::milliseconds timeout) {
        zmq::pollitem_t items[] = {{dealer_.handle(), 0, ZMQ_POLLIN, 0}};
        zmq::poll(items, 1, timeout);
        if (!(items[0].revents & ZMQ_POLLIN)) {
            return std::nullopt;
        }
        std::vector<std::string> frames;
        zmq::message_t part;
        do {
            REQUIRE(dealer_.recv(part).has_value());
            frames.push_back(part.to_string());
        } while (part.more());
        return frames;
    }

  private:
    zmq::context_t context_;
    zmq::socket_t dealer_;
};

/// Sends `frames` and requires the one reply to be an Error with `code`; returns it.
wire::Envelope expect_error(Scenario& s, RawPeer& peer, const std::vector<std::string>& frames,
                            wire::ErrorCode code) {
    peer.send(frames);
    auto reply = peer.receive(5s);
    E2E_REQUIRE(s, reply.has_value());
    REQUIRE(reply->size() == 1);
    auto decoded = loa::protocol::decode(reply->front());
    REQUIRE(decoded.has_value());
    INFO("error message: " << decoded->error().message());
    REQUIRE(decoded->body_case() == wire::Envelope::kError);
    CHECK(decoded->error().code() == code);
    CHECK_FALSE(decoded->error().message().empty());
    return *decoded;
}

std::string hello(const std::string& node_id, std::uint64_t message_id) {
    wire::Envelope e;
    e.set_message_id(message_id);
    e.mutable_hello()->set_node_id(node_id);
    e.mutable_hello()->set_agent_version("0.1.0");
    return loa::protocol::encode(e);
}

}  // namespace

TEST_CASE("scenario 04: malformed frames get an Error and the controller keeps serving", "[e2e]") {
    Scenario s;
    const std::string node = "ta-van-01";
    s.add_node(node);
    s.add_node("thiet-bi-hong", "vn/lao-cai/bat-xat");  // the raw peer's, outside the campaign
    const Bulletin bulletin = s.tone(2.0, 880.0);
    s.start_controller();
    s.start_node(node);
    bool hello_seen = loa::test::wait_until([&] { return s.seen({node}); }, 10s);
    E2E_REQUIRE(s, hello_seen);
    s.add_campaign("khung-hong", {bulletin}, 7);
    E2E_REQUIRE(s, s.planned(node, "khung-hong") == 1);

    RawPeer peer(s, "thiet-bi-hong");
    {
        INFO("a truncated varint: not a protobuf message");
        auto e = expect_error(s, peer, {std::string("\x08\xff\xff", 3)}, wire::MALFORMED);
        CHECK(e.in_reply_to() == 0);
    }
    {
        INFO("text is not an Envelope");
        expect_error(s, peer, {"this is not a loa envelope \x01\x02"}, wire::MALFORMED);
    }
    {
        INFO("an empty frame");
        expect_error(s, peer, {std::string()}, wire::MALFORMED);
    }
    {
        INFO("a frame over the size limit");
        expect_error(s, peer, {std::string(loa::protocol::kMaxFrameBytes + 1, 'x')},
                     wire::MALFORMED);
    }
    {
        INFO("a protocol version the controller does not serve");
        wire::Envelope e;
        e.set_version(99);
        e.set_message_id(7);
        e.mutable_heartbeat()->set_node_time_us(1);
        expect_error(s, peer, {e.SerializeAsString()}, wire::UNSUPPORTED_VERSION);
    }
    {
        INFO("a well-formed envelope with no body");
        wire::Envelope e;
        e.set_version(loa::protocol::kProtocolVersion);
        e.set_message_id(8);
        expect_error(s, peer, {e.SerializeAsString()}, wire::MALFORMED);
    }
    {
        // A real node's hello followed by trailing frames: refused whole, so it neither opens a
        // session for this socket nor takes over the real node's.
        INFO("a multi-frame message");
        auto e =
            expect_error(s, peer, {hello(node, 9), "trailing", std::string()}, wire::MALFORMED);
        CHECK_THAT(e.error().message(), Catch::Matchers::Contains("one frame"));
        auto extra = peer.receive(1500ms);
        E2E_CHECK(s, !extra.has_value());  // no Welcome, no timeline leaked
    }
    {
        INFO("a valid message before hello");
        wire::Envelope hb;
        hb.set_message_id(10);
        hb.mutable_heartbeat()->set_node_time_us(1);
        auto e = expect_error(s, peer, {loa::protocol::encode(hb)}, wire::NEED_HELLO);
        CHECK(e.in_reply_to() == 10);
    }
    {
        INFO("hello naming another node than the key's: the real node's session is not taken");
        auto e = expect_error(s, peer, {hello(node, 11)}, wire::NOT_ALLOWED);
        CHECK(e.in_reply_to() == 11);
    }
    E2E_REQUIRE(s, s.controller_running());

    // The real node never noticed: it plays its bulletin and the controller takes the report.
    check_single_play(s, node, bulletin, "khung-hong");
    E2E_CHECK(s, s.controller_running());
}
